"""Two requests at the same moment, as on several gunicorn workers (PostgreSQL; SQLite runs one writing
request at a time): a phone's two answers keep one, two "end"s credit once."""

import threading

import pytest
from sqlalchemy import func, select

import live.services
from models import LedgerEntry, db
from models.live import LiveAnswer
from tests.conftest import DATABASE_URL, csrf_from
from tests.live.test_live_quiz import _right_index, _session, hall, open_first_question  # noqa: F401

pytestmark = pytest.mark.skipif(
    DATABASE_URL.startswith("sqlite"),
    reason="SQLite runs one writing request at a time: the second sees the first's commit",
)


def _at_once(monkeypatch, name: str, requests) -> list[int]:
    """Send `requests` (callables returning a status) in threads that all pass the rule `name` before
    any writes."""
    everyone = threading.Barrier(len(requests), timeout=30)
    real = getattr(live.services, name)

    def arrive_then_check(*args):
        result = real(*args)
        everyone.wait()
        return result

    monkeypatch.setattr(live.services, name, arrive_then_check)
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda send=send: statuses.append(send())) for send in requests]
    db.session.commit()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_two_answers_at_once_from_one_phone_keep_one(app, client, hall, tree, monkeypatch):  # noqa: F811
    session, phone = open_first_question(app, client, hall, tree["Q1"])
    token = csrf_from(phone.get(f"/live/play/{session.id}").get_data(as_text=True))
    url, right = f"/live/play/{session.id}/answer", _right_index(session)

    def send(choice: int):
        data = {"csrf_token": token, "position": "0", "choice": str(choice)}
        return lambda: phone.post(url, data=data, headers={"HX-Request": "true"}).status_code

    assert _at_once(monkeypatch, "answer_of", [send(right), send((right + 1) % 3)]) == [200, 422]
    assert db.session.scalar(select(func.count()).select_from(LiveAnswer)) == 1


def test_two_ends_at_once_credit_once(app, client, hall, tree, monkeypatch):  # noqa: F811
    session, phone = open_first_question(app, client, hall, tree["Q1"])
    token = csrf_from(phone.get(f"/live/play/{session.id}").get_data(as_text=True))
    phone.post(
        f"/live/play/{session.id}/answer",
        data={"csrf_token": token, "position": "0", "choice": str(_right_index(session))},
    )
    page = client.get(f"/live/host/{session.id}").get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "v": str(_session().version)}
    end = f"/live/host/{session.id}/end"
    assert _at_once(monkeypatch, "allowed_steps", [lambda: client.post(end, data=data).status_code] * 2) == [303, 303]
    assert db.session.scalar(select(func.count()).where(LedgerEntry.cause_type == "live_quiz")) == 1
