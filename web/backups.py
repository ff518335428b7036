"""Backups of the whole database and their restore, each checked by the verify-scores check.

SQLite is copied with its online backup API, never as a file: the file alone misses transactions
still in the write-ahead log (a plain copy taken during writes lost 6 committed rows). PostgreSQL
is dumped by pg_dump in its custom format and restored in one transaction that replaces the whole
schema, so that tables of a later migration go too (pg_restore's statements, applied by psql). A backup
is written under a hidden temporary name in the target directory and renamed only once it is
complete and checked, so a half-written file is never taken for a backup. Photos and the keys are
not in the database and not in these files (README, Backups).
"""

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import Connection, Engine, create_engine, func, select, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from core.extensions import migrate
from models import Contribution, LedgerEntry, Model, User, db
from scoring import verify

# The names `flask backup` gives, which `--keep` alone may delete: a UTC timestamp sorts by name.
BACKUP_NAME = re.compile(r"thidua-\d{8}T\d{6}Z\.(sqlite3|dump)")
# The hidden names a backup is written under until it is checked (_staged: mkstemp's 8 random characters).
PARTIAL_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.partial")
# A partial file this old belongs to a backup that was killed: none takes more than minutes.
STALE_PARTIAL_SECONDS = 3600
EXTENSIONS = {"sqlite": "sqlite3", "postgresql": "dump"}
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
# Tables every ThiĐua database has had since its first migration: a file without them is not ours.
REQUIRED_TABLES = ("alembic_version", "ledger_entry")
# Sent before the archive's own statements, in the same transaction. pg_restore --clean would drop
# only the objects the archive holds: a table a later migration added would stay, and one that
# references the archive's tables would make the drop fail. A new schema holds only the backup's.
# The lock timeout turns a connection still holding a table (a process not stopped) into an error.
REPLACE_SCHEMA = (
    b"BEGIN;\n"
    b"SET LOCAL lock_timeout = '30s';\n"
    b"DROP SCHEMA public CASCADE;\n"
    b"CREATE SCHEMA public;\n"
    b"GRANT USAGE ON SCHEMA public TO PUBLIC;\n"  # as PostgreSQL creates it
)


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why. Nothing was replaced."""


@dataclass(frozen=True)
class Contents:
    """What a database holds, as the commands report it, and every aggregate that differs from its ledger."""

    revision: str
    ledger_rows: int
    contributions: int
    accounts: int
    mismatches: list[str]


@dataclass(frozen=True)
class Written:
    """A backup renamed into place: its path, its size in bytes and what it holds."""

    path: Path
    size: int
    contents: Contents


@dataclass(frozen=True)
class Backup:
    """A file checked to be a backup of the configured kind of database, ready to restore."""

    path: Path
    kind: str


def database_kind() -> str:
    kind = db.engine.dialect.name
    if kind not in LABELS:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {kind}")
    return kind


def database_label() -> str:
    """The configured database without its password, to name what a restore replaces."""
    return db.engine.url.render_as_string(hide_password=True)


def default_path(backup_dir: Path, moment: datetime) -> Path:
    """Where a backup taken at this UTC moment goes when no path is given."""
    return backup_dir / f"thidua-{moment:%Y%m%dT%H%M%SZ}.{EXTENSIONS[database_kind()]}"


def back_up(target: Path) -> Written:
    """Write a backup of the configured database to a new file, check it, and say what it holds.

    Raises BackupError, leaving no file, when the copy fails or is not readable. A copy whose
    aggregates differ from its ledger is kept (it is faithful) with the mismatches in its contents.
    """
    kind = database_kind()
    with _staged(target) as partial:
        contents = _back_up_sqlite(partial) if kind == "sqlite" else _back_up_postgresql(partial)
    return Written(target, target.stat().st_size, contents)


def open_backup(path: Path) -> Backup:
    """Check that a file is a backup this database can be restored from, without changing anything."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        kind = "sqlite"
    elif head.startswith(PG_DUMP_MAGIC):
        kind = "postgresql"
    else:
        raise BackupError(f"{path} is neither a SQLite database nor a pg_dump archive: not a backup")
    live = database_kind()
    if kind != live:
        raise BackupError(f"{path} is a {LABELS[kind]} backup, but the configured database is {LABELS[live]}")
    if kind == "sqlite":
        _check_sqlite_file(path)
    else:
        _check_archive(path)
    return Backup(path, kind)


def restore(backup: Backup) -> Contents:
    """Replace the whole configured database with the backup, then say what it holds.

    Raises BackupError when the restore fails; it then changes nothing (one transaction).
    """
    db.session.remove()  # this process holds no transaction while the tables are replaced
    if backup.kind == "sqlite":
        _restore_sqlite(backup.path)
    else:
        _restore_postgresql(backup.path)
    db.engine.dispose()  # no pooled connection remembers the database as it was
    return _contents()


def release_revisions() -> set[str]:
    """The schema revisions this release's migrations lead to (one, unless the history forks)."""
    return set(ScriptDirectory.from_config(migrate.get_config()).get_heads())


def prune(backup_dir: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest backups this command named in backup_dir; the paths deleted.

    Any other file there (a backup named by hand, notes, a partial one) is left alone."""
    if keep < 1:
        raise ValueError("keep at least one backup")
    if not backup_dir.is_dir():  # every backup so far went to paths of their own
        return []
    ours = sorted(path for path in backup_dir.iterdir() if BACKUP_NAME.fullmatch(path.name) and path.is_file())
    old = ours[:-keep]
    for path in old:
        path.unlink()
    return old


def remove_stale_partials(backup_dir: Path) -> list[Path]:
    """Delete the partial files that backups killed midway left in backup_dir over an hour ago; their paths.

    A backup running now is never harmed: its partial file is younger."""
    if not backup_dir.is_dir():
        return []
    stale_before = time.time() - STALE_PARTIAL_SECONDS
    stale = sorted(
        path
        for path in backup_dir.iterdir()
        if PARTIAL_NAME.fullmatch(path.name) and path.is_file() and path.stat().st_mtime < stale_before
    )
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def _count(model: type[Model]) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _contents() -> Contents:
    """Counts and the verify-scores check, read through db.session."""
    revision = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar() or ""
    return Contents(revision, _count(LedgerEntry), _count(Contribution), _count(User), verify())


@contextmanager
def _session_on(bind: Engine | Connection) -> Iterator[None]:
    """Point db.session at another database or connection: scoring.verify reads through db.session."""
    with current_app.app_context():  # an app context of its own has a scoped session of its own
        # A plain Session: Flask-SQLAlchemy's own would choose the app's engine whatever its bind.
        db.session.registry.set(Session(bind=bind))  # type: ignore[arg-type]
        try:
            yield
        finally:
            db.session.remove()


@contextmanager
def _staged(target: Path) -> Iterator[Path]:
    """A new private file beside the target, renamed to it when the block completes, removed otherwise."""
    if target.exists():
        raise BackupError(f"{target} already exists; a backup never replaces a file")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkstemp creates the file readable by its owner only: a backup holds personal data.
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    partial = Path(name)
    try:
        yield partial
        _fsync(partial)
        os.replace(partial, target)
        _fsync(target.parent)  # the rename itself survives a power cut
    finally:
        partial.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _live_sqlite_path() -> Path:
    # Flask-SQLAlchemy has already made a relative path relative to the instance folder.
    database = db.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"cannot back up or restore the SQLite database {database!r}: give it a file path")
    return Path(database).resolve()


def _sqlite_connect(path: Path, mode: str) -> sqlite3.Connection:
    """A plain sqlite3 connection (not the app's, whose set-up would switch the file to WAL)."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=30)


def _back_up_sqlite(partial: Path) -> Contents:
    live = _live_sqlite_path()
    if not live.is_file():
        raise BackupError(f"no database at {live}")
    # All pages in one step: one read transaction, so one consistent snapshot that includes what the
    # WAL holds; in WAL mode writers carry on meanwhile.
    _copy_sqlite(_sqlite_connect(live, "rw"), _sqlite_connect(partial, "rw"), "the SQLite backup failed")
    _check_sqlite_file(partial)
    engine = create_engine(URL.create("sqlite", database=str(partial)))
    try:
        with _session_on(engine):
            contents = _contents()
    finally:
        engine.dispose()
    # The copy is in WAL mode like its source; back to one self-contained file.
    connection = _sqlite_connect(partial, "rw")
    try:
        connection.execute("PRAGMA journal_mode=DELETE")
    finally:
        connection.close()
    return contents


def _check_sqlite_file(path: Path) -> None:
    try:
        connection = _sqlite_connect(path, "ro")
        try:
            integrity = connection.execute("PRAGMA quick_check").fetchone()
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            pages = connection.execute("PRAGMA page_count").fetchone()[0]
            page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise BackupError(f"{path} cannot be read as a SQLite database: {error}") from None
    # SQLite reads the missing end of a cut file as zeros: the integrity check passes when only free
    # pages were lost, so the size its header promises is checked too (a backup has no -wal file).
    size = path.stat().st_size
    if size != pages * page_size:
        raise BackupError(f"{path} has {size} bytes where its header says {pages * page_size}: cut short or damaged")
    if integrity != ("ok",):
        raise BackupError(f"{path} fails SQLite's integrity check: {integrity}")
    missing = [table for table in REQUIRED_TABLES if table not in tables]
    if missing:
        raise BackupError(f"{path} is a SQLite database without {', '.join(missing)}: not a ThiĐua backup")


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The configured URL as libpq takes it, and an environment carrying its password: the command
    line would show it to every user of the machine (ps)."""
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    # _replace, not set: URL.set takes None for "leave as it is" and would keep the password.
    return url._replace(drivername="postgresql", password=None).render_as_string(hide_password=False), environment


def _run(command: list[str], environment: dict[str, str]) -> str:
    """Run a PostgreSQL client program; its standard output, or BackupError with its own message."""
    try:
        result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian: apt install postgresql-client)") from None
    if result.returncode:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()}")
    return result.stdout


def _back_up_postgresql(partial: Path) -> Contents:
    url, environment = _libpq(db.engine.url)
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            # pg_dump reads the snapshot this transaction exports: the counts and the verify-scores
            # result below are those of the file, while writers carry on.
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            command = ["pg_dump", "--no-password", "--format=custom", f"--snapshot={snapshot}", f"--file={partial}"]
            command.append(f"--dbname={url}")
            _run(command, environment)
            with _session_on(connection):
                contents = _contents()
    _check_archive(partial)
    return contents


def _check_archive(path: Path) -> None:
    """pg_restore reads the whole archive, and its table of contents holds the data of ThiĐua's tables."""
    try:
        listing = _run(["pg_restore", "--list", str(path)], dict(os.environ))
        # The listing reads only the table of contents at the start; a file cut short past it would
        # be found only halfway through a restore. Reading it all to nowhere finds it now.
        _run(["pg_restore", f"--file={os.devnull}", str(path)], dict(os.environ))
    except BackupError as error:
        raise BackupError(f"{path} cannot be read as a pg_dump archive: {error}") from None
    missing = [table for table in REQUIRED_TABLES if not re.search(rf"TABLE DATA \S+ {table} ", listing)]
    if missing:
        raise BackupError(f"{path} is a pg_dump archive without {', '.join(missing)}: not a ThiĐua backup")


def _copy_sqlite(source: sqlite3.Connection, destination: sqlite3.Connection, failure: str) -> None:
    """Every page of one database into another in one step of SQLite's online backup API; closes both."""
    try:
        source.backup(destination)
    except sqlite3.Error as error:
        raise BackupError(f"{failure}: {error}") from None
    finally:
        source.close()
        destination.close()


def _restore_sqlite(path: Path) -> None:
    # One step, one write transaction on the live database: all of the backup or, on error, nothing.
    destination = _sqlite_connect(_live_sqlite_path(), "rwc")
    _copy_sqlite(_sqlite_connect(path, "ro"), destination, "the SQLite restore failed, the database is unchanged")


def _restore_postgresql(path: Path) -> None:
    """The archive as SQL (pg_restore) into psql, after REPLACE_SCHEMA, in one transaction committed
    only when pg_restore has written all of it: on any error the database is as it was."""
    url, environment = _libpq(db.engine.url)
    with tempfile.TemporaryFile() as script_errors, tempfile.TemporaryFile() as apply_errors:
        # --no-password: a password missing from the URL is an error, never a prompt.
        apply = _start(
            ["psql", "--no-psqlrc", "--no-password", "--quiet", "--set=ON_ERROR_STOP=1", f"--dbname={url}"],
            environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,  # the results of the script's SELECTs, which nobody reads
            stderr=apply_errors,
        )
        assert apply.stdin is not None
        try:
            # --no-owner: the configured user owns what it creates. Nothing is written to disk between.
            script = _start(
                ["pg_restore", "--no-owner", "--file=-", str(path)],
                dict(os.environ),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=script_errors,
            )
        except BackupError:
            apply.kill()  # before it read a COMMIT: nothing changed
            raise
        assert script.stdout is not None
        try:
            apply.stdin.write(REPLACE_SCHEMA)
            shutil.copyfileobj(script.stdout, apply.stdin)
            if script.wait() == 0:
                apply.stdin.write(b"COMMIT;\n")
        except BrokenPipeError:  # psql stopped at an error: pg_restore's output is not needed any more
            script.kill()
        with suppress(BrokenPipeError):  # closed all the same
            apply.stdin.close()  # psql ends; without a COMMIT the server rolls everything back
        script.stdout.close()
        # psql's error first: when it stopped, pg_restore was stopped for it.
        for name, process, errors in (("psql", apply, apply_errors), ("pg_restore", script, script_errors)):
            if process.wait() != 0:
                raise BackupError(f"the restore failed, the database is unchanged: {name} failed: {_read(errors)}")


def _start(command: list[str], environment: dict[str, str], **streams: Any) -> subprocess.Popen[bytes]:
    """Start a PostgreSQL client program with the given standard streams."""
    try:
        return subprocess.Popen(command, env=environment, **streams)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian: apt install postgresql-client)") from None


def _read(errors: IO[bytes]) -> str:
    errors.seek(0)
    return errors.read().decode(errors="replace").strip()
