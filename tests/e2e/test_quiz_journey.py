"""A resident scans a quarter's QR code, finishes the quiz on a phone, sees the result; a second try
from the same phone is refused politely; then they erase their data from the phone."""

import re
from datetime import timedelta

from playwright.sync_api import expect

from core.clock import now
from models import Attempt, db
from quizzes.services import QuizFields, create_quiz, seed_question_bank
from tests.e2e.conftest import PHONE, open_context, screenshot, settled


def _open_quiz(people, tree, title: str):
    """A five-question quiz of ward W1, open since an hour ago, for three more hours."""
    seed_question_bank()
    fields = QuizFields(title, tree["W1"], None, 5, 180, 2, now() - timedelta(hours=1), now() + timedelta(hours=3))
    quiz = create_quiz(people["leader1"], fields)
    db.session.commit()
    return quiz


def test_resident_takes_the_quiz_once(browser, live_server, people, tree):
    quiz = _open_quiz(people, tree, "An toàn trên mạng")
    context = open_context(browser, viewport=PHONE, locale="vi-VN", is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.goto(f"{live_server}/q/{quiz.slug}?u=Q1")
    expect(phone.get_by_label("Khu phố / ấp của bạn")).to_have_value("Q1")
    phone.get_by_label("Tên của bạn").fill("Chị Lan")
    phone.get_by_label("Số điện thoại (không bắt buộc)").fill("0912 345 678")
    phone.get_by_label("Tôi đồng ý").check()
    screenshot(phone, "resident-join-phone")
    phone.get_by_role("button", name="Bắt đầu").click()
    # The join page runs no script (one round trip over slow 4G), so the questions page is a whole page
    # load: answer over htmx once its scripts ran (a tap before that is a plain POST, which also counts).
    phone.wait_for_load_state("load")
    for number in range(1, 6):
        expect(phone.locator(".quiz-progress")).to_contain_text(f"Câu {number} / 5")
        settled(phone)
        phone.locator("button.choice").first.click()
        if number < 5:  # recorded, and on to the next question: right or wrong only at the end
            expect(phone.locator(".recorded")).to_have_text("Đã ghi nhận câu trả lời.")
            expect(phone.locator(".quiz-progress")).to_contain_text(f"Câu {number + 1} / 5")
            assert phone.locator(".verdict").count() == 0
        if number == 1:
            screenshot(phone, "resident-feedback-phone")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Cảm ơn Chị Lan!")
    expect(phone.locator(".score")).to_contain_text("/ 5 câu đúng")
    expect(phone.locator(".answer-review > li")).to_have_count(5)  # the review, with the right answers
    expect(phone.locator(".answer-review .correct")).to_have_count(5)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(phone, "resident-result-phone")

    phone.goto(f"{live_server}/q/{quiz.slug}?u=Q1")  # the same phone scans again: back to the result
    expect(phone.get_by_role("heading", level=1)).to_have_text("Cảm ơn Chị Lan!")
    other = open_context(browser, viewport=PHONE, locale="vi-VN", is_mobile=True).new_page()
    other.goto(f"{live_server}/q/{quiz.slug}?u=Q1")  # cookies cleared, same phone number
    other.get_by_label("Tên của bạn").fill("Chị Lan")
    other.get_by_label("Số điện thoại (không bắt buộc)").fill("0912345678")
    other.get_by_label("Tôi đồng ý").check()
    other.get_by_role("button", name="Bắt đầu").click()
    # Beside the phone field, and linked from the summary at the top.
    expect(other.locator("#phone-error")).to_contain_text("Số điện thoại này đã làm bài kiểm tra này rồi.")
    expect(other.get_by_role("link", name="Số điện thoại (không bắt buộc): Số điện thoại này")).to_be_visible()
    db.session.commit()
    assert db.session.query(Attempt).count() == 1

    phone.goto(f"{live_server}/q/{quiz.slug}/result")
    phone.once("dialog", lambda dialog: dialog.accept())  # the confirmation says what goes
    phone.get_by_role("button", name="Xoá dữ liệu của tôi").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Dữ liệu của bạn đã được xoá")
    db.session.commit()
    assert db.session.query(Attempt).one().name == ""
    context.close()
    other.context.close()


def test_the_countdown_runs_from_the_servers_deadline_and_ends_in_a_short_message(browser, live_server, people, tree):
    quiz = _open_quiz(people, tree, "Lừa đảo qua mạng")
    phone = open_context(browser, viewport=PHONE, locale="vi-VN", is_mobile=True, has_touch=True).new_page()
    phone.goto(f"{live_server}/q/{quiz.slug}?u=Q1")
    phone.get_by_label("Tên của bạn").fill("Anh Minh")
    phone.get_by_label("Tôi đồng ý").check()
    phone.get_by_role("button", name="Bắt đầu").click()
    expect(phone.locator(".quiz-progress")).to_contain_text("Câu 1 / 5")
    # The server's deadline, not the quiz's 180 s from the phone's point of view: 4 s are left.
    db.session.commit()  # end the read that began before the attempt was made
    attempt = db.session.query(Attempt).one()
    attempt.deadline_at = now() + timedelta(seconds=4)
    db.session.commit()
    phone.reload()
    expect(phone.locator("[data-countdown]")).to_have_text(re.compile(r"còn [1-4] giây"))
    expect(phone.get_by_role("alert")).to_contain_text("Hết giờ.")  # counted down on the phone
    expect(phone.locator("button.choice").first).to_be_hidden()
    assert phone.locator("#quiz-card html, #quiz-card header").count() == 0  # no page nested in the card
    phone.get_by_role("link", name="Xem kết quả").click()
    expect(phone.locator(".score")).to_contain_text("/ 5 câu đúng")
    phone.context.close()
