from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from models import UNMANAGED_TABLES, db

MIGRATIONS = str(Path(__file__).parent.parent / "migrations")


def test_migrations_downgrade_to_nothing_and_upgrade_again(app):
    try:
        downgrade(directory=MIGRATIONS, revision="base")
        assert set(inspect(db.engine).get_table_names()) - UNMANAGED_TABLES <= {"alembic_version"}
    finally:
        upgrade(directory=MIGRATIONS)
    assert {"unit", "user_account", "campaign", "ledger_entry"} <= set(inspect(db.engine).get_table_names())


def test_models_and_migrations_agree(app):
    def managed(obj, name, type_, reflected, compare_to):
        return not (type_ == "table" and name in UNMANAGED_TABLES)

    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": managed})
        assert compare_metadata(context, db.metadata) == []
