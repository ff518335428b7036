"""A version per campaign, bumped in every transaction that changes what its boards show."""

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from models import Model


class ScoreVersion(Model):
    """Boards and screens are cached per (campaign, version); a write bumps it in its own transaction,
    so a reader never sees new scores under an old version (docs/ARCHITECTURE.md)."""

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
