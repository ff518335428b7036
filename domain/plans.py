"""An action plan's targets: where each stands against a straight line from the plan's start to its
deadline, and the share of targets done as a province reports it ("26/43 — 60.5%")."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction

Amount = int | float | Fraction


class TargetSource(StrEnum):
    """Where a target's figure comes from: the campaign ledger's aggregates, or a person with evidence."""

    METRIC = "metric"
    MANUAL = "manual"


class PlanMetric(StrEnum):
    """What a metric target reads: a campaign's points, an activity's outcomes, or those outcomes as a
    percent of the unit's adults (the share of adults with a personal digital signature); the members
    who completed a course, or those as a percent of the course's audience."""

    POINTS = "points"
    OUTCOMES = "outcomes"
    OUTCOME_SHARE = "outcome_share"
    TRAINED = "trained"
    TRAINED_SHARE = "trained_share"


# Rates mean the same in every unit, so each ward meets or misses the plan's value on its own; a count
# is the ward's part of the plan's total and has no target of its own.
RATE_METRICS = (PlanMetric.OUTCOME_SHARE, PlanMetric.TRAINED_SHARE)


class TargetStatus(StrEnum):
    DONE = "done"  # reached or exceeded
    ON_TRACK = "on_track"  # at or above the straight line from the start to the deadline
    BEHIND = "behind"  # below it, or the deadline passed without reaching the target


def target_status(current: Amount | None, target: Amount, starts_on: date, deadline: date, today: date) -> TargetStatus:
    """Done once the figure reaches the target; before that on track while it keeps pace with a linear
    path (nothing expected on the start day or before, all of it on the deadline), behind otherwise.

    Compared exactly (fractions, no division), so a figure on the line is on track, not a rounding off it.
    """
    reached = Fraction(current or 0)
    goal = Fraction(target)
    if reached >= goal:
        return TargetStatus.DONE
    if today >= deadline:
        return TargetStatus.BEHIND
    elapsed = max((today - starts_on).days, 0)
    span = (deadline - starts_on).days
    return TargetStatus.ON_TRACK if reached * span >= goal * elapsed else TargetStatus.BEHIND


def percent(part: Amount, whole: Amount) -> Decimal | None:
    """part / whole as a percent to one decimal, halves rounded up as a report rounds them (26/43 is
    60.5); None when there is no whole."""
    if not whole:
        return None
    exact = Fraction(part) * 100 / Fraction(whole)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Tally:
    """How many of some targets are done, and that as a percent."""

    done: int
    total: int

    @property
    def share(self) -> Decimal | None:
        return percent(self.done, self.total)


def tally(statuses: Sequence[TargetStatus | None]) -> Tally:
    """How many of these targets are done, out of all of them."""
    return Tally(sum(status == TargetStatus.DONE for status in statuses), len(statuses))
