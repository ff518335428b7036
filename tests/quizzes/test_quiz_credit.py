"""Quiz credit (DESIGN.md §9): a script on one address cannot farm a quarter's points, a hall of
residents behind one Wi-Fi address at an event still counts, GET never writes, abandoned attempts
count what was answered, and residents' quiz data can be erased."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.privacy import keyed_hash
from models import Attempt, AttemptQuestion, EventSession, LedgerEntry, UnitScore, db
from quizzes.events import current_code
from quizzes.services import QuizFields, create_quiz, seed_question_bank
from quizzes.tasks import run_quiz_upkeep
from scoring import verify
from screens.services import create_screen
from tests.conftest import START, csrf_from, csrf_token
from tests.quizzes.test_quizzes import HTMX, answer_current, join, right_index

DEVICE = "thidua_device"


@pytest.fixture
def campaign(make_campaign):
    return make_campaign(template="digital_signature")


def make_quiz(people, tree, campaign, questions=1, scope="W1", points=2, days=30):
    seed_question_bank()
    quiz = create_quiz(
        people["leader1" if scope == "W1" else "admin"],
        QuizFields("Nhanh", tree[scope], campaign, questions, 180, points, START, START + timedelta(days=days)),
    )
    db.session.commit()
    return quiz


def quarter_points(tree, code="Q1") -> int:
    return db.session.scalar(select(UnitScore.points).where(UnitScore.unit_id == tree[code].id)) or 0


def play_one(client, quiz, token, number, event="", quarter="Q1", right=True):
    """One attempt from a fresh device on the same address: start, then answer every question."""
    client.set_cookie(DEVICE, f"device-{number}")
    response = client.post(
        f"/q/{quiz.slug}/start",
        data={"csrf_token": token, "quarter": quarter, "name": f"Người {number}", "consent": "y", "event": event},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    attempt_id = db.session.scalar(select(Attempt.id).where(Attempt.name == f"Người {number}"))
    for position in range(quiz.question_count):
        choice = right_index(attempt_id, position) if right else (right_index(attempt_id, position) + 1) % 2
        answered = client.post(
            f"/q/{quiz.slug}/answer", data={"csrf_token": token, "position": str(position), "choice": str(choice)}
        )
        assert answered.status_code == 303
    return db.session.get(Attempt, attempt_id)


def test_a_script_on_one_address_credits_the_quarter_ten_attempts_an_hour(app, client, people, tree, campaign, clock):
    quiz = make_quiz(people, tree, campaign)
    token = csrf_token(client, "/login")
    attempts = [play_one(client, quiz, token, number) for number in range(30)]
    # Every attempt is played and scored for the resident...
    assert all(attempt.finished_at and attempt.points == 2 for attempt in attempts)
    # ...but the quarter gains ten attempts' worth, no more.
    assert [attempt.credited for attempt in attempts] == [True] * 10 + [False] * 20
    assert quarter_points(tree) == 10 * 2
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 10
    result = client.get(f"/q/{quiz.slug}/result").get_data(as_text=True)
    assert "không cộng thêm điểm cho Unit Q1" in result and "10 lượt làm bài được tính điểm" in result
    assert "Bạn góp" not in result and "1 / 1 câu đúng" in result
    # The address is stored only as a keyed hash.
    assert {attempt.address_hash for attempt in attempts} == {keyed_hash("address:127.0.0.1")}
    clock.advance(hours=1, seconds=1)  # a new hour: the address counts again
    assert play_one(client, quiz, token, 30).credited
    assert quarter_points(tree) == 11 * 2
    assert verify() == []


@pytest.fixture
def event(people, tree, campaign):
    quiz = make_quiz(people, tree, campaign)
    screen = create_screen(people["leader1"], campaign, quiz)
    session = EventSession(
        screen=screen,
        quiz=quiz,
        secret="s" * 64,
        opened_by_id=people["leader1"].id,
        opened_at=START + timedelta(days=3) - timedelta(minutes=5),
        closes_at=START + timedelta(days=3) + timedelta(hours=2),
    )
    db.session.add(session)
    db.session.commit()
    return session


def test_a_hall_of_300_behind_one_address_is_credited_with_the_event_code(app, client, tree, event, clock):
    app.config["QUIZ_START_LIMIT"] = "20 per 10 minutes"  # event starts are exempt from it too
    quiz = event.quiz
    page = client.get(f"/q/{quiz.slug}?e={current_code(event, clock())}").get_data(as_text=True)
    assert "Bạn tham gia từ màn hình sự kiện" in page
    token = csrf_from(page)
    stamp = page.split('name="event" type="hidden" value="')[1].split('"')[0]
    attempts = [play_one(client, quiz, token, number, event=stamp) for number in range(300)]
    assert all(attempt.credited and attempt.event_session_id == event.id for attempt in attempts)
    assert quarter_points(tree) == 300 * 2
    assert verify() == []
    # Without the code the same address is bounded (and limited) as usual.
    assert not play_one(client, quiz, token, 300).event_session_id


def test_the_event_code_survives_typing_a_name_but_not_a_stale_page(app, client, event, clock):
    quiz = event.quiz
    page = client.get(f"/q/{quiz.slug}?u=Q1&e={current_code(event, clock())}").get_data(as_text=True)
    token = csrf_from(page)
    stamp = page.split('name="event" type="hidden" value="')[1].split('"')[0]
    clock.advance(minutes=3)  # the TV has shown three new codes meanwhile
    assert play_one(client, quiz, token, 1, event=stamp).event_session_id == event.id
    clock.advance(minutes=10)  # a page kept open too long no longer vouches for the event
    client.set_cookie(DEVICE, "device-late")
    started = client.post(
        f"/q/{quiz.slug}/start",
        data={"csrf_token": token, "quarter": "Q1", "name": "Muộn", "consent": "y", "event": stamp},
        follow_redirects=True,
    )
    assert "Mã sự kiện đã hết hiệu lực" in started.get_data(as_text=True)
    late = db.session.scalar(select(Attempt).where(Attempt.name == "Muộn"))
    assert late.event_session_id is None and late.credited  # counted under the normal bound


def test_an_expired_code_on_the_join_page_is_not_an_error(client, event, clock):
    quiz = event.quiz
    old_code = current_code(event, clock() - timedelta(minutes=3))
    response = client.get(f"/q/{quiz.slug}?u=Q1&e={old_code}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Mã sự kiện này đã hết hiệu lực" in html
    assert 'name="event" type="hidden" value=""' in html
    assert "Bắt đầu" in html
    event.closed_at = clock()
    db.session.commit()
    closed = client.get(f"/q/{quiz.slug}?e={current_code(event, clock())}").get_data(as_text=True)
    assert "Mã sự kiện này đã hết hiệu lực" in closed


def _dump() -> dict:
    """Every row of every table, to prove a request wrote nothing."""
    return {
        table.name: sorted(map(repr, db.session.execute(table.select()).all())) for table in db.metadata.sorted_tables
    }


def test_no_get_under_q_writes_even_on_an_attempt_past_its_deadline(client, people, tree, campaign, event, clock):
    quiz = make_quiz(people, tree, campaign, questions=5)
    join(client, quiz)
    answer_current(client, quiz)
    answer_current(client, quiz)
    clock.advance(seconds=200)
    db.session.commit()
    before = _dump()
    pages = [
        client.get(f"/q/{quiz.slug}"),
        client.get(f"/q/{quiz.slug}?u=Q1&e={current_code(event, clock())}"),
        client.get(f"/q/{quiz.slug}/play"),
        client.get(f"/q/{quiz.slug}/play", headers=HTMX),
        client.get(f"/q/{quiz.slug}/result"),
        client.get(f"/q/{event.quiz.slug}?e={current_code(event, clock())}"),
        client.get(f"/q/{event.quiz.slug}/result"),
        client.get(f"/quizzes/{quiz.slug}/qr/Q1.svg"),
    ]
    db.session.rollback()
    assert _dump() == before
    assert all(page.status_code in (200, 204, 302) for page in pages)
    result = pages[4].get_data(as_text=True)
    # The attempt shows as over, with the answered questions counting, though nothing was written.
    assert "Đã hết giờ làm bài. Bạn đã trả lời 2 / 5 câu; các câu đã trả lời vẫn được tính." in result
    assert "Đáp án" in result
    assert db.session.scalar(select(Attempt.finished_at).where(Attempt.quiz_id == quiz.id)) is None


def test_an_abandoned_attempt_is_finished_by_the_scheduler_and_credits_what_was_answered(
    client, people, tree, campaign, clock
):
    quiz = make_quiz(people, tree, campaign, questions=5)
    join(client, quiz)
    attempt_id = db.session.scalar(select(Attempt.id))
    for position in range(2):
        answer_current(client, quiz, choice=right_index(attempt_id, position))
    clock.advance(seconds=179)
    assert run_quiz_upkeep(clock()) == {"finished": 0, "erased": 0}  # not late yet
    clock.advance(minutes=30)  # the scheduler was down for a while: late is fine
    assert run_quiz_upkeep(clock()) == {"finished": 1, "erased": 0}
    db.session.commit()
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.finished_at == attempt.deadline_at and attempt.correct_count == 2 and attempt.points == 4
    assert quarter_points(tree) == 4
    assert run_quiz_upkeep(clock()) == {"finished": 0, "erased": 0}  # idempotent
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
    assert verify() == []


def test_an_abandoned_attempt_is_finished_on_the_next_post_from_the_device(client, people, tree, campaign, clock):
    quiz = make_quiz(people, tree, campaign, questions=5)
    join(client, quiz)
    attempt_id = db.session.scalar(select(Attempt.id))
    answer_current(client, quiz, choice=right_index(attempt_id, 0))
    clock.advance(seconds=181)
    token = csrf_token(client, "/login")
    client.post(f"/q/{quiz.slug}/start", data={"csrf_token": token, "quarter": "Q1", "name": "Lan", "consent": "y"})
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.finished_at == attempt.deadline_at and attempt.points == 2
    assert quarter_points(tree) == 2
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 1  # still one attempt per device


def _rank_on_board(client, campaign, code):
    rows = client.get(f"/api/v1/campaigns/{campaign.slug}/leaderboard?level=quarter&limit=50").get_json()
    return next(row for row in rows if row["unit_code"] == code)


def test_the_result_page_ranks_the_quarter_as_the_board_does(app, client, people, tree, make_campaign, clock):
    campaign = make_campaign(template="digital_signature", scope="DN", by="admin")
    quiz = make_quiz(people, tree, campaign, scope="DN")
    token = csrf_token(client, "/login")
    play_one(client, quiz, token, 1, right=False)
    zero = client.get(f"/q/{quiz.slug}/result").get_data(as_text=True)
    assert "Unit Q1 chưa có điểm." in zero and "xếp thứ" not in zero  # 0 points is never "1st"
    play_one(client, quiz, token, 2, quarter="Q2")
    play_one(client, quiz, token, 3, quarter="Q2")
    play_one(client, quiz, token, 4, quarter="Q1")
    row = _rank_on_board(client, campaign, "Q1")
    assert (row["rank"], row["points"]) == (2, 2)
    result = client.get(f"/q/{quiz.slug}/result").get_data(as_text=True)
    assert "Unit Q1 đang xếp thứ 2 / 2 khu phố với 2 điểm" in result


def test_a_quiz_without_campaign_ranks_by_its_credited_points_with_shared_ranks(app, client, people, tree, clock):
    quiz = make_quiz(people, tree, None, scope="DN")
    token = csrf_token(client, "/login")
    play_one(client, quiz, token, 1, right=False)
    assert "Unit Q1 chưa có điểm." in client.get(f"/q/{quiz.slug}/result").get_data(as_text=True)
    play_one(client, quiz, token, 2, quarter="Q2")
    play_one(client, quiz, token, 3, quarter="Q1")
    result = client.get(f"/q/{quiz.slug}/result").get_data(as_text=True)
    assert "Unit Q1 đang xếp thứ 1 / 2 khu phố với 2 điểm." in result  # tied with Q2: both first
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_a_resident_erases_their_quiz_data_and_the_quarter_keeps_its_points(app, client, people, tree, campaign):
    quiz = make_quiz(people, tree, campaign, questions=5)
    join(client, quiz, phone="0912 345 678")
    attempt_id = db.session.scalar(select(Attempt.id))
    for position in range(5):
        answer_current(client, quiz, choice=right_index(attempt_id, position))
    result = client.get(f"/q/{quiz.slug}/result").get_data(as_text=True)
    assert "Xoá dữ liệu của tôi" in result and "vẫn được giữ dưới dạng con số tổng" in result
    ledger_before = db.session.execute(select(LedgerEntry.id, LedgerEntry.points)).all()
    # Sent by another site (a page that wants her data gone), nothing happens.
    assert client.post(f"/q/{quiz.slug}/erase", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 400
    assert db.session.get(Attempt, attempt_id).name == "Lan"
    response = client.post(f"/q/{quiz.slug}/erase", data={"csrf_token": csrf_from(result)}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Đã xoá tên, mã số điện thoại và câu trả lời của 1 lượt làm bài" in html
    assert "Dữ liệu của bạn đã được xoá" in html and "Lan" not in html
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    assert (attempt.name, attempt.phone_hash, attempt.erased_at is not None) == ("", None, True)
    assert db.session.scalar(select(func.count()).select_from(AttemptQuestion)) == 0
    assert (attempt.correct_count, attempt.points, attempt.credited) == (5, 10, True)
    assert db.session.execute(select(LedgerEntry.id, LedgerEntry.points)).all() == ledger_before
    assert quarter_points(tree) == 10 and verify() == []
    # The same device cannot simply start again.
    assert client.get(f"/q/{quiz.slug}").headers["Location"].endswith("/play")


def test_old_attempts_lose_their_personal_details_after_the_retention_period(app, people, tree, campaign, clock):
    quiz = make_quiz(people, tree, campaign, days=200)
    old_client = app.test_client()
    token = csrf_token(old_client, "/login")
    old = play_one(old_client, quiz, token, 1)
    clock.advance(days=app.config["QUIZ_RETENTION_DAYS"] - 1)
    recent = play_one(old_client, quiz, token, 2)
    assert run_quiz_upkeep(clock()) == {"finished": 0, "erased": 0}
    clock.advance(days=1, seconds=1)
    assert run_quiz_upkeep(clock()) == {"finished": 0, "erased": 1}
    db.session.commit()
    db.session.expire_all()
    old, recent = db.session.get(Attempt, old.id), db.session.get(Attempt, recent.id)
    assert (old.name, old.phone_hash, old.address_hash, old.device_hash) == ("", None, None, None)
    assert old.erased_at is not None and (old.points, old.correct_count, old.credited) == (2, 1, True)
    assert db.session.scalars(select(AttemptQuestion.attempt_id)).all() == [recent.id]
    assert recent.name == "Người 2" and recent.device_hash is not None
    assert run_quiz_upkeep(clock()) == {"finished": 0, "erased": 0}
    assert verify() == []
