"""The whole loop on phones: a ward leader launches a paperless campaign from its template, a member
logs work with a photo, the leader approves it, the member sees the points."""

import io
from datetime import datetime, timedelta

from PIL import Image
from playwright.sync_api import expect

from core.clock import LOCAL
from tests.conftest import PASSWORD
from tests.e2e.conftest import PHONE, open_context, screenshot, settled, wired


def _phone_page(browser, live_server, username):
    page = open_context(browser, viewport=PHONE, locale="vi-VN", is_mobile=True, has_touch=True).new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào")
    return page


def _photo(tmp_path):
    path = tmp_path / "ho-so.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 900), (30, 120, 200)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def test_leader_launches_member_logs_leader_approves_member_sees_points(browser, live_server, people, tmp_path):
    leader = _phone_page(browser, live_server, "leader1")
    leader.goto(f"{live_server}/campaigns/new")
    wired(leader, "select[name=template]")
    leader.get_by_label("Mẫu").select_option("paperless_week")
    expect(leader.get_by_label("Tên chiến dịch")).to_have_value("Tuần làm việc không giấy")
    leader.get_by_label("Tên chiến dịch").fill("Tuần không giấy phường W1")
    started = datetime.now(LOCAL).replace(hour=0, minute=0, second=0, microsecond=0)
    leader.get_by_label("Bắt đầu").fill(started.strftime("%Y-%m-%dT%H:%M"))
    leader.get_by_label("Kết thúc").fill((started + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"))
    leader.get_by_role("button", name="Tạo bản nháp").click()
    expect(leader.get_by_text("Ngày không giấy (điểm danh)")).to_be_visible()
    leader.get_by_role("button", name="Công bố").click()
    expect(leader.locator(".badge").first).to_have_text("Đang diễn ra")
    screenshot(leader, "leader-campaign-phone")

    member = _phone_page(browser, live_server, "member")
    # Each link is a boosted navigation: wait until htmx has swapped the next page in before acting
    # on it. The home page names the campaign too, so a click too early would land on the old page.
    member.get_by_role("link", name="Chiến dịch", exact=True).click()
    expect(member.get_by_role("heading", level=1)).to_have_text("Chiến dịch")
    member.get_by_text("Tuần không giấy phường W1").click()
    expect(member.get_by_role("heading", level=1)).to_have_text("Tuần không giấy phường W1")
    member.get_by_role("link", name="Ghi nhận hoạt động").click()
    expect(member.get_by_role("heading", level=1)).to_have_text("Ghi nhận hoạt động")
    # and until htmx has wired up the activity picker, as a person's reading time would.
    settled(member)
    member.get_by_label("Hoạt động").select_option(label="Hồ sơ xử lý trực tuyến")
    expect(member.get_by_text("2 điểm / hồ sơ")).to_be_visible()
    member.get_by_label("Số lượng").fill("3")
    member.get_by_label("Ảnh minh chứng").set_input_files(str(_photo(tmp_path)))
    screenshot(member, "member-log-phone")
    member.get_by_role("button", name="Gửi").click()
    expect(member.get_by_text("Đã ghi nhận, đang chờ duyệt.")).to_be_visible()
    expect(member.get_by_text("Chờ duyệt", exact=True)).to_be_visible()

    leader.get_by_role("link", name="Duyệt").first.click()
    expect(leader.get_by_text("Hồ sơ xử lý trực tuyến × 3")).to_be_visible()
    expect(leader.locator("img.evidence")).to_be_visible()
    leader.get_by_role("button", name="Duyệt", exact=True).click()
    expect(leader.get_by_text("Đã duyệt.")).to_be_visible()

    member.reload()
    expect(member.locator(".my-points strong")).to_have_text("6")
    expect(member.get_by_text("+6")).to_be_visible()
    assert member.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(member, "member-points-phone")
