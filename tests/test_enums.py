import re

import pytest
from sqlalchemy import Enum, inspect

from badges.services import BADGE_LABELS
from campaigns.services import CAP_WINDOW_LABELS, CONTRIBUTION_STATUS_LABELS, STATUS_LABELS
from core.labels import KIND_LABELS, ROLE_LABELS
from domain.enums import (
    BadgeKind,
    CampaignStatus,
    CapWindow,
    CompletionSource,
    CompletionStatus,
    ContributionStatus,
    Role,
    UnitKind,
)
from models import User, db
from models.units import PARENT_KINDS
from training.services import COMPLETION_STATUS_LABELS, SOURCE_LABELS

# Autogenerate compares no CHECK constraints, so this list and the test that reads the database's
# constraints keep the models and the migrations agreeing on them.
CHECKED_COLUMNS = {
    ("user_account", "role"),
    ("unit", "kind"),
    ("activity_type", "cap_window"),
    ("activity_type", "target_kind"),
    ("contribution", "status"),
    ("ledger_entry", "cause_type"),
    ("course", "audience"),
    ("completion", "source"),
    ("completion", "status"),
    ("badge_award", "kind"),
    ("live_session", "phase"),
    ("plan_target", "source"),
    ("plan_target", "metric"),
}


@pytest.mark.parametrize(
    ("table", "enum"),
    [
        (ROLE_LABELS, Role),
        (KIND_LABELS, UnitKind),
        (PARENT_KINDS, UnitKind),
        (STATUS_LABELS, CampaignStatus),
        (CONTRIBUTION_STATUS_LABELS, ContributionStatus),
        (CAP_WINDOW_LABELS, CapWindow),
        (COMPLETION_STATUS_LABELS, CompletionStatus),
        (SOURCE_LABELS, CompletionSource),
        (BADGE_LABELS, BadgeKind),
    ],
)
def test_every_member_has_its_entry_and_nothing_else_has_one(table, enum):
    assert set(table) == set(enum)


def test_a_member_is_its_stored_string():
    assert Role.ADMIN == "admin" and f"{UnitKind.YOUTH_UNION}" == "youth_union"
    assert ROLE_LABELS["ward_leader"] is ROLE_LABELS[Role.WARD_LEADER]


def test_every_enum_column_is_checked_by_the_database_against_exactly_its_values(app):
    enum_columns = {
        (table.name, column.name): column.type
        for table in db.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, Enum)
    }
    assert set(enum_columns) == CHECKED_COLUMNS

    inspector = inspect(db.engine)
    for (table, column), column_type in enum_columns.items():
        checks = {check["name"]: check["sqltext"] for check in inspector.get_check_constraints(table)}
        name = f"ck_{table}_{column}"
        assert name in checks, f"{table}.{column} has no CHECK {name}"
        # SQLite keeps "kind IN ('a', 'b')", PostgreSQL "kind = ANY (ARRAY['a'::varchar, ...])".
        assert set(re.findall(r"'([^']*)'", checks[name])) == set(column_type.enums), name


def test_stored_values_come_back_as_members(app, make_unit, make_user):
    user = make_user("ha", role="team_leader", home_unit=make_unit("P", "province"))
    db.session.commit()
    db.session.expire_all()

    loaded = db.session.get(User, user.id)

    assert loaded.role is Role.TEAM_LEADER
    assert loaded.home_unit.kind is UnitKind.PROVINCE
