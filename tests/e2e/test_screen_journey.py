"""The TV in the hall: live standings at 1920×1080 that move within seconds of an approval."""

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from models import Contribution, EventSession, db
from quizzes.events import event_for_code
from quizzes.services import QuizFields, create_quiz, seed_question_bank
from screens.services import create_screen
from tests.campaigns.test_logging import log
from tests.conftest import PASSWORD, activity, login
from tests.e2e.conftest import PHONE, open_context, screenshot
from tests.e2e.test_accessibility import blocking_violations


def _leader(browser, live_server, **options):
    """leader1, signed in, in a browser of their own."""
    leader = open_context(browser, **options).new_page()
    leader.goto(f"{live_server}/login")
    leader.get_by_label("Tên đăng nhập").fill("leader1")
    leader.get_by_label("Mật khẩu").fill(PASSWORD)
    leader.get_by_role("button", name="Đăng nhập").click()
    leader.wait_for_url(f"{live_server}/")
    return leader


def test_screen_updates_within_seconds_of_an_approval(app, browser, live_server, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    member = app.test_client()
    login(member, "member")
    log(member, campaign, activity(campaign, "Hồ sơ"), quantity="3")
    screen = create_screen(people["leader1"], campaign, None, rotate_seconds=60)
    db.session.commit()

    tv = open_context(browser, viewport={"width": 1920, "height": 1080}, locale="vi-VN").new_page()
    tv.goto(f"{live_server}/screen/{screen.token}")
    first = tv.locator(".screen-rows li").first
    expect(first).to_contain_text("Unit W1")
    expect(first.locator(".value")).to_have_text("0")

    leader = _leader(browser, live_server, locale="vi-VN")
    leader.goto(f"{live_server}/review")
    leader.get_by_role("button", name="Duyệt", exact=True).click()
    expect(leader.get_by_text("Đã duyệt.")).to_be_visible()
    db.session.commit()
    assert db.session.scalar(select(Contribution.status)) == "approved"

    expect(first.locator(".value")).to_have_text("6")  # no reload: polling brought it
    screenshot(tv, "event-screen-tv")
    tv.context.close()
    leader.context.close()


def test_event_session_puts_a_rotating_code_on_the_tv(app, browser, live_server, people, tree, make_campaign):
    seed_question_bank()
    campaign = make_campaign()
    moment = datetime.now(UTC)  # the live server runs on the real clock
    quiz = create_quiz(
        people["leader1"],
        QuizFields(
            "An toàn mạng", tree["W1"], campaign, 5, 180, 2, moment - timedelta(hours=1), moment + timedelta(days=1)
        ),
    )
    screen = create_screen(people["leader1"], campaign, quiz, rotate_seconds=60)
    db.session.commit()

    tv = open_context(browser, viewport={"width": 1920, "height": 1080}, locale="vi-VN").new_page()
    tv.goto(f"{live_server}/screen/{screen.token}")
    expect(tv.locator(".screen-qr svg")).to_be_visible()
    expect(tv.locator(".screen-code")).to_have_count(0)

    leader = _leader(browser, live_server, locale="vi-VN")
    leader.goto(f"{live_server}/campaigns/{campaign.slug}/screens")
    leader.get_by_label("Thời lượng (phút)").fill("30")
    leader.get_by_role("button", name="Bắt đầu phiên sự kiện").click()
    expect(leader.get_by_text("Phiên sự kiện đang mở")).to_be_visible()
    db.session.commit()
    event = db.session.scalar(select(EventSession))

    code = tv.locator(".screen-code")
    expect(code).to_be_visible()  # no reload: the version poll said the corner changed
    shown = code.get_attribute("data-code")
    # The code may have rotated between the poll and now; either minute's code is still accepted.
    assert event_for_code(quiz, shown, datetime.now(UTC)) == event
    screenshot(tv, "event-session-tv")

    leader.get_by_role("button", name="Kết thúc phiên sự kiện").click()
    expect(leader.get_by_text("Đã đóng phiên sự kiện")).to_be_visible()
    expect(tv.locator(".screen-code")).to_have_count(0)
    expect(tv.locator(".screen-qr svg")).to_be_visible()
    tv.context.close()
    leader.context.close()


def test_a_leader_opens_the_screen_on_a_tv_by_a_short_code(app, browser, live_server, people, make_campaign):
    campaign = make_campaign()
    create_screen(people["leader1"], campaign, None)
    db.session.commit()

    leader = _leader(browser, live_server, viewport=PHONE, locale="vi-VN", is_mobile=True)
    leader.goto(f"{live_server}/campaigns/{campaign.slug}/screens")
    leader.get_by_role("button", name="Lấy mã để mở trên TV").click()
    code = leader.locator("[data-tv-code]").get_attribute("data-tv-code")
    assert blocking_violations(leader, "screens, code shown") == []

    tv = open_context(browser, viewport={"width": 1280, "height": 720}, locale="vi-VN").new_page()
    tv.goto(f"{live_server}/tv")
    tv.get_by_label("Mã màn hình").fill("WRONG1")
    tv.get_by_role("button", name="Mở màn hình").click()
    expect(tv.locator("[data-error-summary]")).to_be_focused()
    assert blocking_violations(tv, "tv, wrong code") == []
    tv.get_by_label("Mã màn hình").fill(f"{code[:3].lower()} {code[3:]}")
    tv.get_by_role("button", name="Mở màn hình").click()
    expect(tv.locator(".screen-rows li").first).to_contain_text("Unit W1")
    assert "/screen/" in tv.url
    tv.context.close()
    leader.context.close()
