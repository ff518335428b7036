from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from models import db
from tests.conftest import make_test_app

MIGRATIONS = str(Path(__file__).parent.parent / "migrations")


def test_migrations_downgrade_to_nothing_and_upgrade_again(app):
    try:
        downgrade(directory=MIGRATIONS, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    finally:
        upgrade(directory=MIGRATIONS)
    assert {"unit", "user_account", "campaign", "ledger_entry"} <= set(inspect(db.engine).get_table_names())


def test_models_and_migrations_agree(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, db.metadata) == []


BEFORE_ENUM_CHECKS = "e0c0a0000001"
# Raw SQL, so the values reach the database as they are, past the models' Enum types.
INSERT_UNIT = text("INSERT INTO unit (id, code, name, kind, path) VALUES (:id, :code, 'Tỉnh', :kind, '/1/')")
INSERT_USER = text(
    "INSERT INTO user_account (username, display_name, password_hash, role, home_unit_id, active,"
    " must_change_password, is_cadre, session_nonce, created_at)"
    " VALUES (:username, :username, 'x', :role, :unit_id, true, false, false, :username, CURRENT_TIMESTAMP)"
)


@pytest.fixture
def old_sqlite_database(tmp_path):
    """A database of its own, migrated only up to the revision before the enum CHECKs."""
    app = make_test_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/old.db")
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE_ENUM_CHECKS)
        yield db.engine
        db.session.remove()
        db.engine.dispose()


def _revision(engine) -> str:
    with engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


def test_enum_checks_refuse_to_upgrade_over_values_outside_the_enums(old_sqlite_database):
    with old_sqlite_database.begin() as connection:
        connection.execute(INSERT_UNIT, {"id": 1, "code": "P", "kind": "village"})
        for username, role in (("a", "superuser"), ("b", "root"), ("c", "superuser"), ("d", "member")):
            connection.execute(INSERT_USER, {"username": username, "role": role, "unit_id": 1})

    # Alembic itself, so the error arrives as raised; `flask db upgrade` prints it and exits 1.
    config = current_app.extensions["migrate"].migrate.get_config(MIGRATIONS)
    with pytest.raises(RuntimeError) as refused:
        command.upgrade(config, "head")

    message = str(refused.value)
    assert "Correct or delete those rows" in message
    assert "user_account.role: 'root', 'superuser' (allowed: admin, ward_leader, team_leader, member)" in message
    assert "unit.kind: 'village' (allowed: province, ward, commune, quarter, youth_union, team, agency)" in message
    assert "contribution.status" not in message
    assert _revision(old_sqlite_database) == BEFORE_ENUM_CHECKS


def test_enum_checks_keep_rows_that_other_tables_reference(old_sqlite_database):
    # SQLite rebuilds each table to add its CHECK; the user referencing the unit must survive it.
    with old_sqlite_database.begin() as connection:
        connection.execute(INSERT_UNIT, {"id": 1, "code": "P", "kind": "province"})
        connection.execute(INSERT_USER, {"username": "admin", "role": "admin", "unit_id": 1})

    upgrade(directory=MIGRATIONS)

    with old_sqlite_database.connect() as connection:
        rows = connection.execute(text("SELECT username, role, home_unit_id FROM user_account")).all()
        assert rows == [("admin", "admin", 1)]
        assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    with pytest.raises(IntegrityError, match="ck_unit_kind"), old_sqlite_database.begin() as connection:
        connection.execute(text("UPDATE unit SET kind = 'village'"))


def test_the_database_refuses_an_unknown_role(app, make_unit):
    unit_id = make_unit("P", "province").id
    db.session.commit()
    with pytest.raises(IntegrityError, match="ck_user_account_role"):
        db.session.execute(INSERT_USER, {"username": "x", "role": "superuser", "unit_id": unit_id})
    db.session.rollback()
