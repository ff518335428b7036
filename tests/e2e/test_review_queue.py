"""The review queue on a leader's phone: "select all on this page" ticks what it will approve."""

from playwright.sync_api import expect
from sqlalchemy import func, select

from models import Contribution, db
from tests.campaigns.test_logging import log
from tests.conftest import activity, login
from tests.e2e.conftest import PHONE
from tests.e2e.test_screen_journey import _leader


def test_select_all_ticks_every_item_and_approves_what_is_ticked(app, browser, live_server, make_campaign):
    campaign = make_campaign(template="paperless_week")
    member = app.test_client()
    login(member, "member")
    for quantity in ("1", "2", "3"):
        assert log(member, campaign, activity(campaign, "Hồ sơ"), quantity=quantity).status_code == 302

    leader = _leader(browser, live_server, viewport=PHONE, locale="vi-VN")
    leader.goto(f"{live_server}/review")
    items = leader.locator("input[name=ids]")
    select_all = leader.get_by_label("Chọn tất cả 3 mục trên trang này")
    expect(items).to_have_count(3)

    select_all.check()
    for index in range(3):
        expect(items.nth(index)).to_be_checked()
    items.nth(1).uncheck()  # one left out: "all" no longer says true
    expect(select_all).not_to_be_checked()
    leader.get_by_role("button", name="Duyệt các mục đã chọn").click()

    expect(leader.get_by_text("Đã duyệt 2 đóng góp.")).to_be_visible()
    db.session.commit()
    statuses = db.session.execute(select(Contribution.status, func.count()).group_by(Contribution.status)).all()
    assert dict(statuses) == {"approved": 2, "pending": 1}
    leader.context.close()
