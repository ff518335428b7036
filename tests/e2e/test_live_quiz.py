"""A hall plays a five-question live quiz: the host paces it from a phone, the TV follows, twenty phones
answer; two reload mid-question and still answer, one answers twice and is refused; the podium and the
campaign board agree with the answers given."""

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from models import Question, db
from models.live import LiveSession
from quizzes.services import seed_question_bank
from screens.services import create_screen
from tests.conftest import PASSWORD
from tests.e2e.conftest import PHONE, open_context, screenshot

QUESTIONS = 5
PHONES = 20
RELOADING = (3, 14)  # reload the page mid-question, then answer
TWICE = 7  # answers in two tabs: the second is refused


def _right(phone: int) -> bool:
    """Phones 0-9 play for Q1 and get 7 of 10 right each question; 10-19 for Q2 and get 4 right."""
    return phone % 10 < (7 if phone < 10 else 4)


def _choices(session: LiveSession, position: int) -> tuple[int, int, int]:
    """The places of the right choice and of a wrong one in the question shown at `position`, and how
    many choices it has."""
    question = db.session.get(Question, session.question_ids[position])
    right = next(index for index, choice in enumerate(question.choices) if choice.is_correct)
    return right, (right + 1) % len(question.choices), len(question.choices)


def _host_step(host, label: str) -> None:
    host.get_by_role("button", name=label).click()
    expect(host.get_by_role("button", name=label)).to_have_count(0)


def test_a_hall_plays_a_live_quiz(browser, live_server, people, tree, make_campaign):
    seed_question_bank()
    # The served app keeps the real time, not the tests' clock (that one stops in November 2026).
    campaign = make_campaign(scope="DN", by="admin", starts=datetime.now(UTC) - timedelta(days=1))
    screen = create_screen(people["admin"], campaign, None)
    db.session.commit()

    tv = open_context(browser, viewport={"width": 1280, "height": 720}, locale="vi-VN").new_page()
    tv.goto(f"{live_server}/screen/{screen.token}")

    host = open_context(browser, viewport=PHONE, locale="vi-VN", is_mobile=True).new_page()
    host.goto(f"{live_server}/login")
    host.get_by_label("Tên đăng nhập").fill("admin")
    host.get_by_label("Mật khẩu").fill(PASSWORD)
    host.get_by_role("button", name="Đăng nhập").click()
    expect(host.get_by_role("heading", level=1)).to_contain_text("Xin chào")
    host.goto(f"{live_server}/campaigns/{campaign.slug}/live")
    host.get_by_label("Số câu hỏi").fill(str(QUESTIONS))
    host.get_by_label("Thời gian mỗi câu (giây)").fill("120")
    host.get_by_role("button", name="Tạo phiên").click()
    expect(host.get_by_role("button", name="Bắt đầu")).to_be_visible()
    db.session.commit()  # end the test's read transaction: see what the server wrote
    session = db.session.scalar(select(LiveSession))
    code = session.join_code
    expect(tv.locator(f'#live [data-code="{code}"]')).to_be_visible()  # over the boards, with the QR
    screenshot(tv, "live-tv-lobby")

    contexts = [open_context(browser, viewport=PHONE, locale="vi-VN", is_mobile=True) for _ in range(PHONES)]
    phones = [context.new_page() for context in contexts]
    # Each step is sent to every phone before waiting on any: the pages load side by side, like a hall.
    for number, phone in enumerate(phones):
        # Half scan the QR, half type the code.
        phone.goto(f"{live_server}/live/{code}" if number % 2 else f"{live_server}/live", wait_until="commit")
    for phone in phones[::2]:
        phone.get_by_label("Mã 6 chữ số trên màn hình").fill(f"{code[:3]} {code[3:]}")
        phone.get_by_role("button", name="Vào phòng").click(no_wait_after=True)
    for number, phone in enumerate(phones):
        phone.get_by_label("Khu phố / ấp của bạn").select_option(label="Unit Q1" if number < 10 else "Unit Q2")
        phone.get_by_role("button", name="Tham gia").click(no_wait_after=True)
    for phone in phones:
        expect(phone.get_by_role("heading", name="Bạn đã vào phòng.")).to_be_visible()
    expect(tv.locator(".live-players")).to_have_text(f"{PHONES} người chơi đã vào")
    assert phones[0].evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    second_tab = contexts[TWICE].new_page()
    for position in range(QUESTIONS):
        _host_step(host, "Bắt đầu" if position == 0 else "Câu tiếp theo")
        db.session.commit()
        session = db.session.get(LiveSession, session.id)
        right, wrong, choices = _choices(session, position)
        if position == 1:
            second_tab.goto(f"{live_server}/live/play/{session.id}")
        for number, phone in enumerate(phones):
            buttons = phone.locator("button.choice")
            expect(buttons).to_have_count(choices)
            if position == 2 and number in RELOADING:
                phone.reload()
                expect(buttons).to_have_count(choices)
            buttons.nth(right if _right(number) else wrong).click(no_wait_after=True)
        for phone in phones:
            expect(phone.locator(".live-given")).to_be_visible()
        if position == 1:  # the same phone, in the tab it left open: refused, nothing changed
            second_tab.locator("button.choice").nth(right).click()
            expect(second_tab.get_by_text("chỉ câu trả lời đầu tiên được tính")).to_be_visible()
        if position != 2:
            _host_step(host, "Hiện đáp án")
            continue
        # The TV checked on one question: each check waits for a poll, and the journey must stay short.
        expect(tv.locator(".live-progress")).to_contain_text(f"Câu {position + 1} / {QUESTIONS}")
        expect(tv.locator(".live-head-count")).to_have_text(f"{PHONES} / {PHONES} đã trả lời")
        _host_step(host, "Hiện đáp án")
        right_count = sum(_right(number) for number in range(PHONES))
        expect(tv.locator(".live-tv-choices .right .live-count")).to_have_text(f"{right_count} ✓")
        expect(phones[0].locator(".live-verdict")).to_have_text("Đúng rồi!")
        screenshot(tv, "live-tv-answers")
        screenshot(phones[0], "live-phone-answers")
        assert phones[0].evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        _host_step(host, "Hiện bảng xếp hạng")
        expect(tv.locator(".live-standings-tv li").first).to_contain_text("Unit Q1")

    _host_step(host, "Kết thúc và ghi điểm")
    q1, q2 = 7 * QUESTIONS, 4 * QUESTIONS
    expect(tv.locator(".podium-1")).to_contain_text(f"Unit Q1{q1}")
    expect(tv.locator(".podium-2")).to_contain_text(f"Unit Q2{q2}")
    screenshot(tv, "live-tv-podium")
    board = host.request.get(f"{live_server}/api/v1/campaigns/{campaign.slug}/leaderboard?level=quarter&metric=points")
    points = {row["unit_code"]: row["points"] for row in board.json()}
    assert points == {"Q1": q1, "Q2": q2}
    expect(phones[15].locator(".live-standings .mine")).to_contain_text(re.compile(rf"Unit Q2\s*{q2}"))
    for context in contexts:
        context.close()
