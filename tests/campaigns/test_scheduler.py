import logging
import sqlite3
import threading
import time
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from campaigns.tasks import run_campaign_events, run_sweep
from campaigns.tasks import sweep as campaigns_sweep
from core.scheduler import GuardedJob, Leadership, claim_lease, current_lease, release_lease
from models import Campaign, CampaignResult, Notification, SchedulerLease, db
from tests.campaigns.test_logging import log
from tests.conftest import START, activity, login, make_test_app


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


def _claim(holder, at):
    claimed = claim_lease(holder, at, LEASE_SECONDS)
    db.session.commit()
    return claimed


def test_a_second_scheduler_is_refused_while_the_lease_runs_and_takes_it_once_expired(app):
    assert _claim("a", START)
    assert not _claim("b", START + timedelta(seconds=LEASE_SECONDS - 1))
    assert current_lease().holder == "a"
    assert _claim("b", START + timedelta(seconds=LEASE_SECONDS + 1))
    assert (current_lease().holder, current_lease().expires_at) == (
        "b",
        START + timedelta(seconds=2 * LEASE_SECONDS + 1),
    )
    assert not _claim("a", START + timedelta(seconds=LEASE_SECONDS + 2))


def test_the_holder_renews_its_lease_before_it_runs_out(app):
    assert _claim("a", START)
    for seconds in (10, 20, 30, 40, 50):  # a heartbeat every third of the lease
        assert _claim("a", START + timedelta(seconds=seconds))
        assert not _claim("b", START + timedelta(seconds=seconds + 1))
    assert current_lease().expires_at == START + timedelta(seconds=50 + LEASE_SECONDS)


def test_a_lease_given_up_is_taken_at_once(app):
    assert _claim("a", START)
    release_lease("b", START + timedelta(seconds=1))  # not b's to give up
    assert not _claim("b", START + timedelta(seconds=2))
    release_lease("a", START + timedelta(seconds=3))
    db.session.commit()
    assert _claim("b", START + timedelta(seconds=4))


def test_a_sweep_works_only_in_the_scheduler_that_holds_the_lease(app, people, make_campaign, clock, caplog):
    campaign = make_campaign(starts=clock() - timedelta(days=1))
    assert _claim("other-machine:1:abc", clock())
    standby = Leadership(app, "here:2:def", LEASE_SECONDS)
    sweep = GuardedJob("campaign-events", campaigns_sweep, standby, 20)
    caplog.set_level(logging.INFO, logger="thidua.scheduler")

    sweep()
    db.session.commit()
    assert db.session.get(Campaign, campaign.id).start_notified_at is None
    assert standby.leading is False
    assert "stands by: the lease is held by other-machine:1:abc" in caplog.text

    clock.advance(seconds=LEASE_SECONDS + 1)  # the other machine died: its lease ran out
    sweep()
    db.session.commit()
    assert db.session.get(Campaign, campaign.id).start_notified_at is not None
    assert (standby.leading, current_lease().holder) == (True, "here:2:def")
    assert "Scheduler here:2:def leads" in caplog.text
    assert "campaigns.tasks.run_campaign_events: announced=1, frozen=0" in caplog.text


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
