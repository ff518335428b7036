"""The score ledger: the one door through which any feature awards or reverses points.

Every point is a ledger row pointing at its cause. The aggregates that leaderboards read are
updated in the same transaction with atomic upserts (`points = points + excluded.points`), never
read-modify-write in Python. The rows of units also carry what boards rank them by, copied from the
unit as it is (`unit_facts`) and copied again when it changes (`restate_units`). `verify` recomputes
all of it from the ledger and the units; `rebuild` replaces it. Each write also bumps the campaign's
version row, which boards and screens key their caches on.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Double,
    Table,
    bindparam,
    case,
    delete,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from domain.days import iso_week_start
from models import (
    Campaign,
    LedgerEntry,
    MemberDayScore,
    MemberScore,
    Model,
    OutcomeCount,
    OutcomeDayCount,
    ScoreVersion,
    Unit,
    UnitDayScore,
    UnitScore,
    User,
    db,
)
from models.scoring import AGGREGATES, OUTCOME_AGGREGATES, UNIT_AGGREGATES
from models.units import POPULATION_KINDS

# An aggregate table's model, and the key of one of its rows (ids, and a span and day for periods).
Aggregate = type[Model]
Key = tuple[int | str | date, ...]
# LedgerEntry columns by name: a dict to insert, or a result row's mapping (keyed by columns too).
LedgerRow = Mapping[Any, Any]

KEYS: dict[Aggregate, tuple[str, ...]] = {
    UnitScore: ("campaign_id", "unit_id"),
    UnitDayScore: ("campaign_id", "unit_id", "span", "day"),
    MemberScore: ("campaign_id", "member_id"),
    MemberDayScore: ("campaign_id", "member_id", "span", "day"),
    OutcomeCount: ("activity_type_id", "unit_id"),
    OutcomeDayCount: ("activity_type_id", "unit_id", "span", "day"),
}

# The board level of each unit kind; kinds missing here (province, agency) are on no board.
LEVEL_OF_KIND = {"ward": "ward", "commune": "ward", "quarter": "quarter", "youth_union": "youth_union", "team": "team"}
ADULT_LEVELS = ("ward", "quarter")  # ranked per capita by their adults, the others by their members


def level_sql() -> ColumnElement[str | None]:
    """A unit's board level, computed by the database from its kind."""
    return case(*((Unit.kind == kind, literal(level)) for kind, level in LEVEL_OF_KIND.items()), else_=None)


def _kinds_of(levels: Iterable[str]) -> list[str]:
    return [kind for kind, level in LEVEL_OF_KIND.items() if level in levels]


def capita_sql() -> ColumnElement[int | None]:
    """The head count a unit's points per capita divide by: the adults of a ward or quarter, the members
    of a team or youth union; None (no value on the per-capita board) when unknown or zero."""
    return case(
        (Unit.kind.in_(_kinds_of(ADULT_LEVELS)) & (Unit.adult_population > 0), Unit.adult_population),
        (Unit.kind.in_(_kinds_of(("team", "youth_union"))) & (Unit.member_count > 0), Unit.member_count),
        else_=None,
    )


def adults_sql() -> ColumnElement[int | None]:
    """The adults a share target is a percentage of; None when unknown or zero, and for the kinds that
    have no population (teams, youth unions), whose share-target boards hold no value at all."""
    return case((Unit.kind.in_(POPULATION_KINDS) & (Unit.adult_population > 0), Unit.adult_population), else_=None)


def ratio(numerator: int, denominator: int | None) -> float | None:
    """What a board orders by: one correctly rounded division of integers (see ratio_sql)."""
    return numerator / denominator if denominator else None


def ratio_sql(numerator: ColumnElement[Any], denominator: ColumnElement[Any]) -> ColumnElement[float | None]:
    """`ratio` in SQL, to the same bit: both databases divide IEEE doubles, which rounds correctly, and
    an integer below 2^53 converts exactly. So equal fractions give equal values and a larger fraction
    never a smaller one; only fractions closer than one part in 10^15 could share a value."""
    quotient = numerator.cast(Double) / denominator.cast(Double)
    return case((denominator.isnot(None), quotient), else_=None)


# The ranked aggregates: the column a ranking divides by and the ordering value it gives, per model.
RANKINGS: dict[Aggregate, tuple[str, str]] = {
    **{model: ("capita", "per_capita") for model in UNIT_AGGREGATES},
    **{model: ("adults", "per_adult") for model in OUTCOME_AGGREGATES},
}
Facts = dict[str, Any]  # a unit's level, capita and adults


def unit_facts(unit_ids: Iterable[int]) -> dict[int, Facts]:
    """What the ranked aggregates copy from each unit: one query."""
    ids = sorted(set(unit_ids))
    if not ids:
        return {}
    rows = db.session.execute(select(Unit.id, level_sql(), capita_sql(), adults_sql()).where(Unit.id.in_(ids))).all()
    return {unit_id: {"level": level, "capita": capita, "adults": adults} for unit_id, level, capita, adults in rows}


def _ranked_columns(model: Aggregate, value: int, facts: Facts) -> dict[str, Any]:
    """The level, divisor and ordering value a ranked aggregate row holds for this value."""
    divisor, ordering = RANKINGS[model]
    return {"level": facts.get("level"), divisor: facts.get(divisor), ordering: ratio(value, facts.get(divisor))}


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
    """Aggregate changes implied by ledger rows, given as mappings of LedgerEntry columns: for the whole
    campaign, for the row's local day and for that day's ISO week (keyed by its Monday)."""
    deltas: dict[Aggregate, defaultdict[Key, int]] = {model: defaultdict(int) for model in AGGREGATES}
    for row in rows:
        campaign_id, member_id, points, day = row["campaign_id"], row["member_id"], row["points"], row["day"]
        spans = (("day", day), ("week", iso_week_start(day)))
        if points:
            for unit_id in decode_units(row["credited_units"]):
                deltas[UnitScore][(campaign_id, unit_id)] += points
                for span, first in spans:
                    deltas[UnitDayScore][(campaign_id, unit_id, span, first)] += points
            if member_id is not None:
                deltas[MemberScore][(campaign_id, member_id)] += points
                for span, first in spans:
                    deltas[MemberDayScore][(campaign_id, member_id, span, first)] += points
        activity_id, outcome = row["activity_type_id"], row["outcome"]
        if outcome and activity_id is not None:
            for unit_id in decode_units(row["outcome_units"]):
                deltas[OutcomeCount][(activity_id, unit_id)] += outcome
                for span, first in spans:
                    deltas[OutcomeDayCount][(activity_id, unit_id, span, first)] += outcome
    return deltas


def _value_column(model: Aggregate) -> str:
    return "count" if model in OUTCOME_AGGREGATES else "points"


def _unit_ids(deltas: Mapping[Aggregate, Mapping[Key, int]]) -> set[int]:
    return {cast(int, key[1]) for model in RANKINGS for key in deltas.get(model, {})}


def _apply(deltas: Mapping[Aggregate, Mapping[Key, int]]) -> None:
    dialect_insert = sqlite_insert if db.session.get_bind().dialect.name == "sqlite" else postgresql_insert
    facts = unit_facts(_unit_ids(deltas))
    for model, changes in deltas.items():
        if not changes:
            continue
        keys, column = KEYS[model], _value_column(model)
        # Each aggregate model maps one Table; SQLAlchemy types __table__ as any FROM clause.
        table = cast(Table, model.__table__)
        statement = dialect_insert(table)
        total = table.c[column] + statement.excluded[column]
        changed: dict[str, Any] = {column: total}
        if model in RANKINGS:  # the unit's facts as they are now, and the ordering value of the new total
            divisor, ordering = RANKINGS[model]
            changed |= {
                "level": statement.excluded.level,
                divisor: statement.excluded[divisor],
                ordering: ratio_sql(total, statement.excluded[divisor]),
            }
        statement = statement.on_conflict_do_update(index_elements=list(keys), set_=changed)
        # Sorted keys: concurrent writers lock aggregate rows in one order and cannot deadlock.
        rows = []
        for key, value in sorted(changes.items()):
            row = dict(zip(keys, key, strict=True)) | {column: value}
            rows.append(row | _ranked_columns(model, value, facts[cast(int, key[1])]) if model in RANKINGS else row)
        db.session.execute(statement, rows)


def restate_units(unit_ids: Iterable[int]) -> None:
    """Copy these units' level, adults and members again into their ranked aggregates, and reorder them:
    for the caller that changed a unit's kind or sizes, in its transaction (boards rank by them)."""
    facts = unit_facts(unit_ids)
    for model, (divisor, ordering) in RANKINGS.items():
        table = cast(Table, model.__table__)
        given = bindparam("given_divisor", type_=BigInteger)
        statement = (
            update(table)
            .where(table.c.unit_id == bindparam("given_unit"))
            .values(
                level=bindparam("given_level"),
                **{divisor: given, ordering: ratio_sql(table.c[_value_column(model)], given)},
            )
        )
        params = [
            {"given_unit": unit_id, "given_level": unit["level"], "given_divisor": unit[divisor]}
            for unit_id, unit in sorted(facts.items())
        ]
        if params:
            db.session.execute(statement, params)


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


def _stored(model: Aggregate) -> dict[Key, dict[str, Any]]:
    """Every row of an aggregate, zeros included: a ranked row holding nothing still orders a board."""
    keys = KEYS[model]
    columns = [_value_column(model), *(("level", *RANKINGS[model]) if model in RANKINGS else ())]
    table = model.__table__
    query = select(*(table.c[name] for name in (*keys, *columns))).execution_options(yield_per=20_000)
    return {
        tuple(row[: len(keys)]): dict(zip(columns, row[len(keys) :], strict=True)) for row in db.session.execute(query)
    }


def _recomputed(model: Aggregate, value: int, facts: Facts | None) -> dict[str, Any]:
    """A row as the ledger and the unit it belongs to say it should be."""
    row = {_value_column(model): value}
    return row | _ranked_columns(model, value, facts or {}) if model in RANKINGS else row


def verify() -> list[str]:
    """Every difference between the aggregates (sums, and what ranked rows copy from their unit) and a
    recomputation from the ledger and the units as they are."""
    mismatches = []
    expected_sums = _expected()
    stored: dict[Aggregate, dict[Key, dict[str, Any]]] = {model: _stored(model) for model in AGGREGATES}
    facts = unit_facts(cast(int, key[1]) for model in RANKINGS for key in (*expected_sums[model], *stored[model]))
    for model, expected in expected_sums.items():
        column, rows = _value_column(model), stored[model]
        for key in sorted(set(expected) | set(rows), key=str):
            where = f"{model.__tablename__} {dict(zip(KEYS[model], key, strict=True))}"
            should = _recomputed(model, expected.get(key, 0), facts.get(cast(int, key[1])))
            actual = rows.get(key, {column: 0})
            if actual[column] != should[column]:
                mismatches.append(f"{where}: stored {actual[column]}, ledger says {should[column]}")
            elif key in rows:
                mismatches += [
                    f"{where}: {name} stored {actual[name]}, should be {should[name]}"
                    for name in should
                    if actual[name] != should[name]
                ]
    return mismatches


def rebuild() -> None:
    """Replace every aggregate with its recomputation from the ledger."""
    expected = _expected()
    for model in AGGREGATES:
        db.session.execute(delete(model))
    _apply(expected)
    _bump(true())  # repaired aggregates change boards without a ledger row


# The session's note of the campaigns whose version moved in its transaction.
BUMPED_CAMPAIGNS = "bumped_campaigns"


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
    bumped = db.session.scalars(
        statement.returning(ScoreVersion.campaign_id).execution_options(synchronize_session=False)
    )
    # Read after the commit by core.shared_versions, which then tells Redis.
    db.session.info.setdefault(BUMPED_CAMPAIGNS, set()).update(bumped)


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
