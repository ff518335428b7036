"""Scheduler processes on one database (issue 14, items 1 and 2): of any number started, exactly one
works; when it dies another takes over within the lease; a database that fails under it (locked past
its timeout, connections cut) is weathered, never fatal.

Each test starts real `flask scheduler` processes with a short lease and a sweep every second, and
watches what they leave in the database (notifications of a started campaign, the frozen results of an
ended one, the lease row) and in their logs (who leads, what each sweep did).
"""

import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from models import CampaignResult, Notification, SchedulerLease, db
from tests.conftest import DATABASE_URL
from tests.ops.processes import leads, scheduler_id, set_database_reachable, wait_until

ON_SQLITE = DATABASE_URL.startswith("sqlite")
# Members of ward W1 in the `people` fixture, each told once that a campaign of W1 started.
MEMBERS_OF_W1 = 3


def _fast(lease_seconds: int) -> dict[str, str]:
    return {"SCHEDULER_LEASE_SECONDS": str(lease_seconds), "SCHEDULER_INTERVAL_SECONDS": "1"}


def _fresh(query):
    db.session.commit()  # a new snapshot: see what the schedulers committed since
    return db.session.scalar(query)


def _told_started(campaign) -> int:
    where = (Notification.campaign_id == campaign.id, Notification.kind == "campaign_started")
    return _fresh(select(func.count()).select_from(Notification).where(*where))


def _lease_holder() -> str | None:
    return _fresh(select(SchedulerLease.holder))


def _running_now(make_campaign, template: str, **kwargs):
    """A published campaign of W1 that started an hour ago by the real clock (the schedulers have no test clock)."""
    return make_campaign(template=template, starts=datetime.now(UTC) - timedelta(hours=1), **kwargs)


def test_of_two_schedulers_one_works_and_the_other_takes_over_within_the_lease_when_it_is_killed(
    processes, people, make_campaign
):
    lease = 4
    started = _running_now(make_campaign, "digital_signature")
    make_campaign(template="paperless_week", starts=datetime.now(UTC) - timedelta(days=30), days=2)  # ended

    first = processes.scheduler(**_fast(lease))
    wait_until(lambda: leads(first), first)
    second = processes.scheduler(**_fast(lease))
    wait_until(lambda: "stands by: the lease is held by " + scheduler_id(first) in second.output(), second)
    wait_until(lambda: _told_started(started) == MEMBERS_OF_W1, first)
    time.sleep(lease)  # more than a lease of sweeps and heartbeats by both
    assert _lease_holder() == scheduler_id(first)
    assert "leads" not in second.output()
    assert "run_campaign_events" not in second.output()  # the one that stands by has swept nothing
    assert first.output().count("run_campaign_events: announced=1, frozen=1") == 1

    first.kill9()
    killed_at = time.monotonic()
    later = _running_now(make_campaign, "vneid")
    wait_until(lambda: leads(second), second, timeout=3 * lease)
    took_over_in = time.monotonic() - killed_at
    # The lease runs out at most `lease` after the last renewal; the survivor claims it at its next
    # heartbeat (a third of the lease) or sweep, whichever comes first. Two seconds cover the pace of
    # the processes and of the test's polling on a busy machine.
    assert took_over_in <= lease + lease / 3 + 2, took_over_in
    wait_until(lambda: _told_started(later) == MEMBERS_OF_W1, second)
    assert _lease_holder() == scheduler_id(second)
    assert "run_campaign_events: announced=1, frozen=0" in second.output()

    # Every effect once: each campaign announced to each member once, the ended one frozen once.
    assert (_told_started(started), _told_started(later)) == (MEMBERS_OF_W1, MEMBERS_OF_W1)
    assert _fresh(select(func.count()).select_from(CampaignResult)) == 1
    swept = first.output() + second.output()
    assert swept.count("frozen=1") == 1 and swept.count("announced=1") == 2


def test_a_stopped_leader_gives_the_lease_up_and_another_takes_over_at_once(processes, people, make_campaign):
    lease = 10  # long enough that a takeover on expiry could not be mistaken for one on release
    first = processes.scheduler(**_fast(lease))
    wait_until(lambda: leads(first), first)
    second = processes.scheduler(**_fast(lease))
    wait_until(lambda: "stands by" in second.output(), second)

    first.stop()  # SIGTERM, as systemd, docker and a deploy send it
    stopped_at = time.monotonic()
    assert first.popen.returncode == 0
    assert f"Scheduler {scheduler_id(first)} stopped and gave the lease up" in first.output()
    wait_until(lambda: leads(second), second, timeout=lease)
    # The first renewed its lease within the last second: expiry would take about `lease` seconds.
    assert time.monotonic() - stopped_at < lease / 2
    assert _lease_holder() == scheduler_id(second)


@pytest.mark.skipif(not ON_SQLITE, reason="SQLite's write lock; PostgreSQL has its own test below")
def test_the_scheduler_outlives_a_write_lock_held_past_its_busy_timeout(processes, people, make_campaign):
    started = _running_now(make_campaign, "digital_signature")
    # Another writer holds SQLite's write lock longer than the scheduler's busy timeout (10 s): each of
    # its transactions (BEGIN IMMEDIATE) waits, then fails with "database is locked".
    writer = sqlite3.connect(DATABASE_URL.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        scheduler = processes.scheduler(**_fast(4))
        wait_until(lambda: "database is locked" in scheduler.output(), scheduler, timeout=40)
        assert _told_started(started) == 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    wait_until(lambda: _told_started(started) == MEMBERS_OF_W1, scheduler, timeout=30)
    # The job that announced may have waited out the lock within its first try; the ones that failed
    # say they work again at their next try, a backoff later.
    wait_until(lambda: re.search(r"Job \S+ works again \(failed \d+ in a row\)", scheduler.output()), scheduler)
    assert re.search(
        r"Job \S+ failed \(1 in a row\), next try in \d+ s: \(sqlite3.OperationalError\) database is",
        scheduler.output(),
    )
    assert scheduler.alive()


@pytest.mark.skipif(ON_SQLITE, reason="PostgreSQL's connections; SQLite has its own test above")
def test_the_scheduler_outlives_its_database_going_away(processes, people, make_campaign):
    scheduler = processes.scheduler(**_fast(4))
    wait_until(lambda: leads(scheduler), scheduler)

    # As a database restart or a failover would: every connection ends and new ones are refused a while.
    set_database_reachable(DATABASE_URL, False)
    try:
        wait_until(lambda: "failed (1 in a row)" in scheduler.output(), scheduler, timeout=10)
    finally:
        set_database_reachable(DATABASE_URL, True)
        db.session.remove()  # the test's own connection was cut too
        db.engine.dispose()

    started = _running_now(make_campaign, "digital_signature")
    wait_until(lambda: _told_started(started) == MEMBERS_OF_W1, scheduler, timeout=30)
    wait_until(lambda: re.search(r"Job \S+ works again \(failed \d+ in a row\)", scheduler.output()), scheduler)
    assert scheduler.alive()
