import logging
from contextlib import contextmanager
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
# Keep the application's loggers: alembic's default would silence every logger created before it.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
config.set_main_option("sqlalchemy.url", target_db.engine.url.render_as_string(hide_password=False).replace("%", "%%"))


def render_item(type_, obj, autogen_context):
    # Migrations store plain types; UTCDateTime only converts values in Python.
    if type_ == "type" and obj.__class__.__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


@contextmanager
def foreign_keys_off_on_sqlite(connection):
    """Batch mode rebuilds a SQLite table by copy, drop and rename, and dropping a table that other rows
    reference fails while foreign keys are enforced (alembic's batch documentation). The pragma is
    ignored inside a transaction, so it goes to the driver's connection before any BEGIN."""
    if connection.dialect.name != "sqlite":
        yield
        return
    driver_connection = connection.connection.driver_connection
    driver_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        connection.rollback()  # nothing left after the migrations' commits; undoes a failed one
        driver_connection.execute("PRAGMA foreign_keys=ON")


def refuse_broken_references(ctx, step, heads, run_args):
    # Runs after each migration, before its commit: with enforcement off, SQLite would not notice.
    if ctx.connection.dialect.name == "sqlite":
        broken = ctx.connection.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"{step} leaves rows that reference nothing (table, rowid, parent, key): {broken}")


def run_migrations_offline():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), target_metadata=target_db.metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        # An autogenerate that finds no change writes no empty revision.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args.setdefault("render_item", render_item)
    conf_args.setdefault("on_version_apply", refuse_broken_references)
    with target_db.engine.connect() as connection, foreign_keys_off_on_sqlite(connection):
        context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
