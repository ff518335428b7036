import io
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import quizzes.services
from models import Attempt, AttemptQuestion, AuditEntry, LedgerEntry, Question, UnitScore, db
from quizzes.services import QuizFields, create_quiz, seed_question_bank
from scoring import verify
from tests.conftest import START, csrf_from, csrf_token, login

CHOICE = re.compile(r'name="choice" value="(\d+)"')
POSITION = re.compile(r'name="position" value="(\d+)"')
HTMX = {"HX-Request": "true"}


@pytest.fixture
def quiz(people, tree, make_campaign, clock):
    seed_question_bank()
    campaign = make_campaign(template="digital_signature")
    quiz = create_quiz(
        people["leader1"],
        QuizFields("An toàn mạng", tree["W1"], campaign, 5, 180, 2, START, START + timedelta(days=30)),
    )
    db.session.commit()
    return quiz


def join(client, quiz, quarter="Q1", name="Lan", phone="", consent="y"):
    page = client.get(f"/q/{quiz.slug}?u={quarter}")
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "quarter": quarter, "name": name, "phone": phone}
    if consent:
        data["consent"] = consent
    return client.post(f"/q/{quiz.slug}/start", data=data)


def answer_current(client, quiz, pick=0, position=None, choice=None, headers=None):
    page = client.get(f"/q/{quiz.slug}/play").get_data(as_text=True)
    choices = CHOICE.findall(page)
    data = {
        "csrf_token": csrf_from(page),
        "position": str(position if position is not None else POSITION.search(page).group(1)),
        "choice": str(choice if choice is not None else choices[pick]),
    }
    return page, client.post(f"/q/{quiz.slug}/answer", data=data, headers=headers or {})


def right_index(attempt_id, position):
    """Where the right choice sits in this attempt's shuffled order (read from the database)."""
    item = db.session.get(AttemptQuestion, (attempt_id, position))
    correct = {choice.id for choice in item.question.choices if choice.is_correct}
    return next(index for index, choice_id in enumerate(item.choice_order) if choice_id in correct)


def test_resident_finishes_the_quiz_and_the_quarter_scores(client, quiz, tree):
    assert join(client, quiz).status_code == 302
    for number in range(1, 6):
        page, response = answer_current(client, quiz)
        assert f"Câu {number} / 5" in page
        assert response.status_code == 303
        assert response.headers["Location"].endswith("/result" if number == 5 else "/play")
        if number == 1:  # without htmx the next page says so; right or wrong waits for the end
            assert "Đã ghi nhận câu trả lời." in client.get(response.headers["Location"]).get_data(as_text=True)
    result = client.get(f"/q/{quiz.slug}/result").get_data(as_text=True)
    attempt = db.session.scalar(select(Attempt))
    assert attempt.finished_at is not None and attempt.credited
    assert f"{attempt.correct_count} / 5 câu đúng" in result
    if attempt.points:
        assert "Unit Q1 đang xếp thứ 1 / 1 khu phố" in result
        entry = db.session.scalar(select(LedgerEntry))
        assert entry.cause_type == "quiz_attempt" and entry.points == attempt.correct_count * 2
        scores = dict(db.session.execute(select(UnitScore.unit_id, UnitScore.points)).all())
        assert scores == {tree[code].id: attempt.points for code in ("DN", "W1", "Q1")}
    else:
        assert "Unit Q1 chưa có điểm." in result
    assert verify() == []


def test_answers_are_recorded_without_right_or_wrong_and_revealed_at_the_end(client, quiz):
    join(client, quiz)
    attempt_id = db.session.scalar(select(Attempt.id))
    explanations = []
    for number in range(5):
        page = client.get(f"/q/{quiz.slug}/play").get_data(as_text=True)
        position = int(POSITION.search(page).group(1))
        question = db.session.get(AttemptQuestion, (attempt_id, position)).question
        explanations.append(question.explanation_vi)
        # The choice a resident sends is its place in this attempt's order: 0, 1, 2...; never an id.
        assert CHOICE.findall(page) == [str(index) for index in range(len(question.choices))]
        assert "correct" not in page and "✓" not in page and question.explanation_vi not in page
        shapes = {
            re.sub(r'value="\d+">[^<]*', "", line.strip()) for line in page.splitlines() if 'name="choice"' in line
        }
        assert len(shapes) == 1
        _page, response = answer_current(client, quiz, choice=right_index(attempt_id, position), headers=HTMX)
        html = response.get_data(as_text=True)
        for revealing in ("Chính xác", "Chưa đúng", "✓", question.explanation_vi):
            assert revealing not in html
        if number < 4:
            assert "Đã ghi nhận câu trả lời." in html and f"Câu {number + 2} / 5" in html
        else:  # the last answer ends the attempt: a full navigation to the result, not a swap
            assert response.headers["HX-Redirect"].endswith(f"/q/{quiz.slug}/result")
    result = client.get(f"/q/{quiz.slug}/result").get_data(as_text=True)
    assert "5 / 5 câu đúng" in result and "Đáp án" in result
    assert all(explanation in result for explanation in explanations)


def test_the_right_answer_is_not_always_in_the_same_place(app, quiz):
    """Choice order is drawn per attempt, so neither the order nor the value points at the answer."""
    places = set()
    for number in range(4):
        join(app.test_client(), quiz, name=f"Người {number}")
    for attempt_id in db.session.scalars(select(Attempt.id)):
        places |= {right_index(attempt_id, position) for position in range(5)}
    assert len(places) > 1


def test_one_attempt_per_device_and_per_phone(app, client, quiz):
    assert join(client, quiz, phone="0912 345 678").status_code == 302
    assert client.get(f"/q/{quiz.slug}").headers["Location"].endswith(f"/q/{quiz.slug}/play")
    other_device = app.test_client()
    response = join(other_device, quiz, phone="0912345678")
    assert response.status_code == 422
    assert "Số điện thoại này đã làm bài kiểm tra này rồi." in response.get_data(as_text=True)
    assert join(app.test_client(), quiz, name="Hùng").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 2
    stored = db.session.scalars(select(Attempt.phone_hash)).all()
    assert all(value is None or "0912345678" not in value for value in stored)


def test_joining_needs_consent_a_name_and_a_quarter_in_scope(client, quiz):
    html = join(client, quiz, consent="", phone="123").get_data(as_text=True)
    assert "Hãy đồng ý với cách dùng thông tin" in html
    assert "Số điện thoại không hợp lệ." in html
    assert "Trường này là bắt buộc" in join(client, quiz, name="").get_data(as_text=True)
    assert join(client, quiz, quarter="Q2").status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0


def test_a_refused_start_ties_each_reason_to_its_field_and_links_it_from_the_summary(client, quiz):
    """The rules' refusals (consent, phone) sit beside their fields, not only in the summary."""
    html = join(client, quiz, consent="", phone="123").get_data(as_text=True)
    for field, message in (
        ("consent", "Hãy đồng ý với cách dùng thông tin để bắt đầu."),
        ("phone", "Số điện thoại không hợp lệ."),
    ):
        assert re.search(rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error', html) or re.search(
            rf'aria-describedby="[^"]*{field}-error[^>]*id="{field}"', html
        ), field
        assert re.search(rf'<div class="error" id="{field}-error"><p>{re.escape(message)}</p>', html), field
        assert re.search(rf'<a href="#{field}">[^<]*: {re.escape(message)}</a>', html), field
        assert html.count(message) == 2  # beside the field and in the summary, not a third time unlinked


def test_answers_after_the_deadline_do_not_count(client, quiz, clock):
    join(client, quiz)
    answer_current(client, quiz)
    page = client.get(f"/q/{quiz.slug}/play").get_data(as_text=True)
    clock.advance(seconds=181)
    response = client.post(
        f"/q/{quiz.slug}/answer",
        data={"csrf_token": csrf_from(page), "position": "1", "choice": "0"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "Đã hết giờ làm bài" in html and "các câu đã trả lời vẫn được tính" in html
    attempt = db.session.scalar(select(Attempt))
    assert attempt.finished_at == attempt.deadline_at
    answered = db.session.scalars(select(AttemptQuestion).where(AttemptQuestion.answered_at.isnot(None))).all()
    assert [item.position for item in answered] == [0]


def test_tampering_is_refused_and_changes_nothing(client, quiz):
    join(client, quiz)
    answer_current(client, quiz)
    first_answer = db.session.scalar(select(AttemptQuestion.choice_id).where(AttemptQuestion.position == 0))
    page = client.get(f"/q/{quiz.slug}/play").get_data(as_text=True)
    token = csrf_from(page)
    current = int(POSITION.search(page).group(1))
    for data, message in (
        ({"position": str(current), "choice": "9"}, "Lựa chọn không thuộc câu hỏi này."),
        ({"position": str(current), "choice": "-1"}, "Hãy chọn một câu trả lời."),
        ({"position": "0", "choice": "1"}, "câu trả lời không thể thay đổi"),
        ({"position": str(current + 1), "choice": "0"}, "câu trả lời không thể thay đổi"),
    ):
        response = client.post(f"/q/{quiz.slug}/answer", data={"csrf_token": token, **data}, follow_redirects=True)
        assert message in response.get_data(as_text=True)
    answered = db.session.scalars(select(AttemptQuestion).where(AttemptQuestion.answered_at.isnot(None))).all()
    assert [(item.position, item.choice_id) for item in answered] == [(0, first_answer)]


def test_a_reload_resumes_where_the_person_was(client, quiz):
    join(client, quiz)
    answer_current(client, quiz)
    answer_current(client, quiz)
    assert "Câu 3 / 5" in client.get(f"/q/{quiz.slug}/play").get_data(as_text=True)
    assert client.get(f"/q/{quiz.slug}").headers["Location"].endswith("/play")
    assert client.get(f"/q/{quiz.slug}/result").headers["Location"].endswith("/play")  # no peeking


def test_each_attempt_draws_its_own_questions(app, quiz):
    draws = set()
    for number in range(6):
        resident = app.test_client()
        join(resident, quiz, name=f"Người {number}")
    for attempt_id in db.session.scalars(select(Attempt.id)):
        draws.add(
            tuple(
                db.session.scalars(
                    select(AttemptQuestion.question_id)
                    .where(AttemptQuestion.attempt_id == attempt_id)
                    .order_by(AttemptQuestion.position)
                )
            )
        )
    assert len(draws) > 1


def test_play_serves_a_fragment_to_htmx(client, quiz):
    join(client, quiz)
    full = client.get(f"/q/{quiz.slug}/play").get_data(as_text=True)
    fragment = client.get(f"/q/{quiz.slug}/play", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" in full and "<html" not in fragment and 'name="choice"' in fragment


def test_leader_creates_a_quiz_and_prints_qr_codes_per_quarter(client, people, tree, make_campaign):
    seed_question_bank()
    db.session.commit()
    login(client, "leader1")
    token = csrf_token(client, "/quizzes/new")
    response = client.post(
        "/quizzes/new",
        data={
            "csrf_token": token,
            "title": "Nhận diện lừa đảo",
            "scope_code": "W1",
            "campaign": "",
            "question_count": "5",
            "tags": "lừa đảo",
            "time_limit_seconds": "120",
            "points_per_correct": "2",
            "opens_at": "2026-11-05T08:00",
            "closes_at": "2026-11-05T20:00",
        },
    )
    assert response.status_code == 302
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    slug = response.headers["Location"].rsplit("/", 1)[1]
    assert f"/q/{slug}?u=Q1" in detail and "<svg" in detail
    png = client.get(f"/quizzes/{slug}/qr/Q1.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    assert client.get(f"/quizzes/{slug}/qr/Q1.svg").mimetype == "image/svg+xml"
    assert client.get(f"/quizzes/{slug}/qr/Q2.png").status_code == 404
    other = client.application.test_client()
    login(other, "leader2")
    assert other.get(f"/quizzes/{slug}").status_code == 403


def test_quiz_form_refuses_too_many_questions(client, people):
    seed_question_bank()
    db.session.commit()
    login(client, "leader1")
    token = csrf_token(client, "/quizzes/new")
    response = client.post(
        "/quizzes/new",
        data={
            "csrf_token": token,
            "title": "Quá nhiều",
            "scope_code": "W1",
            "campaign": "",
            "question_count": "9",
            "tags": "chữ ký số",
            "time_limit_seconds": "120",
            "points_per_correct": "2",
            "opens_at": "2026-11-05T08:00",
            "closes_at": "2026-11-05T20:00",
        },
    )
    assert response.status_code == 422 and "Ngân hàng chỉ có 4 câu hỏi phù hợp." in response.get_data(as_text=True)


def test_question_bank_import_and_export(client, people):
    login(client, "admin")
    token = csrf_token(client, "/quizzes/bank")

    def upload(payload):
        data = {"csrf_token": token, "file": (io.BytesIO(payload.encode()), "q.json")}
        return client.post("/quizzes/bank", data=data, content_type="multipart/form-data")

    bad = [
        {"text_vi": "Câu A", "choices": [{"text_vi": "x", "correct": True}]},
        {"text_vi": "Câu B", "choices": [{"text_vi": "x", "correct": True}, {"text_vi": "y", "correct": True}]},
    ]
    html = upload(json.dumps(bad)).get_data(as_text=True)
    assert "Câu 1: Mỗi câu hỏi cần từ 2 đến 6 lựa chọn." in html
    assert "Câu 2: Mỗi câu hỏi phải có đúng một lựa chọn đúng." in html
    assert "Tệp không phải JSON hợp lệ" in upload("{not json").get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Question)) == 0
    good = [
        {
            "text_vi": "Câu C",
            "text_en": "Question C",
            "tags": ["lừa đảo"],
            "choices": [{"text_vi": "Đúng", "correct": True}, {"text_vi": "Sai", "correct": False}],
        }
    ]
    assert upload(json.dumps(good)).status_code == 302
    assert client.get("/quizzes/bank/export.json").status_code == 405  # an audited export is a POST
    exported = json.loads(client.post("/quizzes/bank/export.json", data={"csrf_token": token}).get_data(as_text=True))
    assert exported[0]["text_en"] == "Question C" and exported[0]["choices"][0]["correct"] is True
    entries = db.session.execute(select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.after)).all()
    assert [(action, actor) for action, actor, _after in entries] == [
        ("questions.import", people["admin"].id),
        ("export", people["admin"].id),
    ]
    assert entries[0].after == {"added": 1, "in_file": 1} and entries[1].after == {"what": "questions", "rows": 1}
    member = client.application.test_client()
    login(member, "member")
    assert member.post("/quizzes/bank/export.json", data={"csrf_token": csrf_token(member, "/")}).status_code == 403


def test_shipped_bank_has_thirty_real_bilingual_questions(app):
    assert seed_question_bank() >= 30
    questions = db.session.scalars(select(Question)).all()
    assert all(question.text_en and question.explanation_vi for question in questions)
    assert all(sum(choice.is_correct for choice in question.choices) == 1 for question in questions)
    tags = {tag for question in questions for tag in question.tags.split(",")}
    assert {"lừa đảo", "tin giả", "dữ liệu cá nhân", "VNeID", "chữ ký số", "thanh toán"} <= tags


def test_switching_language_keeps_the_quizs_quarter(client, quiz, make_unit, tree):
    """The language switch on a quiz opened from a quarter's QR code comes back with the quarter: without
    it the resident's points would go to whichever quarter the form picks first."""
    make_unit("Q3", "quarter", tree["W1"], adult_population=1_000)
    page = client.get(f"/q/{quiz.slug}?u=Q3&lang=vi").get_data(as_text=True)
    back_to = re.search(r'name="next" value="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert back_to == f"/q/{quiz.slug}?u=Q3"  # and no `lang` that would undo the choice
    switched = client.post("/language", data={"lang": "en", "next": back_to, "csrf_token": csrf_from(page)})
    assert switched.status_code == 303
    english = client.get(switched.headers["Location"]).get_data(as_text=True)
    assert '<html lang="en">' in english
    assert re.search(r'<option selected value="Q3">|<option value="Q3" selected>', english)


def test_two_phones_starting_with_one_number_at_once_get_one_attempt_and_a_message(app, quiz, monkeypatch):
    """The unique index settles the race that the check before it cannot see: the second start is refused
    with a message, writes nothing, and the form comes back whole."""
    assert join(app.test_client(), quiz, phone="0912345678").status_code == 302
    monkeypatch.setattr(quizzes.services, "_phone_has_played", lambda *_args: False)  # both checked at once
    response = join(app.test_client(), quiz, phone="0912345678")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Bạn đã làm bài kiểm tra này rồi. Mỗi người chỉ làm một lần." in html and 'value="Q1"' in html
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 1
    assert db.session.scalar(select(func.count()).select_from(AttemptQuestion)) == quiz.question_count
