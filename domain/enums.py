"""The closed sets of the domain. Each is a `StrEnum`, so a member equals its stored string
(`Role.ADMIN == "admin"`) and templates, JSON and dictionary keys keep working with plain strings.

The database refuses any other value through a CHECK constraint on each column that stores one
(models/, migrations/versions/20261202_enum_checks_f0e0a0000002.py); `CampaignStatus` is read off
the clock and never stored.
"""

from enum import StrEnum


class Role(StrEnum):
    """What a signed-in user may do, from the highest rank down (DESIGN §9)."""

    ADMIN = "admin"
    WARD_LEADER = "ward_leader"
    TEAM_LEADER = "team_leader"
    MEMBER = "member"


class UnitKind(StrEnum):
    """The kinds of units in the organisation tree."""

    PROVINCE = "province"
    WARD = "ward"
    COMMUNE = "commune"
    QUARTER = "quarter"
    YOUTH_UNION = "youth_union"
    TEAM = "team"
    AGENCY = "agency"


class CampaignStatus(StrEnum):
    """Where a campaign stands: computed from the clock each time, never stored."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    ENDED = "ended"
    ARCHIVED = "archived"


class ContributionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class LedgerCause(StrEnum):
    """What a ledger row's points come from; `cause_id` points at a row of that kind."""

    CONTRIBUTION = "contribution"
    QUIZ_ATTEMPT = "quiz_attempt"
    LIVE_QUIZ = "live_quiz"  # cause_id: the live session, one row per quarter it credits
    COMPLETION = "completion"
    CORRECTION = "correction"


class CapWindow(StrEnum):
    """The period over which an activity type's cap per member counts."""

    DAY = "day"
    WEEK = "week"
    CAMPAIGN = "campaign"


class TargetKind(StrEnum):
    """How an activity type's target reads: a number per unit, or a percent of the unit's adults."""

    ABSOLUTE = "absolute"
    SHARE = "share"


class CompletionStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class CompletionSource(StrEnum):
    """Who reported a training completion."""

    SELF = "self"
    LEADER = "leader"
    IMPORT = "import"
    QUIZ = "quiz"


class CourseAudience(StrEnum):
    """Whose coverage a course's target counts: every member, or cadres only."""

    ALL = "all"
    CADRES = "cadres"


class BadgeKind(StrEnum):
    FIRST_CONTRIBUTION = "first_contribution"
    HELPED_10 = "helped_10"
    HELPED_50 = "helped_50"
    PAPERLESS_STREAK_7 = "paperless_streak_7"
    PERFECT_QUIZ = "perfect_quiz"
    TOP_THREE = "top_three"
