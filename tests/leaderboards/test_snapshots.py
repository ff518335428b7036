"""Last night's ranks: written by the scheduler once per campaign and local day, right whenever they are
written, and what every board's movement is measured against."""

from datetime import UTC, date, datetime

from apscheduler.util import ref_to_obj
from sqlalchemy import func, select

from core.clock import LOCAL
from core.scheduler import JOBS
from leaderboards import tasks
from leaderboards.tasks import run_sweep
from models import BoardSnapshot, SnapshotRank, db
from tests.leaderboards.test_boards import _board, _give


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL).astimezone(UTC)


def _ranks() -> set[tuple]:
    columns = (SnapshotRank.level, SnapshotRank.metric, SnapshotRank.period, SnapshotRank.subject_id, SnapshotRank.rank)
    return set(db.session.execute(select(*columns)).all())


def test_the_scheduler_runs_the_snapshot_job():
    assert ref_to_obj(JOBS["board-snapshots"]) is tasks.sweep


def test_last_nights_ranks_are_written_once_a_day_and_only_todays_are_kept(app, make_campaign, quarters, clock):
    campaign = make_campaign()
    _give(campaign, quarters["QA"], 10, day=date(2026, 11, 4))
    clock.moment = _at(5, 0, 1)
    assert run_sweep(app) == {"snapshots": 1}
    assert run_sweep(app) == {"snapshots": 0}  # every sweep after it finds today's written
    clock.moment = _at(6, 0, 1)
    assert run_sweep(app) == {"snapshots": 1}
    days = db.session.execute(select(BoardSnapshot.day).distinct()).scalars().all()
    ranked_days = db.session.execute(select(SnapshotRank.day).distinct()).scalars().all()
    assert days == ranked_days == [date(2026, 11, 6)]


def test_ranks_written_late_are_those_of_the_end_of_yesterday(app, make_campaign, quarters, clock):
    campaign = make_campaign()
    _give(campaign, quarters["QA"], 10, outcome=5, day=date(2026, 11, 4))
    _give(campaign, quarters["QB"], 5, outcome=9, day=date(2026, 11, 3))
    clock.moment = _at(5, 0, 1)
    run_sweep(app)
    at_midnight = _ranks()
    assert ("quarter", "points", "all", quarters["QA"].id, 1) in at_midnight
    db.session.execute(SnapshotRank.__table__.delete())
    db.session.execute(BoardSnapshot.__table__.delete())
    db.session.commit()
    _give(campaign, quarters["QB"], 50, outcome=50, day=date(2026, 11, 5))  # today: not last night
    clock.moment = _at(5, 15)  # the scheduler was down until the afternoon
    assert run_sweep(app) == {"snapshots": 1}
    assert _ranks() == at_midnight


def test_movement_is_unknown_until_last_nights_ranks_are_written(app, client, make_campaign, quarters, clock):
    campaign = make_campaign()
    _give(campaign, quarters["QA"], 10, day=date(2026, 11, 4))
    _give(campaign, quarters["QB"], 20, day=date(2026, 11, 5))
    rows = {row["unit_code"]: (row["movement"], row["new"]) for row in _board(client, campaign)[1]}
    assert rows == {"QA": (None, False), "QB": (None, False), "QC": (None, False), "Q1": (None, False)}
    run_sweep(app)  # moves the scores version: the board cached a moment ago is read again
    rows = {row["unit_code"]: (row["movement"], row["new"]) for row in _board(client, campaign)[1]}
    assert rows == {"QA": (-1, False), "QB": (None, True), "QC": (None, False), "Q1": (None, False)}


def test_a_campaign_that_ended_long_ago_is_left_alone(app, make_campaign, quarters, clock):
    make_campaign(days=1)  # ended on 3 November
    clock.moment = _at(5, 0, 1)
    assert run_sweep(app) == {"snapshots": 0}
    assert db.session.scalar(select(func.count()).select_from(BoardSnapshot)) == 0
