"""The TV in the hall: live standings at 1920×1080 that move within seconds of an approval."""

from playwright.sync_api import expect
from sqlalchemy import select

from models import Contribution, db
from screens.services import create_screen
from tests.campaigns.test_logging import log
from tests.conftest import PASSWORD, activity, login
from tests.e2e.conftest import screenshot


def test_screen_updates_within_seconds_of_an_approval(app, browser, live_server, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    member = app.test_client()
    login(member, "member")
    log(member, campaign, activity(campaign, "Hồ sơ"), quantity="3")
    screen = create_screen(people["leader1"], campaign, None, rotate_seconds=60)
    db.session.commit()

    tv = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="vi-VN").new_page()
    tv.goto(f"{live_server}/screen/{screen.token}")
    first = tv.locator(".screen-rows li").first
    expect(first).to_contain_text("Unit W1")
    expect(first.locator(".value")).to_have_text("0")

    leader = browser.new_context(locale="vi-VN").new_page()
    leader.goto(f"{live_server}/login")
    leader.get_by_label("Tên đăng nhập").fill("leader1")
    leader.get_by_label("Mật khẩu").fill(PASSWORD)
    leader.get_by_role("button", name="Đăng nhập").click()
    leader.wait_for_url(f"{live_server}/")
    leader.goto(f"{live_server}/review")
    leader.get_by_role("button", name="Duyệt", exact=True).click()
    expect(leader.get_by_text("Đã duyệt.")).to_be_visible()
    db.session.commit()
    assert db.session.scalar(select(Contribution.status)) == "approved"

    expect(first.locator(".value")).to_have_text("6", timeout=5_000)  # no reload: polling brought it
    screenshot(tv, "event-screen-tv")
    tv.context.close()
    leader.context.close()
