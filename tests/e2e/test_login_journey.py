from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import screenshot


def test_member_signs_in_on_a_phone_and_sees_home_in_vietnamese(live_server, phone, people):
    phone.goto(f"{live_server}/")
    phone.get_by_role("link", name="Đăng nhập").first.click()
    phone.get_by_label("Tên đăng nhập").fill("member")
    phone.get_by_label("Mật khẩu").fill(PASSWORD)
    phone.get_by_role("button", name="Đăng nhập").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Xin chào, Member")
    assert phone.locator("html").get_attribute("lang") == "vi"
    assert "Unit Q1" in phone.locator("main").inner_text()
    # Nothing is wider than the phone: no sideways scrolling on a 360-px screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(phone, "member-home-phone")


def test_wrong_password_shows_the_message_in_the_browser(live_server, phone, people):
    phone.goto(f"{live_server}/login")
    phone.get_by_label("Tên đăng nhập").fill("member")
    phone.get_by_label("Mật khẩu").fill("not the password")
    phone.get_by_role("button", name="Đăng nhập").click()
    expect(phone.locator("#password-error")).to_have_text("Tên đăng nhập hoặc mật khẩu không đúng.")
    assert phone.url.endswith("/login")
