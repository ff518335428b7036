"""The scheduler's lease: which of the running scheduler processes does the sweeps."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models import Model, UTCDateTime


class SchedulerLease(Model):
    """One row per lease (today only "scheduler"). Its holder leads until `expires_at`; a holder renews
    by an UPDATE in the same transaction as its work, and anyone may take it once it has expired
    (core/scheduler.py), so leadership lives in the database that every machine shares."""

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    # hostname:pid:random, as the process logs it.
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
