"""`flask backup` and `flask restore` on the test database, SQLite or PostgreSQL (issue 14, item 6).

A writer awards points in its own committed transactions, as approvals do, while the real CLI takes
a backup: every row acknowledged before the backup began must be in it and its scores must verify.
A restore brings back exactly the backup's rows, aggregates and schema; anything that is not a
backup of this database is refused and changes nothing; `--keep` deletes only this command's files.
"""

import os
import re
import shutil
import sqlite3
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import make_url

from core.extensions import migrate
from domain.enums import LedgerCause
from models import LedgerEntry, ScoreVersion, UnitScore, db, immediate_transactions
from scoring import Award, award, credited_unit_ids, verify
from tests.conftest import DATABASE_URL
from tests.ops.processes import BIN, wait_until
from web.backups import Backup, BackupError, restore

ON_POSTGRESQL = DATABASE_URL.startswith("postgresql")
DAY = date(2026, 11, 5)


@pytest.fixture
def credit(make_campaign, people):
    """Awards one point to the member in a W1 campaign, as an approval would: award(cause_id)."""
    campaign_id, member = make_campaign().id, people["member"]
    unit_ids, member_id = credited_unit_ids(member), member.id

    def give(cause_id: int) -> None:
        award(Award(campaign_id, LedgerCause.CONTRIBUTION, cause_id, 1, DAY, unit_ids, member_id=member_id))

    return give


def _committed(credit, *cause_ids: int) -> None:
    """Award each cause its point and commit them together."""
    with immediate_transactions():
        for cause_id in cause_ids:
            credit(cause_id)
        db.session.commit()


@pytest.fixture
def backup_dir(app, credit, tmp_path):
    """BACKUP_DIR, empty, for a database holding one award."""
    _committed(credit, 1)
    directory = tmp_path / "backups"
    directory.mkdir()
    app.config["BACKUP_DIR"] = str(directory)
    return directory


class Writer(threading.Thread):
    """Awards one point per committed transaction until stopped; a cause id is acknowledged once committed."""

    def __init__(self, app, give):
        super().__init__(daemon=True)
        self.app, self.give = app, give
        self.acknowledged: list[int] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.app.app_context(), immediate_transactions():
                cause_id = 0
                while not self.stop.is_set():
                    cause_id += 1
                    self.give(cause_id)
                    db.session.commit()
                    self.acknowledged.append(cause_id)
        except BaseException as error:  # reported by the test, not lost in the thread
            self.error = error


def _settle() -> None:
    """End this session's transaction: on PostgreSQL a restore drops tables, which waits for every reader."""
    db.session.commit()


def _state() -> tuple:
    """The rows a restore must bring back exactly: the ledger, an aggregate, the score versions."""
    state = (
        db.session.execute(
            select(LedgerEntry.id, LedgerEntry.cause_id, LedgerEntry.points).order_by(LedgerEntry.id)
        ).all(),
        db.session.execute(
            select(UnitScore.campaign_id, UnitScore.unit_id, UnitScore.points).order_by(UnitScore.unit_id)
        ).all(),
        db.session.execute(select(ScoreVersion.campaign_id, ScoreVersion.version)).all(),
    )
    _settle()
    return state


SCHEMA_QUERIES = {
    "sqlite": ["SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"],
    "postgresql": [
        "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY 1, 2",
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
        "SELECT sequencename, data_type FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1",
    ],
}


# PostgreSQL prints a restored `x IN ('a', 'b')` CHECK with its casts moved inside the array
# (`ARRAY[('a'::character varying)::text, …]` for `(ARRAY['a'::character varying, …])::text[]`): the same
# rule, parsed again from pg_dump's text. Compared without casts and parentheses, a changed value still shows.
CASTS = re.compile(r"::[a-z ]+(?:\[\])?|[()]")


def _schema() -> list:
    """Tables, columns, constraints and indexes, and the migration revision: what the next tests rely on."""
    queries = SCHEMA_QUERIES[db.engine.dialect.name] + ["SELECT version_num FROM alembic_version"]
    schema = [
        [
            tuple(CASTS.sub("", cell) if isinstance(cell, str) and cell.startswith("CHECK") else cell for cell in row)
            for row in db.session.execute(text(query)).all()
        ]
        for query in queries
    ]
    _settle()
    return schema


def _backup(runner, path: Path) -> None:
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output


def _clients(directory: Path, gate: Path | None = None) -> dict[str, str]:
    """A PATH whose pg_dump, pg_restore and psql write down how they were run (name, PGPASSWORD and
    arguments, tab-separated, in directory/calls) and then run the real programs. With a gate, pg_dump
    first creates gate/reached and waits for gate/open (two minutes at most)."""
    directory.mkdir()
    for name in ("pg_dump", "pg_restore", "psql"):
        real = shutil.which(name)
        assert real, f"{name} is not installed"
        record = f'printf \'%s\\t%s\\t%s\\n\' {name} "${{PGPASSWORD-<unset>}}" "$*" >> {directory}/calls'
        lines = ["#!/bin/sh", record]
        if gate is not None and name == "pg_dump":
            gate.mkdir(exist_ok=True)
            lines += [
                f"touch {gate}/reached",
                f"n=0; while [ ! -e {gate}/open ] && [ $n -lt 1200 ]; do sleep 0.1; n=$((n + 1)); done",
            ]
        lines.append(f'exec {real} "$@"')
        wrapper = directory / name
        wrapper.write_text("\n".join(lines) + "\n")
        wrapper.chmod(0o755)
    return {"PATH": f"{directory}{os.pathsep}{os.environ['PATH']}"}


def test_a_backup_taken_during_writes_holds_every_row_acknowledged_before_it(app, processes, credit, tmp_path):
    writer = Writer(app, credit)
    writer.start()
    wait_until(lambda: len(writer.acknowledged) >= 100 or writer.error is not None, timeout=30)
    acknowledged_before = set(writer.acknowledged)
    target = tmp_path / "backups" / "during-writes.backup"
    gate = tmp_path / "gate"
    env = _clients(tmp_path / "bin", gate) if ON_POSTGRESQL else {}
    backup = processes._start("backup", [str(BIN / "flask"), "--app", "app", "backup", str(target)], env)
    during: set[int] = set()
    if ON_POSTGRESQL:
        # pg_dump waits at the gate with the backup's snapshot exported and its transaction open: the
        # writer must go on committing meanwhile, and nothing it commits from now on can be in the backup.
        wait_until(lambda: (gate / "reached").exists(), backup, timeout=60)
        mark = len(writer.acknowledged) + 1  # the write being acknowledged now may have committed before
        wait_until(lambda: len(writer.acknowledged) >= mark + 50 or writer.error is not None, backup, timeout=60)
        during = set(writer.acknowledged[mark:])
        assert backup.alive() and not (gate / "open").exists()  # all of them while the backup read
        (gate / "open").touch()
    wait_until(lambda: not backup.alive(), timeout=300)
    writer.stop.set()
    writer.join(timeout=30)
    assert writer.error is None, writer.error  # every write of the burst was acknowledged
    assert backup.popen.returncode == 0, backup.output()
    assert "Scores verified: the aggregates match the ledger." in backup.output()
    assert [path.name for path in target.parent.iterdir()] == [target.name], "no partial file is left"
    assert target.stat().st_mode & 0o777 == 0o600, "a backup holds personal data: its owner's only"

    _settle()
    restored = processes.flask("restore", str(target), "--yes")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    in_backup = set(db.session.scalars(select(LedgerEntry.cause_id)))
    _settle()
    assert acknowledged_before <= in_backup
    assert in_backup <= set(writer.acknowledged)  # nothing there that was never committed
    assert in_backup.isdisjoint(during)  # the backup is the snapshot it took, not a blend
    assert f"Ledger rows: {len(in_backup)};" in backup.output()
    assert not verify()


def test_a_backup_waits_for_no_writer_and_no_writer_waits_for_it(app, processes, credit, tmp_path):
    """A write stays uncommitted, holding its locks (on SQLite the database's one write lock), for the
    whole backup: the backup completes meanwhile, without that write, and the write then commits.
    Locks conflict both ways, so a backup that needs none a writer holds can make no writer wait."""
    target = tmp_path / "beside-a-writer.backup"
    with immediate_transactions():
        credit(1)
        db.session.commit()
        committed = db.session.scalar(select(func.count()).select_from(LedgerEntry))
        credit(2)
        db.session.flush()
        # A backup that waited for this writer would fail here, not hang: SQLite's busy timeout, and
        # on PostgreSQL a lock timeout for pg_dump and the backup's own connection.
        taken = processes.flask("backup", str(target), PGOPTIONS="-c lock_timeout=10s")
        db.session.commit()
    assert taken.returncode == 0, taken.stdout + taken.stderr
    assert f"Ledger rows: {committed};" in taken.stdout  # the snapshot before the open write
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) > committed
    _settle()
    assert not verify()


def test_restore_after_damage_brings_back_the_backup_exactly(app, processes, runner, credit, tmp_path):
    _committed(credit, *range(1, 31))
    state, schema = _state(), _schema()
    target = tmp_path / "nightly.backup"
    _backup(runner, target)

    with immediate_transactions():
        db.session.execute(delete(LedgerEntry).where(LedgerEntry.cause_id <= 5))
        db.session.execute(update(UnitScore).values(points=UnitScore.points + 7))
        credit(99)
        db.session.commit()
    assert verify()
    assert _state() != state
    _settle()

    restored = processes.flask("restore", str(target), "--yes")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "Ledger rows: 30;" in restored.stdout and "Scores verified" in restored.stdout
    assert _state() == state
    assert _schema() == schema
    checked = runner.invoke(args=["verify-scores"])
    assert checked.exit_code == 0, checked.output


def _sqlite_file(path: Path, *tables: str) -> None:
    connection = sqlite3.connect(path)
    for table in tables:
        connection.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)")
    connection.commit()
    connection.close()


# Each case writes a candidate at `path` (a good backup is at `backup`) and returns what the refusal says.
def _missing(backup: Path, path: Path) -> str:
    return "no such file"


def _text(backup: Path, path: Path) -> str:
    path.write_text("id,points\n1,5\n")
    return "not a backup"


def _empty(backup: Path, path: Path) -> str:
    path.write_bytes(b"")
    return "not a backup"


def _another_programs_sqlite(backup: Path, path: Path) -> str:
    _sqlite_file(path, "notes")
    return "configured database is PostgreSQL" if ON_POSTGRESQL else "not a ThiĐua backup"


def _other_database(backup: Path, path: Path) -> str:
    """A backup of the other database: a SQLite file on PostgreSQL, a pg_dump archive's header on SQLite."""
    if ON_POSTGRESQL:
        _sqlite_file(path, "alembic_version", "ledger_entry")
        return "is a SQLite backup, but the configured database is PostgreSQL"
    path.write_bytes(b"PGDMP" + bytes(200))
    return "is a PostgreSQL backup, but the configured database is SQLite"


def _cut_in_half(backup: Path, path: Path) -> str:
    """A backup cut short (a full disk, an interrupted copy) is refused before anything changes."""
    content = backup.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    return "Nothing restored"


def _cut_at_the_end(backup: Path, path: Path) -> str:
    """Cut past a pg_dump archive's table of contents, which alone `pg_restore --list` reads."""
    content = backup.read_bytes()
    path.write_bytes(content[:-10])
    return "Nothing restored"


REFUSALS = {
    "missing": _missing,
    "text": _text,
    "empty": _empty,
    "another program's SQLite": _another_programs_sqlite,
    "the other database's backup": _other_database,
    "cut in half": _cut_in_half,
    "cut at the end": _cut_at_the_end,
}


@pytest.mark.parametrize("case", REFUSALS)
def test_restore_refuses_what_is_not_a_whole_backup_and_changes_nothing(app, runner, credit, tmp_path, case):
    _committed(credit, *range(1, 11))
    backup = tmp_path / "good.backup"
    _backup(runner, backup)
    _committed(credit, 11)  # written after the backup: a restore would lose it
    state, schema = _state(), _schema()
    path = tmp_path / "candidate"
    expected = REFUSALS[case](backup, path)

    result = runner.invoke(args=["restore", str(path), "--yes"])
    assert result.exit_code == 1, result.output
    assert "Nothing restored" in result.output and expected in result.output, result.output
    assert _state() == state
    assert _schema() == schema
    assert not verify()


def test_restore_asks_before_replacing_the_database(app, runner, credit, tmp_path):
    _committed(credit, 1)
    backup = tmp_path / "good.backup"
    _backup(runner, backup)
    _committed(credit, 2)
    state = _state()
    for answer in ("n\n", ""):
        result = runner.invoke(args=["restore", str(backup)], input=answer)
        assert result.exit_code == 1 and "Replace the whole database" in result.output, result.output
        assert _state() == state


def test_keep_deletes_only_older_backups_this_command_named(runner, backup_dir):
    older = [
        backup_dir / f"thidua-2026010{day}T020000Z.{extension}"
        for day, extension in ((1, "dump"), (2, "sqlite3"), (3, "dump"))
    ]
    others = [
        backup_dir / "before-upgrade.sqlite3",
        backup_dir / "thidua-notes.txt",
        backup_dir / ".thidua-20260104T020000Z.sqlite3.x.partial",
    ]
    for path in older + others:
        path.write_text("kept by name")

    result = runner.invoke(args=["backup", "--keep", "2"])
    assert result.exit_code == 0, result.output
    written = next(path for path in backup_dir.iterdir() if path not in older + others)
    assert written.name.startswith("thidua-2") and f"Backup written: {written}" in result.output
    assert sorted(backup_dir.iterdir()) == sorted([written, older[2], *others])
    assert f"Deleted old backup {older[0]}." in result.output

    # A backup whose scores do not verify exits 1 and deletes nothing, however small --keep is.
    with immediate_transactions():
        db.session.execute(update(UnitScore).values(points=UnitScore.points + 7))
        db.session.commit()
    damaged = runner.invoke(args=["backup", str(backup_dir / "thidua-29991231T000000Z.sqlite3"), "--keep", "1"])
    assert damaged.exit_code == 1 and "stored" in damaged.output, damaged.output
    assert older[2].exists() and written.exists()

    # A backup never replaces a file.
    refused = runner.invoke(args=["backup", str(written)])
    assert refused.exit_code == 1 and "already exists" in refused.output, refused.output
    assert not [path for path in backup_dir.iterdir() if path.name.endswith(".partial") and path not in others]


def test_keep_removes_partial_files_a_crashed_backup_left_an_hour_ago(runner, backup_dir):
    crashed = backup_dir / ".thidua-20261201T023000Z.dump.k3j9x_2a.partial"  # a backup killed midway
    running = backup_dir / ".thidua-20261203T023000Z.dump.p0q8w7e6.partial"  # one being written now
    by_hand = backup_dir / ".before-upgrade.sqlite3.a1b2c3d4.partial"  # a crashed backup to a chosen name
    notes = backup_dir / ".notes.partial"  # not a name a backup gives
    for path in (crashed, running, by_hand, notes):
        path.write_text("half a backup")
    an_hour_and_a_minute_ago = time.time() - 3660
    for path in (crashed, by_hand, notes):
        os.utime(path, (an_hour_and_a_minute_ago, an_hour_and_a_minute_ago))

    result = runner.invoke(args=["backup", "--keep", "3"])
    assert result.exit_code == 0, result.output
    assert not crashed.exists() and not by_hand.exists()
    assert running.exists() and notes.exists()
    assert f"Deleted partial file {crashed}, left by a backup that did not finish." in result.output


# A later release's migration: a table referencing the accounts (pg_restore --clean could not drop
# user_account while it is there) and a newer revision.
LATER_MIGRATION = [
    "CREATE TABLE later_note (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES user_account (id))",
    "INSERT INTO later_note (id, account_id) VALUES (1, (SELECT min(id) FROM user_account))",
    "UPDATE alembic_version SET version_num = 'later0000001'",
]


def _set_revision(revision: str) -> None:
    with immediate_transactions():
        db.session.execute(text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision})
        db.session.commit()


def test_going_back_a_release_restores_the_backup_exactly_over_a_newer_schema(app, processes, credit, tmp_path):
    """Upgrading's way back: the backup of step 1 restored over a database a later release migrated.
    Afterwards the schema is the backup's: the later table is gone, the revision the backup's."""
    _committed(credit, *range(1, 11))
    state, schema = _state(), _schema()
    target = tmp_path / "before-the-upgrade.backup"
    taken = processes.flask("backup", str(target))
    assert taken.returncode == 0, taken.stdout + taken.stderr
    try:
        with immediate_transactions():
            for statement in LATER_MIGRATION:
                db.session.execute(text(statement))
            credit(11)
            db.session.commit()
        assert _schema() != schema

        restored = processes.flask("restore", str(target), "--yes")
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert _state() == state and _schema() == schema
        assert "db upgrade" not in restored.stdout  # the backup's revision is this release's
    finally:  # the next tests need this release's schema, whatever failed
        _settle()
        with immediate_transactions():
            db.session.execute(text("DROP TABLE IF EXISTS later_note"))
            db.session.commit()
        _set_revision(schema[-1][0][0])


def test_a_backup_from_an_earlier_release_restores_and_says_to_upgrade(app, processes, credit, tmp_path):
    _committed(credit, 1)
    revision = _schema()[-1][0][0]
    earlier = ScriptDirectory.from_config(migrate.get_config()).get_revision(revision).down_revision
    _set_revision(earlier)  # as the release before the last migration left it
    try:
        target = tmp_path / "last-year.backup"
        taken = processes.flask("backup", str(target))
        assert taken.returncode == 0, taken.stdout + taken.stderr
        _set_revision(revision)

        restored = processes.flask("restore", str(target), "--yes")
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert f"schema revision {earlier}" in restored.stdout
        assert (
            f"The backup's schema revision {earlier} is not this release's ({revision}): "
            "run `flask --app app db upgrade` before starting the web and scheduler processes." in restored.stdout
        ), restored.stdout
    finally:
        _set_revision(revision)


@pytest.mark.skipif(not ON_POSTGRESQL, reason="pg_restore's script applied by psql: PostgreSQL's restore")
def test_an_archive_that_fails_halfway_through_the_restore_changes_nothing(app, runner, credit, tmp_path):
    _committed(credit, *range(1, 11))
    backup = tmp_path / "good.backup"
    _backup(runner, backup)
    _committed(credit, 11)
    state, schema = _state(), _schema()
    cut = tmp_path / "cut.backup"
    cut.write_bytes(backup.read_bytes()[:-10])  # open_backup would refuse it: past that check on purpose

    with pytest.raises(BackupError, match="the database is unchanged: pg_restore failed"):
        restore(Backup(cut, "postgresql"))
    assert _state() == state and _schema() == schema


@pytest.mark.skipif(not ON_POSTGRESQL, reason="pg_dump, pg_restore and psql are PostgreSQL's programs")
def test_the_postgresql_programs_get_the_password_of_the_url_and_never_on_their_command_line(
    app, processes, credit, tmp_path
):
    """CI's PostgreSQL trusts local connections, so a password that never reached the programs would
    pass unnoticed: they are wrapped to write down what they were given. The role and its password
    exist, and the password has characters a URL must escape."""
    _committed(credit, 1)
    role, password = f"{make_url(DATABASE_URL).database}_backup", "pa:ss@w/rd %1"
    _settle()
    db.session.execute(text(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'"))
    db.session.commit()
    env = {
        "DATABASE_URL": make_url(DATABASE_URL).set(username=role, password=password).render_as_string(False),
        **_clients(tmp_path / "bin"),
    }
    try:
        target = tmp_path / "with-a-password.backup"
        taken = processes.flask("backup", str(target), **env)
        assert taken.returncode == 0, taken.stdout + taken.stderr
        restored = processes.flask("restore", str(target), "--yes", **env)
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert password not in taken.stdout + taken.stderr + restored.stdout + restored.stderr
    finally:
        _settle()
        # The restore made the role the owner of everything it created.
        for statement in (f"REASSIGN OWNED BY {role} TO CURRENT_USER", f"DROP OWNED BY {role}", f"DROP ROLE {role}"):
            db.session.execute(text(statement))
        db.session.commit()

    calls = [line.split("\t") for line in (tmp_path / "bin" / "calls").read_text().splitlines()]
    connecting = [(name, given) for name, given, arguments in calls if "--dbname=" in arguments]
    assert sorted({name for name, _ in connecting}) == ["pg_dump", "psql"]
    assert all(given == password for _, given in connecting), connecting
    for _, _, arguments in calls:  # `ps` shows every user of the machine the command lines
        assert "pa:ss" not in arguments and "pa%3Ass" not in arguments, arguments
        assert role in arguments or "--dbname=" not in arguments
