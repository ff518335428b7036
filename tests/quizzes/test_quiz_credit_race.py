"""Starts sent at once from one address still credit the quarter no more than the hourly bound
(PostgreSQL: several workers count at the same time; SQLite runs one writing request at a time)."""

import threading

import pytest
from sqlalchemy import select

import quizzes.services
from models import Attempt, db
from tests.conftest import DATABASE_URL, csrf_token
from tests.quizzes.test_quiz_credit import DEVICE, make_quiz

pytestmark = pytest.mark.skipif(
    DATABASE_URL.startswith("sqlite"),
    reason="SQLite runs one writing request at a time: each start counts after the previous committed",
)
STARTS = 4


def test_starts_at_once_from_one_address_credit_no_more_than_the_bound(
    app, people, tree, make_campaign, clock, monkeypatch
):
    app.config["QUIZ_CREDITED_PER_ADDRESS_PER_HOUR"] = 1
    quiz = make_quiz(people, tree, make_campaign())
    phones = [app.test_client() for _ in range(STARTS)]
    tokens = [csrf_token(phone, "/login") for phone in phones]
    for number, phone in enumerate(phones):
        phone.set_cookie(DEVICE, f"device-{number}")

    # Every start must decide its credit before any has committed, as on several gunicorn workers.
    all_arrived = threading.Barrier(STARTS, timeout=30)
    real_credited = quizzes.services._credited

    def arrive_then_decide(*args):
        all_arrived.wait()
        return real_credited(*args)

    monkeypatch.setattr(quizzes.services, "_credited", arrive_then_decide)
    statuses: list[int] = []
    slug = quiz.slug

    def start(number: int) -> None:
        data = {"csrf_token": tokens[number], "quarter": "Q1", "name": f"Người {number}", "consent": "y"}
        statuses.append(phones[number].post(f"/q/{slug}/start", data=data).status_code)

    threads = [threading.Thread(target=start, args=(number,)) for number in range(STARTS)]
    db.session.commit()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302] * STARTS
    assert sorted(db.session.scalars(select(Attempt.credited))) == [False] * (STARTS - 1) + [True]
