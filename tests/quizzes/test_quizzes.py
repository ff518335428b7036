import io
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import Attempt, AttemptQuestion, Choice, LedgerEntry, Question, UnitScore, db
from quizzes.services import QuizFields, create_quiz, seed_question_bank
from scoring import verify
from tests.conftest import START, csrf_from, csrf_token, login

CHOICE = re.compile(r'name="choice" value="(\d+)"')
POSITION = re.compile(r'name="position" value="(\d+)"')


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


def answer_current(client, quiz, pick=0, position=None, choice=None):
    page = client.get(f"/q/{quiz.slug}/play").get_data(as_text=True)
    choices = CHOICE.findall(page)
    data = {
        "csrf_token": csrf_from(page),
        "position": str(position if position is not None else POSITION.search(page).group(1)),
        "choice": str(choice if choice is not None else choices[pick]),
    }
    return page, client.post(f"/q/{quiz.slug}/answer", data=data)


def test_resident_finishes_the_quiz_and_the_quarter_scores(client, quiz, tree):
    assert join(client, quiz).status_code == 302
    for number in range(1, 6):
        page, response = answer_current(client, quiz)
        assert f"Câu {number} / 5" in page
        assert "Chính xác!" in response.text or "Chưa đúng." in response.text
    result = client.get(f"/q/{quiz.slug}/result").get_data(as_text=True)
    attempt = db.session.scalar(select(Attempt))
    assert attempt.finished_at is not None
    assert f"{attempt.correct_count} / 5 câu đúng" in result and "Unit Q1 đang xếp thứ 1 / 1" in result
    if attempt.points:
        entry = db.session.scalar(select(LedgerEntry))
        assert entry.cause_type == "quiz_attempt" and entry.points == attempt.correct_count * 2
        scores = dict(db.session.execute(select(UnitScore.unit_id, UnitScore.points)).all())
        assert scores == {tree[code].id: attempt.points for code in ("DN", "W1", "Q1")}
    assert verify() == []


def test_correct_answers_never_reach_the_page_before_answering(client, quiz):
    join(client, quiz)
    for _number in range(5):
        page = client.get(f"/q/{quiz.slug}/play").get_data(as_text=True)
        position = int(POSITION.search(page).group(1))
        item = db.session.get(AttemptQuestion, (db.session.scalar(select(Attempt.id)), position))
        question = item.question
        assert "correct" not in page and "✓" not in page
        assert question.explanation_vi not in page
        # Every choice is marked up identically: nothing tells the right one apart.
        shapes = {
            re.sub(r'value="\d+">[^<]*', "", line.strip()) for line in page.splitlines() if 'name="choice"' in line
        }
        assert len(shapes) == 1
        right = next(choice.id for choice in question.choices if choice.is_correct)
        _page, response = answer_current(client, quiz, choice=right)
        assert "Chính xác!" in response.text and question.explanation_vi in response.text


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


def test_answers_after_the_deadline_do_not_count(client, quiz, clock):
    join(client, quiz)
    answer_current(client, quiz)
    page = client.get(f"/q/{quiz.slug}/play").get_data(as_text=True)
    clock.advance(seconds=181)
    response = client.post(
        f"/q/{quiz.slug}/answer",
        data={"csrf_token": csrf_from(page), "position": "1", "choice": CHOICE.findall(page)[0]},
        follow_redirects=True,
    )
    assert "Đã hết giờ làm bài" in response.get_data(as_text=True) or "câu đúng" in response.get_data(as_text=True)
    attempt = db.session.scalar(select(Attempt))
    assert attempt.finished_at is not None
    answered = db.session.scalars(select(AttemptQuestion).where(AttemptQuestion.answered_at.isnot(None))).all()
    assert [item.position for item in answered] == [0]


def test_tampering_is_refused_and_changes_nothing(client, quiz):
    join(client, quiz)
    page, _response = answer_current(client, quiz)
    first_answer = db.session.scalar(select(AttemptQuestion.choice_id).where(AttemptQuestion.position == 0))
    page = client.get(f"/q/{quiz.slug}/play").get_data(as_text=True)
    token = csrf_from(page)
    current = int(POSITION.search(page).group(1))
    attempt_id = db.session.scalar(select(Attempt.id))
    question_id = db.session.get(AttemptQuestion, (attempt_id, current)).question_id
    foreign = db.session.scalar(select(Choice.id).where(Choice.question_id != question_id))
    other_choice_of_first = db.session.scalar(
        select(Choice.id).where(
            Choice.question_id == db.session.get(AttemptQuestion, (attempt_id, 0)).question_id,
            Choice.id != first_answer,
        )
    )
    for data, message in (
        ({"position": str(current), "choice": str(foreign)}, "Lựa chọn không thuộc câu hỏi này."),
        ({"position": "0", "choice": str(other_choice_of_first)}, "câu trả lời không thể thay đổi"),
        ({"position": str(current + 1), "choice": CHOICE.findall(page)[0]}, "câu trả lời không thể thay đổi"),
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
    exported = json.loads(client.get("/quizzes/bank/export.json").get_data(as_text=True))
    assert exported[0]["text_en"] == "Question C" and exported[0]["choices"][0]["correct"] is True
    member = client.application.test_client()
    login(member, "member")
    assert member.get("/quizzes/bank/export.json").status_code == 403


def test_shipped_bank_has_thirty_real_bilingual_questions(app):
    assert seed_question_bank() >= 30
    questions = db.session.scalars(select(Question)).all()
    assert all(question.text_en and question.explanation_vi for question in questions)
    assert all(sum(choice.is_correct for choice in question.choices) == 1 for question in questions)
    tags = {tag for question in questions for tag in question.tags.split(",")}
    assert {"lừa đảo", "tin giả", "dữ liệu cá nhân", "VNeID", "chữ ký số", "thanh toán"} <= tags
