"""Accounts of people who sign in: admins, ward leaders, team leaders and members."""

import secrets
from datetime import UTC, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.enums import Role
from models import Model, UTCDateTime, enum_type
from models.units import Unit


def _utcnow() -> datetime:
    return datetime.now(UTC)


def new_session_nonce() -> str:
    return secrets.token_urlsafe(12)


class User(Model):
    __tablename__ = "user_account"  # "user" is a reserved word in PostgreSQL

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role", 16), default=Role.MEMBER)
    home_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    youth_union_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # When a one-time password stops opening the account: 24 hours after it was issued.
    one_time_password_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_cadre: Mapped[bool] = mapped_column(default=False)
    # Changing the nonce ends every session of this user: logout, password reset, deactivation.
    session_nonce: Mapped[str] = mapped_column(String(32), default=new_session_nonce)
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    # None until the member answers: silence is not consent, so boards show initials until then.
    public_name_consent: Mapped[bool | None]
    public_name_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_utcnow)
    # The language the member last chose; None until then (the site's default applies).
    language: Mapped[str | None] = mapped_column(String(8))

    home_unit: Mapped[Unit] = relationship(foreign_keys=[home_unit_id])
    team: Mapped[Unit | None] = relationship(foreign_keys=[team_id])
    youth_union: Mapped[Unit | None] = relationship(foreign_keys=[youth_union_id])

    # Flask-Login protocol.
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"

    def __repr__(self) -> str:
        return f"<User {self.username}>"
