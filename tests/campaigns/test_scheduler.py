import threading
import time
from datetime import timedelta

from sqlalchemy import func, select

from campaigns.tasks import run_campaign_events, run_sweep
from core.scheduler import build_scheduler, take_scheduler_lock
from models import Campaign, CampaignResult, Notification, db
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
    apps = [make_test_app(SCHEDULER_INTERVAL_SECONDS=3600) for _ in range(2)]
    schedulers = [build_scheduler(scheduler_app) for scheduler_app in apps]
    for scheduler in schedulers:
        scheduler.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not _count(CampaignResult):
        time.sleep(0.2)
        db.session.commit()
    time.sleep(1)
    for scheduler in schedulers:
        store = scheduler._jobstores["default"]
        scheduler.shutdown()
        # APScheduler disposes the job store before its loop thread stops; that thread may check a
        # connection back in afterwards, so dispose again once it has.
        store.engine.dispose()
    for scheduler_app in apps:
        with scheduler_app.app_context():
            db.engine.dispose()
    db.session.commit()
    assert _count(CampaignResult) == 1


def test_only_one_scheduler_process_takes_the_lock(app, runner):
    held = take_scheduler_lock(app)
    try:
        assert held is not None
        assert take_scheduler_lock(app) is None
        result = runner.invoke(args=["scheduler"])
        assert result.exit_code != 0 and "Another scheduler is already running" in result.output
    finally:
        held.close()
