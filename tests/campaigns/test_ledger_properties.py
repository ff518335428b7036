"""For any sequence of log, approve, reject and correct, the aggregates equal a recomputation from the
ledger, caps hold, each beneficiary counts once, and every board (each level, metric and period, the
whole campaign or within a quarter, top few or all) equals the board ranked naively from the ledger."""

import secrets
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from campaigns.services import LogRequest, approve, correct, log_contributions, reject
from core.clock import LOCAL, iso_week_start
from domain.refusals import Refused
from leaderboards.services import LEVEL_KINDS, METRICS, PERIODS, board, public_name
from leaderboards.tasks import snapshot_boards
from models import BoardSnapshot, Contribution, LedgerEntry, SnapshotRank, Unit, User, db
from models.scoring import AGGREGATES
from scoring import decode_units, verify
from tests.conftest import activity

# Monday 2 (the campaign's first day) to Tuesday 10 November: two ISO weeks.
DAYS = [date(2026, 11, day) for day in (2, 5, 8, 9, 10)]
TODAYS = [date(2026, 11, 9), date(2026, 11, 10)]  # a Monday (this week is today) and a Tuesday
PHONES = [f"09123456{n:02d}" for n in range(6)]
MEMBERS = 6

operations = st.lists(
    st.one_of(
        st.tuples(st.just("log_count"), st.integers(0, MEMBERS - 1), st.integers(0, 4), st.integers(1, 30)),
        st.tuples(st.just("log_person"), st.integers(0, MEMBERS - 1), st.integers(0, 4), st.integers(0, 5)),
        st.tuples(st.just("approve"), st.integers(0, 30)),
        st.tuples(st.just("reject"), st.integers(0, 30)),
        st.tuples(st.just("correct"), st.integers(0, 30), st.integers(1, 40)),
    ),
    min_size=3,
    max_size=30,
)


def _clear():
    for model in (*AGGREGATES, LedgerEntry, Contribution, SnapshotRank, BoardSnapshot):
        db.session.execute(delete(model))
    db.session.commit()


@pytest.fixture
def campaign(make_campaign):
    return make_campaign(template="vneid")


@pytest.fixture
def members(people, tree, make_unit, make_user):
    """Members of W1 in quarters and teams of every kind of size: none, small, large, two teams of a
    quarter (the board within it), so that per-capita and target boards have ties and units without."""
    qa = make_unit("QA", "quarter", tree["W1"], adult_population=600)
    qb = make_unit("QB", "quarter", tree["W1"], adult_population=1800)
    qc = make_unit("QC", "quarter", tree["W1"])
    ta, ta2 = make_unit("TA", "team", qa, member_count=3), make_unit("TA2", "team", qa)
    tb = make_unit("TB", "team", qb, member_count=21)
    make_unit("QD", "quarter", tree["W1"], adult_population=900)  # never scores: padded in at zero
    return [
        people["member"],
        people["teamlead"],
        make_user("a1", "member", qa, team=ta),
        make_user("a2", "member", qa, team=ta2, youth_union=tree["Y1"]),
        make_user("b1", "member", qb, team=tb),
        make_user("c1", "member", qc),
    ]


def _periods(day: date, today: date) -> dict[str, bool]:
    """Which of the boards' periods a ledger row of `day` counts in, now and at the end of yesterday."""
    week = iso_week_start(today)
    return {
        "all": True,
        "today": day == today,
        "week": day >= week,
        "all-before": day < today,
        "today-before": day == today - timedelta(days=1),
        "week-before": week <= day < today,
    }


def _naive_sums(campaign, headline, today):
    """Points per (period, unit), per (period, member) and headline outcomes per (period, unit), summed
    from every ledger row."""
    points, member_points, outcomes = defaultdict(int), defaultdict(int), defaultdict(int)
    for entry in db.session.scalars(select(LedgerEntry).where(LedgerEntry.campaign_id == campaign.id)):
        for period, counts in _periods(entry.day, today).items():
            if not counts:
                continue
            for unit_id in decode_units(entry.credited_units):
                points[period, unit_id] += entry.points
            if entry.member_id is not None:
                member_points[period, entry.member_id] += entry.points
            if entry.activity_type_id == headline.id:
                for unit_id in decode_units(entry.outcome_units):
                    outcomes[period, unit_id] += entry.outcome
    return points, member_points, outcomes


def _goal(unit, headline):
    if headline.target_kind == "absolute":
        return Fraction(headline.target_value)
    return Fraction(unit.adult_population * headline.target_value, 100) if unit.adult_population else None


def _unit_value(unit, level, metric, points, outcomes, headline):
    """The exact value the board ranks a unit by, and how many adults or members it is per."""
    if metric == "points":
        return Fraction(points)
    if metric == "per_capita":
        per = unit.adult_population if level in ("ward", "quarter") else unit.member_count
        return Fraction(points * (1000 if level in ("ward", "quarter") else 1), per) if per else None
    goal = _goal(unit, headline)
    return 100 * outcomes / goal if goal is not None else None


def _ranked(values: dict) -> dict:
    """Competition ranks by value, best first, ties by id; None after everything."""
    order = sorted(values, key=lambda key: (values[key] is None, -(values[key] or 0), key))
    ranks = {}
    for position, key in enumerate(order):
        ahead = order[position - 1] if position else None
        ranks[key] = ranks[ahead] if ahead is not None and values[ahead] == values[key] else position + 1
    return ranks


def _naive_unit_board(campaign, level, metric, period, scope, sums, snapshot_taken):
    points, _members, outcomes = sums
    headline = campaign.headline_activity
    units = db.session.scalars(
        select(Unit).where(Unit.kind.in_(LEVEL_KINDS[level]), Unit.path.like(f"{scope.path}%"))
    ).all()
    now, before = {}, {}
    for unit in units:
        now[unit.id] = _unit_value(unit, level, metric, points[period, unit.id], outcomes[period, unit.id], headline)
        then = f"{period}-before"
        before[unit.id] = _unit_value(unit, level, metric, points[then, unit.id], outcomes[then, unit.id], headline)
    ranks = _ranked(now)
    standing = {unit_id: value for unit_id, value in before.items() if value is not None and value > 0}
    old_ranks = _ranked(standing) if snapshot_taken else {}
    rows = []
    for unit in sorted(units, key=lambda unit: (ranks[unit.id], unit.id)):
        goal, value, old = _goal(unit, headline), now[unit.id], old_ranks.get(unit.id)
        rows.append(
            {
                "rank": ranks[unit.id],
                "unit_code": unit.code,
                "value": None if value is None else round(float(value), 2),
                "points": points[period, unit.id],
                "target_pct": None if goal is None else round(float(100 * outcomes["all", unit.id] / goal), 1),
                "movement": None if old is None else old - ranks[unit.id],
                "new": snapshot_taken and old is None and value is not None and value > 0,
            }
        )
    return rows


def _naive_member_board(campaign, period, scope, sums, snapshot_taken):
    _points, member_points, _outcomes = sums
    users = db.session.scalars(
        select(User).join(Unit, Unit.id == User.home_unit_id).where(Unit.path.like(f"{scope.path}%"))
    )
    in_scope = {user.id: user for user in users}
    now = {member: member_points[period, member] for member in in_scope if member_points[period, member]}
    before = {member: points for member in in_scope if (points := member_points[f"{period}-before", member]) > 0}
    ranks, old_ranks = _ranked(now), _ranked(before) if snapshot_taken else {}
    return [
        {
            "rank": ranks[member],
            "member_id": member,
            "name": public_name(in_scope[member]),
            "value": now[member],
            "movement": old_ranks[member] - ranks[member] if member in old_ranks else None,
            "new": snapshot_taken and member not in old_ranks,
        }
        for member in sorted(now, key=lambda member: (ranks[member], member))
    ]


def _shown(rows, fields):
    return [{field: getattr(row, field) for field in fields} for row in rows]


def _check_boards(campaign, today, within, limit, snapshot_taken):
    sums = _naive_sums(campaign, campaign.headline_activity, today)
    scope = within or campaign.scope_unit
    for period in PERIODS:
        for level in LEVEL_KINDS:
            for metric in METRICS:
                expected = _naive_unit_board(campaign, level, metric, period, scope, sums, snapshot_taken)[:limit]
                rows = board(campaign, level, metric, period, within, limit, today)
                assert _shown(rows, expected[0] if expected else {}) == expected, (level, metric, period)
        expected = _naive_member_board(campaign, period, scope, sums, snapshot_taken)[:limit]
        rows = board(campaign, "member", "points", period, within, limit, today)
        assert _shown(rows, expected[0] if expected else {}) == expected, period


# Fixtures are made once per test, not per example: each example starts by clearing the rows.
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=operations,
    today=st.sampled_from(TODAYS),
    within=st.sampled_from([None, "W1", "QA"]),  # the whole campaign (twice over), or one quarter's board
    limit=st.sampled_from([1, 3, 500]),  # the top, a few (scorers and units at zero), everyone
)
@example(  # a correction past the cap
    steps=[("log_count", 0, 0, 1), ("approve", 0), ("correct", 0, 21)], today=TODAYS[1], within=None, limit=3
)
def test_aggregates_and_boards_always_match_the_ledger(people, members, campaign, clock, steps, today, within, limit):
    _clear()
    clock.moment = datetime.combine(today, datetime.min.time(), LOCAL).replace(hour=10).astimezone(UTC)
    counted = activity(campaign, "hồ sơ")  # cap 20 a day, needs verification
    person = activity(campaign, "VNeID")  # once per beneficiary, target, cap 30 a day
    leader = people["leader1"]
    days = [day for day in DAYS if day <= today]
    for step in steps:
        kind, *args = step
        contributions = db.session.scalars(select(Contribution).order_by(Contribution.id)).all()
        try:
            if kind == "log_count":
                request = LogRequest(
                    counted.id, args[2], days[args[1] % len(days)], idempotency_key=secrets.token_hex(16)
                )
                log_contributions(members[args[0]], campaign, request, clock())
            elif kind == "log_person":
                request = LogRequest(
                    person.id,
                    None,
                    days[args[1] % len(days)],
                    beneficiaries=PHONES[args[2]],
                    consent=True,
                    idempotency_key=secrets.token_hex(16),
                )
                log_contributions(members[args[0]], campaign, request, clock())
            elif contributions:
                target = contributions[args[0] % len(contributions)]
                if kind == "approve":
                    approve(leader, target, clock())
                elif kind == "reject":
                    reject(leader, target, "không đúng", clock())
                else:
                    correct(leader, target, args[1], "đếm lại", clock())
            db.session.commit()
        except Refused:
            db.session.rollback()

    assert verify() == []
    live = db.session.scalars(select(Contribution).where(Contribution.status != "rejected")).all()
    per_day = Counter()
    for item in live:
        if item.activity_type_id == counted.id:
            per_day[(item.member_id, item.occurred_on)] += item.quantity
    assert all(total <= counted.cap_per_member for total in per_day.values())
    hashes = [item.beneficiary_hash for item in live if item.activity_type_id == person.id]
    assert len(hashes) == len(set(hashes))
    within = db.session.scalar(select(Unit).where(Unit.code == within)) if within else None
    _check_boards(campaign, today, within, limit, snapshot_taken=False)  # the scheduler has not run today
    assert snapshot_boards(clock()) == {"snapshots": 1}
    db.session.commit()
    _check_boards(campaign, today, within, limit, snapshot_taken=True)
