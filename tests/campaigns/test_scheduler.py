import logging
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from campaigns.tasks import run_campaign_events, run_sweep
from campaigns.tasks import sweep as campaigns_sweep
from core.scheduler import GuardedJob, Leadership, claim_lease, current_lease, live_holder, release_lease, run_job
from models import BadgeAward, Campaign, CampaignResult, Notification, SchedulerLease, db
from scoring import Award, award_many
from tests.campaigns.test_logging import log
from tests.conftest import DATABASE_URL, START, activity, login, make_test_app


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_start_notifies_members_in_scope_once(app, client, people, make_campaign, clock):
    campaign = make_campaign(starts=START + timedelta(days=5))
    clock.moment = START + timedelta(days=4)
    assert run_campaign_events(clock()) == {"announced": 0, "frozen": 0}
    clock.moment = START + timedelta(days=5, minutes=1)
    assert run_campaign_events(clock())["announced"] == 1
    db.session.commit()
    assert run_campaign_events(clock())["announced"] == 0
    notified = set(db.session.scalars(select(Notification.user_id).where(Notification.kind == "campaign_started")))
    # Everyone whose home unit is in ward W1; nobody from W2, nobody twice.
    assert notified == {people[name].id for name in ("leader1", "teamlead", "member")}
    assert db.session.get(Campaign, campaign.id).start_notified_at is not None
    login(client, "member")
    assert '<span class="count">1</span>' in client.get("/").get_data(as_text=True)
    assert "đã bắt đầu" in client.get("/notifications").get_data(as_text=True)
    client.post("/notifications/read", data={"csrf_token": _token(client)})
    assert '<span class="count">' not in client.get("/").get_data(as_text=True)


def _token(client):
    from tests.conftest import csrf_from

    return csrf_from(client.get("/notifications").get_data(as_text=True))


def test_end_freezes_the_standings_once_even_when_run_late(app, people, tree, make_campaign, clock):
    campaign = make_campaign(template="paperless_week", days=4)
    member = app.test_client()
    login(member, "member")
    log(member, campaign, activity(campaign, "Ngày không giấy"), occurred_on="2026-11-05")
    clock.advance(days=30)  # the app was down when the campaign ended
    assert run_campaign_events(clock())["frozen"] == 1
    db.session.commit()
    assert run_campaign_events(clock())["frozen"] == 0
    result = db.session.scalar(select(CampaignResult))
    quarters = result.standings["quarter"]
    assert quarters[0] == {"rank": 1, "unit_id": tree["Q1"].id, "code": "Q1", "name": "Unit Q1", "points": 10}
    assert result.standings["member"][0]["points"] == 10
    assert _count(Notification, Notification.kind == "campaign_ended") == 3


def test_the_frozen_result_lists_the_members_and_ties_as_the_board_did(
    app, people, tree, make_unit, make_campaign, clock
):
    """A member whose points came to nothing (approved, then corrected away) is not on the board, so not
    in the result, and no top-three badge; tied quarters keep the board's order (by id, not by code)."""
    campaign = make_campaign()
    late = make_unit("Q0", "quarter", tree["W1"])  # a code that sorts before Q1, an id after it
    for unit in (tree["Q1"], late):
        award_many([Award(campaign.id, "correction", 0, 5, START.date(), unit.ancestor_ids)])
    for points in (7, -7):
        award_many([Award(campaign.id, "correction", 0, points, START.date(), [], member_id=people["member2"].id)])
    award_many([Award(campaign.id, "correction", 0, 3, START.date(), [], member_id=people["member"].id)])
    db.session.commit()
    board = app.test_client().get(f"/api/v1/campaigns/{campaign.slug}/leaderboard?level=member").get_json()
    quarters = app.test_client().get(f"/api/v1/campaigns/{campaign.slug}/leaderboard?level=quarter").get_json()
    clock.advance(days=40)
    run_campaign_events(clock())
    db.session.commit()
    result = db.session.scalar(select(CampaignResult)).standings
    assert [row["member_id"] for row in result["member"]] == [row["member_id"] for row in board]
    assert [row["code"] for row in result["quarter"][:2]] == [row["unit_code"] for row in quarters[:2]] == ["Q1", "Q0"]
    assert not db.session.scalar(select(BadgeAward).where(BadgeAward.member_id == people["member2"].id))


def test_two_sweeps_at_once_make_one_snapshot(app, people, make_campaign, clock):
    make_campaign(days=2)
    clock.advance(days=10)
    moment = clock()
    barrier = threading.Barrier(2, timeout=10)
    outcomes = []

    errors = []

    # Apps are built here, not in the threads: CPython 3.11 can fail compiling URL rules in two
    # threads at once ("AST constructor recursion depth mismatch"), which is not what is tested.
    workers = [make_test_app(CLOCK=lambda: moment) for _ in range(2)]

    def sweep(worker):
        try:
            barrier.wait()
            outcomes.append(run_sweep(worker)["frozen"])
        except Exception as error:  # reported below: an exception in a thread is otherwise lost
            errors.append(repr(error))
        finally:
            with worker.app_context():
                db.engine.dispose()

    threads = [threading.Thread(target=sweep, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(outcomes) == [0, 1]
    assert _count(CampaignResult) == 1


def test_two_real_schedulers_started_at_once_make_one_snapshot(app, people, make_campaign):
    make_campaign(days=2, starts=START - timedelta(days=20))  # ended in real time, long ago
    # Two development servers' embedded schedulers (SCHEDULER_EMBEDDED), as `make run` starts one.
    apps = [make_test_app(SCHEDULER_EMBEDDED=True, SCHEDULER_INTERVAL_SECONDS=3600) for _ in range(2)]
    schedulers = [scheduler_app.extensions["scheduler"] for scheduler_app in apps]
    leaderships = [scheduler.get_job("campaign-events").func.leadership for scheduler in schedulers]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not _count(CampaignResult):
        time.sleep(0.2)
        db.session.commit()
    time.sleep(1)
    for scheduler in schedulers:
        scheduler.shutdown()
    for scheduler_app in apps:
        with scheduler_app.app_context():
            db.engine.dispose()
    db.session.commit()
    assert _count(CampaignResult) == 1
    # One led and did the work; the other stood by.
    assert sorted(leadership.leading for leadership in leaderships) == [False, True]
    assert db.session.get(SchedulerLease, "scheduler").holder in {leadership.holder for leadership in leaderships}


LEASE_SECONDS = 30


def _claim(holder):
    claimed = claim_lease(holder, LEASE_SECONDS)
    db.session.commit()
    return claimed


def _let_pass(seconds):
    """As if `seconds` went by without a renewal: the lease row's end moves that far back, since the
    lease is timed by the database's clock, which a test cannot set."""
    lease = current_lease()
    lease.expires_at -= timedelta(seconds=seconds)
    db.session.commit()


def _seconds_left():
    return (current_lease().expires_at - datetime.now(UTC)).total_seconds()


def test_a_second_scheduler_is_refused_while_the_lease_runs_and_takes_it_once_expired(app):
    assert _claim("a")
    _let_pass(LEASE_SECONDS - 1)
    assert not _claim("b")
    assert current_lease().holder == "a"
    _let_pass(2)
    assert _claim("b")
    assert current_lease().holder == "b"
    assert LEASE_SECONDS - 5 < _seconds_left() <= LEASE_SECONDS  # a whole lease, from the moment taken
    assert not _claim("a")


def test_the_holder_renews_its_lease_before_it_runs_out(app):
    assert _claim("a")
    for _ in range(5):  # a heartbeat every third of the lease
        _let_pass(LEASE_SECONDS / 3)
        assert _claim("a")
        assert _seconds_left() > LEASE_SECONDS - 5  # renewed to a whole lease
        assert not _claim("b")
    assert current_lease().holder == "a"


def test_a_lease_given_up_is_taken_at_once(app):
    assert _claim("a")
    release_lease("b")  # not b's to give up
    db.session.commit()
    assert not _claim("b")
    release_lease("a")
    db.session.commit()
    assert _claim("b")


def test_a_sweep_works_only_in_the_scheduler_that_holds_the_lease(app, people, make_campaign, clock, caplog):
    campaign = make_campaign(starts=clock() - timedelta(days=1))
    assert _claim("other-machine:1:abc")
    standby = Leadership(app, "here:2:def", LEASE_SECONDS)
    sweep = GuardedJob("campaign-events", campaigns_sweep, standby, 20)
    caplog.set_level(logging.INFO, logger="thidua.scheduler")

    sweep()
    db.session.commit()
    assert db.session.get(Campaign, campaign.id).start_notified_at is None
    assert standby.leading is False
    assert "stands by: the lease is held by other-machine:1:abc" in caplog.text

    _let_pass(LEASE_SECONDS + 1)  # the other machine died: its lease ran out
    sweep()
    db.session.commit()
    assert db.session.get(Campaign, campaign.id).start_notified_at is not None
    assert (standby.leading, current_lease().holder) == (True, "here:2:def")
    assert "Scheduler here:2:def leads" in caplog.text
    assert "campaigns.tasks.run_campaign_events: announced=1, frozen=0" in caplog.text


def _finishes(job, timeout=30):
    """Whether the job returns within a timeout far beyond the wait it should have (one run of a sweep),
    so that a job that hangs fails the test instead of holding it."""
    runner = threading.Thread(target=job)
    runner.start()
    runner.join(timeout)
    return not runner.is_alive()


def _backend_alive(pid):
    alive = db.session.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})
    db.session.commit()  # pg_stat_activity is read once per transaction
    return bool(alive)


ON_POSTGRESQL = pytest.mark.skipif(
    DATABASE_URL.startswith("sqlite"), reason="PostgreSQL's row locks; SQLite's lock is the whole file's"
)


@ON_POSTGRESQL
def test_a_leader_that_dies_in_the_middle_of_a_transaction_holds_the_lease_no_longer_than_its_lease(
    app, people, make_campaign, clock, caplog
):
    """Its machine dead, a leader's connection stays open as far as the server knows, and its open
    transaction keeps the lease row locked: a standby's claim must not wait for it, and the server must
    end that transaction, so that the standby takes over once the lease has run out."""
    lease = 6
    campaign = make_campaign(starts=clock() - timedelta(days=1))
    dead = Leadership(app, "dead-machine:1:abc", lease)
    assert claim_lease(dead.holder, lease)  # it led a while; its last heartbeat dies half-way
    db.session.commit()
    claimed, gone = threading.Event(), threading.Event()
    backend = []

    def dies_after_claiming(at):
        backend.append(db.session.scalar(text("SELECT pg_backend_pid()")))
        claimed.set()
        gone.wait(timeout=120)  # its machine is gone: not a word more on its connection
        return {}

    dying = threading.Thread(target=GuardedJob("campaign-events", lambda: run_job(app, dies_after_claiming), dead, 1))
    dying.start()
    standby = Leadership(app, "here:2:def", lease)
    sweep = GuardedJob("campaign-events", campaigns_sweep, standby, 1)
    caplog.set_level(logging.INFO, logger="thidua.scheduler")
    stood_by_while_it_held_the_row = 0
    try:
        assert claimed.wait(timeout=30)
        deadline = time.monotonic() + 60
        while not standby.leading and time.monotonic() < deadline:
            assert _finishes(sweep)
            if not standby.leading and _backend_alive(backend[0]):
                stood_by_while_it_held_the_row += 1
            assert sweep.failures == 0  # standing by is not a failure
    finally:
        gone.set()
        dying.join(timeout=30)
    # Its claims stood by at once, rather than waiting for the dead transaction to end...
    assert stood_by_while_it_held_the_row > 0
    assert "stands by: the lease is held by dead-machine:1:abc" in caplog.text
    # ...which the server ended (a lease of idleness), so that it took over once the lease had run out.
    assert not _backend_alive(backend[0])
    assert standby.leading and current_lease().holder == "here:2:def"
    assert db.session.get(Campaign, campaign.id).start_notified_at is not None


@ON_POSTGRESQL
def test_a_leader_whose_own_sweep_holds_the_lease_row_still_leads(app, caplog):
    """The heartbeat's claim waits for the row's lock only briefly: when the lock is the leader's own
    sweep's, the heartbeat stands aside without the leader believing, or saying, it lost the lease."""
    leader = Leadership(app, "here:1:abc", LEASE_SECONDS)
    assert claim_lease(leader.holder, LEASE_SECONDS)
    db.session.commit()
    leader.led()
    working, finish = threading.Event(), threading.Event()

    def long_sweep(at):
        working.set()
        finish.wait(timeout=60)
        return {}

    sweep = threading.Thread(target=GuardedJob("campaign-events", lambda: run_job(app, long_sweep), leader, 1))
    heartbeat = GuardedJob("lease-heartbeat", lambda: run_job(app, lambda at: {}), leader, LEASE_SECONDS / 3)
    caplog.set_level(logging.INFO, logger="thidua.scheduler")
    sweep.start()
    try:
        assert working.wait(timeout=30)
        assert _finishes(heartbeat)
        assert (leader.leading, heartbeat.failures) == (True, 0)
    finally:
        finish.set()
        sweep.join(timeout=30)
    assert "lost the lease" not in caplog.text
    assert current_lease().holder == "here:1:abc"


@pytest.mark.parametrize("skew", [timedelta(hours=1), timedelta(hours=-1)], ids=["ahead", "behind"])
def test_a_scheduler_whose_clock_is_off_follows_the_database_clock(app, people, make_campaign, clock, skew):
    """Machines whose clocks disagree: one running ahead would take a live lease (two leaders), one
    running behind would never take an expired one (none). The lease is timed by the database."""
    clock.moment = datetime.now(UTC) + skew  # this scheduler's clock; the sweeps still work by it
    campaign = make_campaign(starts=clock() - timedelta(days=1))
    assert _claim("other-machine:1:abc")
    standby = Leadership(app, "here:2:def", LEASE_SECONDS)
    sweep = GuardedJob("campaign-events", campaigns_sweep, standby, 20)

    sweep()
    db.session.commit()
    assert (standby.leading, current_lease().holder) == (False, "other-machine:1:abc")
    assert db.session.get(Campaign, campaign.id).start_notified_at is None

    _let_pass(LEASE_SECONDS + 1)
    sweep()
    db.session.commit()
    assert (standby.leading, current_lease().holder) == (True, "here:2:def")
    assert db.session.get(Campaign, campaign.id).start_notified_at is not None
    assert live_holder() == "here:2:def"


def test_a_job_that_fails_is_logged_and_waits_longer_each_time(app, caplog):
    calls = []

    def locked():
        calls.append(time.monotonic())
        if len(calls) <= 2:
            raise OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))

    job = GuardedJob("campaign-events", locked, Leadership(app, "here:1:abc", LEASE_SECONDS), 1.0)
    job()  # raises nothing
    failed = "Job campaign-events failed (1 in a row), next try in 2 s: (sqlite3.OperationalError) database is locked"
    assert failed in caplog.text
    job()  # too early: skipped
    assert len(calls) == 1
    job.retry_at = 0
    job()
    assert "failed (2 in a row), next try in 4 s" in caplog.text
    job.retry_at = 0
    job()
    assert len(calls) == 3 and job.failures == 0
    assert "Job campaign-events works again (failed 2 in a row)" in caplog.text
    # Never longer than one lease, so a database back from the dead sees the scheduler working again soon.
    job.failures = 10
    job.retry_at = 0
    calls.clear()
    job()
    assert job.retry_at - time.monotonic() <= LEASE_SECONDS
    # Hours of an outage (a failure every few seconds) neither overflow the pause nor stop the job.
    job.failures = 2_000
    job.retry_at = 0
    job()
    assert 0 < job.retry_at - time.monotonic() <= LEASE_SECONDS
