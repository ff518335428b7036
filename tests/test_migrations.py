from pathlib import Path

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from models import db

MIGRATIONS = str(Path(__file__).parent.parent / "migrations")


def test_migrations_downgrade_to_nothing_and_upgrade_again(app):
    downgrade(directory=MIGRATIONS, revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(directory=MIGRATIONS)
    assert {"unit", "user_account"} <= set(inspect(db.engine).get_table_names())


def test_models_and_migrations_agree(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []
