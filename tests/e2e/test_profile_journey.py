from datetime import date

from playwright.sync_api import expect

from models import db
from scoring import Award, award_many
from tests.conftest import PASSWORD
from tests.e2e.conftest import screenshot


def test_member_answers_the_name_question_once_and_finds_it_on_her_page(live_server, phone, people, make_campaign):
    campaign = make_campaign()
    member = people["member"]
    member.display_name = "Trần Thị Hoa"
    award_many(
        [Award(campaign.id, "correction", 0, 7, date(2026, 11, 5), member.home_unit.ancestor_ids, member_id=member.id)]
    )
    db.session.commit()
    phone.goto(f"{live_server}/login")
    phone.get_by_label("Tên đăng nhập").fill("member")
    phone.get_by_label("Mật khẩu").fill(PASSWORD)
    phone.get_by_role("button", name="Đăng nhập").click()
    # Act on the home page only once it has been swapped in: a click during the swap of a boosted
    # navigation can land on a page that is then replaced, with its flash message.
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Xin chào")
    phone.get_by_label("Hiện họ tên: Trần Thị Hoa · Unit Q1").check()
    phone.get_by_role("button", name="Lưu lựa chọn").click()
    expect(phone.get_by_text("Bảng xếp hạng công khai sẽ hiện họ tên của bạn.")).to_be_visible()
    expect(phone.get_by_text("Hiện tên bạn trên bảng xếp hạng?")).to_have_count(0)  # asked once

    phone.get_by_role("link", name="Thành tích", exact=True).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Thành tích của tôi")
    standings = phone.locator(".standings li")
    expect(standings).to_have_count(1)
    expect(standings.first).to_contain_text(campaign.title)
    expect(standings.first).to_contain_text("7 điểm · hạng 1 / 1")
    expect(phone.get_by_label("Hiện họ tên: Trần Thị Hoa · Unit Q1")).to_be_checked()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(phone, "member-profile-phone")

    phone.get_by_label("Chỉ hiện chữ cái đầu: TTH · Unit Q1").check()
    phone.get_by_role("button", name="Lưu lựa chọn").click()
    expect(phone.get_by_text("Bảng xếp hạng công khai sẽ chỉ hiện chữ cái đầu của tên bạn.")).to_be_visible()
    board = phone.request.get(f"{live_server}/api/v1/campaigns/{campaign.slug}/leaderboard?level=member").json()
    assert board[0]["name"] == "TTH · Unit Q1"
