"""For any sequence of log, approve, reject and correct, the aggregates equal a recomputation
from the ledger, caps hold and each beneficiary counts once."""

import secrets
from collections import Counter
from datetime import date

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from campaigns.services import LogRequest, approve, correct, log_contributions, reject
from domain.refusals import Refused
from models import Contribution, LedgerEntry, db
from models.scoring import AGGREGATES
from scoring import verify
from tests.conftest import activity

DAYS = [date(2026, 11, day) for day in (2, 3, 4, 5)]
PHONES = [f"09123456{n:02d}" for n in range(6)]

operations = st.lists(
    st.one_of(
        st.tuples(st.just("log_count"), st.integers(0, 1), st.integers(0, 3), st.integers(1, 30)),
        st.tuples(st.just("log_person"), st.integers(0, 1), st.integers(0, 3), st.integers(0, 5)),
        st.tuples(st.just("approve"), st.integers(0, 30)),
        st.tuples(st.just("reject"), st.integers(0, 30)),
        st.tuples(st.just("correct"), st.integers(0, 30), st.integers(1, 40)),
    ),
    min_size=3,
    max_size=30,
)


def _clear():
    for model in (*AGGREGATES, LedgerEntry, Contribution):
        db.session.execute(delete(model))
    db.session.commit()


@pytest.fixture
def campaign(make_campaign):
    return make_campaign(template="vneid")


# Fixtures are made once per test, not per example: each example starts by clearing the rows.
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations)
@example(steps=[("log_count", 0, 0, 1), ("approve", 0), ("correct", 0, 21)])  # a correction past the cap
def test_aggregates_always_match_the_ledger(people, campaign, clock, steps):
    _clear()
    counted = activity(campaign, "hồ sơ")  # cap 20 a day, needs verification
    person = activity(campaign, "VNeID")  # once per beneficiary, target, cap 30 a day
    members = [people["member"], people["teamlead"]]
    leader = people["leader1"]
    for step in steps:
        kind, *args = step
        contributions = db.session.scalars(select(Contribution).order_by(Contribution.id)).all()
        try:
            if kind == "log_count":
                request = LogRequest(counted.id, args[2], DAYS[args[1]], idempotency_key=secrets.token_hex(16))
                log_contributions(members[args[0]], campaign, request, clock())
            elif kind == "log_person":
                request = LogRequest(
                    person.id,
                    None,
                    DAYS[args[1]],
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
