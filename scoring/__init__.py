"""The score ledger: the one door through which any feature awards or reverses points.

Every point is a ledger row pointing at its cause. The aggregates that leaderboards read are
updated in the same transaction with atomic upserts (`points = points + excluded.points`), never
read-modify-write in Python. `verify` recomputes them from the ledger; `rebuild` replaces them.
Each write also bumps the campaign's version row, which boards and screens key their caches on.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, insert, select, true, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from models import (
    Campaign,
    LedgerEntry,
    MemberDayScore,
    MemberScore,
    Model,
    OutcomeCount,
    OutcomeDayCount,
    ScoreVersion,
    UnitDayScore,
    UnitScore,
    User,
    db,
)
from models.scoring import AGGREGATES

# An aggregate table's model, and the key of one of its rows (ids, and a day for daily tables).
Aggregate = type[Model]
Key = tuple[int | date, ...]
# LedgerEntry columns by name: a dict to insert, or a result row's mapping (keyed by columns too).
LedgerRow = Mapping[Any, Any]

KEYS: dict[Aggregate, tuple[str, ...]] = {
    UnitScore: ("campaign_id", "unit_id"),
    UnitDayScore: ("campaign_id", "unit_id", "day"),
    MemberScore: ("campaign_id", "member_id"),
    MemberDayScore: ("campaign_id", "member_id", "day"),
    OutcomeCount: ("activity_type_id", "unit_id"),
    OutcomeDayCount: ("activity_type_id", "unit_id", "day"),
}


@dataclass
class Award:
    """What one ledger row says: who caused how many points, on which day, for whom."""

    campaign_id: int
    cause_type: str
    cause_id: int
    points: int
    day: date
    unit_ids: Iterable[int]
    member_id: int | None = None
    activity_type_id: int | None = None
    outcome: int = 0
    outcome_unit_ids: Iterable[int] = field(default_factory=tuple)


def encode_units(unit_ids: Iterable[int]) -> str:
    ids = sorted(set(unit_ids))
    return f"/{'/'.join(map(str, ids))}/" if ids else ""


def decode_units(encoded: str) -> list[int]:
    return [int(part) for part in encoded.strip("/").split("/") if part]


def credited_unit_ids(member: User) -> list[int]:
    """Each unit at most once: the ancestor chains of home quarter, team and youth union, merged."""
    ids: set[int] = set()
    for unit in (member.home_unit, member.team, member.youth_union):
        if unit is not None:
            ids.update(unit.ancestor_ids)
    return sorted(ids)


def _deltas(rows: Iterable[LedgerRow]) -> dict[Aggregate, defaultdict[Key, int]]:
    """Aggregate changes implied by ledger rows, given as mappings of LedgerEntry columns."""
    deltas: dict[Aggregate, defaultdict[Key, int]] = {model: defaultdict(int) for model in AGGREGATES}
    for row in rows:
        campaign_id, member_id, points, day = row["campaign_id"], row["member_id"], row["points"], row["day"]
        if points:
            for unit_id in decode_units(row["credited_units"]):
                deltas[UnitScore][(campaign_id, unit_id)] += points
                deltas[UnitDayScore][(campaign_id, unit_id, day)] += points
            if member_id is not None:
                deltas[MemberScore][(campaign_id, member_id)] += points
                deltas[MemberDayScore][(campaign_id, member_id, day)] += points
        if row["outcome"] and row["activity_type_id"] is not None:
            for unit_id in decode_units(row["outcome_units"]):
                deltas[OutcomeCount][(row["activity_type_id"], unit_id)] += row["outcome"]
                deltas[OutcomeDayCount][(row["activity_type_id"], unit_id, day)] += row["outcome"]
    return deltas


def _value_column(model: Aggregate) -> str:
    return "count" if model in (OutcomeCount, OutcomeDayCount) else "points"


def _apply(deltas: Mapping[Aggregate, Mapping[Key, int]]) -> None:
    dialect_insert = sqlite_insert if db.session.get_bind().dialect.name == "sqlite" else postgresql_insert
    for model, changes in deltas.items():
        if not changes:
            continue
        keys, column = KEYS[model], _value_column(model)
        # Each aggregate model maps one Table; SQLAlchemy types __table__ as any FROM clause.
        table = cast(Table, model.__table__)
        statement = dialect_insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=list(keys), set_={column: table.c[column] + statement.excluded[column]}
        )
        # Sorted keys: concurrent writers lock aggregate rows in one order and cannot deadlock.
        rows = [dict(zip(keys, key, strict=True)) | {column: value} for key, value in sorted(changes.items())]
        db.session.execute(statement, rows)


def _write(rows: list[dict[str, Any]]) -> None:
    db.session.execute(insert(LedgerEntry), rows)
    _apply(_deltas(rows))
    bump_versions({row["campaign_id"] for row in rows})


def award_many(awards: list[Award]) -> None:
    """Write ledger rows and move every aggregate they touch, in the caller's transaction.

    One bulk insert and one upsert per aggregate table, however many rows: the same door serves a
    single approval and a seed of a million contributions.
    """
    _write(
        [
            {
                "campaign_id": item.campaign_id,
                "cause_type": item.cause_type,
                "cause_id": item.cause_id,
                "member_id": item.member_id,
                "points": item.points,
                "day": item.day,
                "credited_units": encode_units(item.unit_ids),
                "activity_type_id": item.activity_type_id,
                "outcome": item.outcome,
                "outcome_units": encode_units(item.outcome_unit_ids) if item.outcome else "",
                "reverses_id": None,
            }
            for item in awards
        ]
    )


def award(item: Award) -> None:
    """Write one ledger row and its aggregate changes."""
    award_many([item])


def reverse(entry: LedgerEntry) -> None:
    """Cancel a row with its mirror image, counted on the day of the row it reverses."""
    _write(
        [
            {
                "campaign_id": entry.campaign_id,
                "cause_type": entry.cause_type,
                "cause_id": entry.cause_id,
                "member_id": entry.member_id,
                "points": -entry.points,
                "day": entry.day,
                "credited_units": entry.credited_units,
                "activity_type_id": entry.activity_type_id,
                "outcome": -entry.outcome,
                "outcome_units": entry.outcome_units,
                "reverses_id": entry.id,
            }
        ]
    )


def live_entries(cause_id: int, cause_types: tuple[str, ...]) -> Sequence[LedgerEntry]:
    """Rows of a cause that still count: neither reversals nor reversed."""
    mirror = aliased(LedgerEntry)
    return db.session.scalars(
        select(LedgerEntry)
        .where(
            LedgerEntry.cause_id == cause_id,
            LedgerEntry.cause_type.in_(cause_types),
            LedgerEntry.reverses_id.is_(None),
            ~select(mirror.id).where(mirror.reverses_id == LedgerEntry.id).exists(),
        )
        .order_by(LedgerEntry.id)
    ).all()


def reverse_cause(cause_id: int, cause_types: tuple[str, ...]) -> None:
    """Cancel everything a cause still counts for."""
    for entry in live_entries(cause_id, cause_types):
        reverse(entry)


def _expected() -> dict[Aggregate, dict[Key, int]]:
    rows = db.session.execute(
        select(
            LedgerEntry.campaign_id,
            LedgerEntry.member_id,
            LedgerEntry.points,
            LedgerEntry.day,
            LedgerEntry.credited_units,
            LedgerEntry.activity_type_id,
            LedgerEntry.outcome,
            LedgerEntry.outcome_units,
        ).execution_options(yield_per=20_000)
    )
    deltas = _deltas(row._mapping for row in rows)
    return {model: {key: value for key, value in changes.items() if value} for model, changes in deltas.items()}


def _stored(model: Aggregate) -> dict[Key, int]:
    keys, column = KEYS[model], _value_column(model)
    table = model.__table__
    query = select(*(table.c[key] for key in keys), table.c[column]).execution_options(yield_per=20_000)
    return {tuple(row[:-1]): row[-1] for row in db.session.execute(query) if row[-1]}


def verify() -> list[str]:
    """Every difference between the aggregates and a recomputation from the ledger."""
    mismatches = []
    for model, expected in _expected().items():
        stored = _stored(model)
        for key in sorted(set(expected) | set(stored), key=str):
            if expected.get(key, 0) != stored.get(key, 0):
                mismatches.append(
                    f"{model.__tablename__} {dict(zip(KEYS[model], key, strict=True))}: "
                    f"stored {stored.get(key, 0)}, ledger says {expected.get(key, 0)}"
                )
    return mismatches


def rebuild() -> None:
    """Replace every aggregate with its recomputation from the ledger."""
    expected = _expected()
    for model in AGGREGATES:
        db.session.execute(delete(model))
    _apply(expected)
    _bump(true())  # repaired aggregates change boards without a ledger row


def competition_ranks(values: Sequence[object]) -> list[int]:
    """Ranks for values already sorted best first; equal values share a rank (1, 2, 2, 4)."""
    ranks: list[int] = []
    for position, value in enumerate(values):
        ranks.append(ranks[-1] if position and value == values[position - 1] else position + 1)
    return ranks


def _bump(campaigns: ColumnElement[bool]) -> None:
    # `version + 1` in SQL: concurrent writers each add one. The row lock lasts until commit, so a
    # campaign's writers commit in the order they bumped and every commit leaves a new version; the
    # highest ledger id did not: a lower id committed after a higher one went unseen.
    statement = update(ScoreVersion).where(campaigns).values(version=ScoreVersion.version + 1)
    db.session.execute(statement.execution_options(synchronize_session=False))


def bump_versions(campaign_ids: Iterable[int]) -> None:
    """Move the version of these campaigns, in the caller's transaction: their boards are read afresh."""
    _bump(ScoreVersion.campaign_id.in_(sorted(set(campaign_ids))))


def bump_versions_scoped_at(unit_ids: Iterable[int]) -> None:
    """Move the version of every campaign scoped at one of these units. Given a changed unit's ancestor
    ids (itself included), that is every campaign whose boards may show its population, name or place."""
    scopes = select(Campaign.id).where(Campaign.scope_unit_id.in_(sorted(set(unit_ids))))
    _bump(ScoreVersion.campaign_id.in_(scopes))


def scores_version(campaign_id: int) -> int:
    """What a campaign's boards are keyed on: one primary-key lookup, the same answer in every worker."""
    # Every campaign has its row (create_campaign, or the migration for older ones): none is a bug.
    return db.session.execute(select(ScoreVersion.version).where(ScoreVersion.campaign_id == campaign_id)).scalar_one()
