"""Two copies of one log form sent at once get the same answer on PostgreSQL too (issue 14, item 7)."""

import secrets
import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

import campaigns.services
from models import Contribution, db
from tests.campaigns.test_logging import log
from tests.conftest import DATABASE_URL, activity, login

pytestmark = pytest.mark.skipif(
    DATABASE_URL.startswith("sqlite"),
    reason="SQLite runs one writing request at a time: the second copy starts after the first committed",
)


def test_two_copies_at_once_both_succeed_and_count_once(app, people, make_campaign, monkeypatch):
    campaign = make_campaign(template="paperless_week")
    files = activity(campaign, "Hồ sơ")
    phone = app.test_client()
    login(phone, "member")
    form_page = phone.get(f"/campaigns/{campaign.slug}/log")
    assert form_page.status_code == 200
    key = secrets.token_hex(16)

    # Both copies must reach the member's lock before either has committed, as two requests on two
    # gunicorn workers do; the barrier makes that happen every time.
    both_arrived = threading.Barrier(2, timeout=30)
    first_arrivals = iter(range(2))
    real_lock = campaigns.services._lock_member

    def wait_then_lock(member):
        if next(first_arrivals, None) is not None:
            both_arrived.wait()
        real_lock(member)

    monkeypatch.setattr(campaigns.services, "_lock_member", wait_then_lock)
    statuses: list[int] = []

    # Plain values: the threads have no app context in which to load attributes of the test's objects.
    where, what = SimpleNamespace(slug=campaign.slug), SimpleNamespace(id=files.id)

    def send() -> None:
        statuses.append(log(phone, where, what, idempotency_key=key, quantity="3").status_code)

    copies = [threading.Thread(target=send) for _ in range(2)]
    db.session.commit()
    for copy in copies:
        copy.start()
    for copy in copies:
        copy.join()
    assert statuses == [302, 302]
    assert db.session.scalar(select(func.count()).select_from(Contribution)) == 1
