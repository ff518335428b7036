"""Points a quarter earns as a whole (a resident's quiz attempt, a hall's live quiz): no member is
credited, only the quarter and every unit above it, as a contribution's beneficiary quarter is."""

from datetime import datetime

from domain.days import local_date
from models import Unit
from scoring import Award


def quarter_award(campaign_id: int, cause_type: str, cause_id: int, points: int, quarter: Unit, at: datetime) -> Award:
    """The ledger row of `points` for the quarter and its ancestors, dated the Vietnamese day of `at`."""
    return Award(
        campaign_id=campaign_id,
        cause_type=cause_type,
        cause_id=cause_id,
        points=points,
        day=local_date(at),
        unit_ids=quarter.ancestor_ids,
    )
