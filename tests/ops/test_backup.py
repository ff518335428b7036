"""`flask backup` and `flask restore` on the test database, SQLite or PostgreSQL (issue 14, item 6).

A writer awards points in its own committed transactions, as approvals do, while the real CLI takes
a backup: every row acknowledged before the backup began must be in it and its scores must verify.
A restore brings back exactly the backup's rows, aggregates and schema; anything that is not a
backup of this database is refused and changes nothing; `--keep` deletes only this command's files.
"""

import sqlite3
import threading
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update

from domain.enums import LedgerCause
from models import LedgerEntry, ScoreVersion, UnitScore, db, immediate_transactions
from scoring import Award, award, credited_unit_ids, verify
from tests.conftest import DATABASE_URL
from tests.ops.processes import wait_until

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


def _schema() -> list:
    """Tables, columns, constraints and indexes, and the migration revision: what the next tests rely on."""
    queries = SCHEMA_QUERIES[db.engine.dialect.name] + ["SELECT version_num FROM alembic_version"]
    schema = [db.session.execute(text(query)).all() for query in queries]
    _settle()
    return schema


def _backup(runner, path: Path) -> None:
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output


def test_a_backup_taken_during_writes_holds_every_row_acknowledged_before_it(app, processes, credit, tmp_path):
    writer = Writer(app, credit)
    writer.start()
    wait_until(lambda: len(writer.acknowledged) >= 100 or writer.error is not None, timeout=30)
    acknowledged_before = set(writer.acknowledged)
    target = tmp_path / "backups" / "during-writes.backup"
    taken = processes.flask("backup", str(target))
    acknowledged_during = len(writer.acknowledged)
    writer.stop.set()
    writer.join(timeout=30)
    assert writer.error is None, writer.error
    assert taken.returncode == 0, taken.stdout + taken.stderr
    assert "Scores verified: the aggregates match the ledger." in taken.stdout
    assert acknowledged_during > len(acknowledged_before), "the writer went on while the backup was taken"
    assert [path.name for path in target.parent.iterdir()] == [target.name], "no partial file is left"
    assert target.stat().st_mode & 0o777 == 0o600, "a backup holds personal data: its owner's only"

    _settle()
    restored = processes.flask("restore", str(target), "--yes")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    in_backup = set(db.session.scalars(select(LedgerEntry.cause_id)))
    _settle()
    assert acknowledged_before <= in_backup
    assert in_backup <= set(writer.acknowledged)  # nothing there that was never committed
    assert f"Ledger rows: {len(in_backup)};" in taken.stdout
    assert not verify()


def test_restore_after_damage_brings_back_the_backup_exactly(app, processes, runner, credit, tmp_path):
    with immediate_transactions():
        for cause_id in range(1, 31):
            credit(cause_id)
        db.session.commit()
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
    with immediate_transactions():
        for cause_id in range(1, 11):
            credit(cause_id)
        db.session.commit()
    backup = tmp_path / "good.backup"
    _backup(runner, backup)
    with immediate_transactions():
        credit(11)  # written after the backup: a restore would lose it
        db.session.commit()
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
    with immediate_transactions():
        credit(1)
        db.session.commit()
    backup = tmp_path / "good.backup"
    _backup(runner, backup)
    with immediate_transactions():
        credit(2)
        db.session.commit()
    state = _state()
    for answer in ("n\n", ""):
        result = runner.invoke(args=["restore", str(backup)], input=answer)
        assert result.exit_code == 1 and "Replace the whole database" in result.output, result.output
        assert _state() == state


def test_keep_deletes_only_older_backups_this_command_named(app, runner, credit, tmp_path):
    with immediate_transactions():
        credit(1)
        db.session.commit()
    backup_dir = tmp_path / "backups"
    backup_dir.mkdir()
    app.config["BACKUP_DIR"] = str(backup_dir)
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
