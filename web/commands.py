from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from models import db, immediate_transactions
from scoring import rebuild, verify
from web.backups import (
    BackupError,
    Contents,
    back_up,
    database_label,
    default_path,
    open_backup,
    prune,
    release_revisions,
    remove_stale_partials,
    restore,
)


def _echo_mismatches(mismatches: list[str]) -> None:
    for line in mismatches[:200]:
        click.echo(line)
    if len(mismatches) > 200:
        click.echo(f"... and {len(mismatches) - 200} more")


@click.command("verify-scores")
@click.option("--repair", is_flag=True, help="Rebuild the aggregates from the ledger when they differ.")
@with_appcontext
def verify_scores(repair: bool) -> None:
    """Recompute every aggregate from the ledger; exit 1 listing mismatches."""
    with immediate_transactions():
        mismatches = verify()
        if mismatches and repair:
            rebuild()
            db.session.commit()
            click.echo(f"Rebuilt the aggregates; {len(mismatches)} mismatches repaired.")
            return
        db.session.rollback()
    if mismatches:
        _echo_mismatches(mismatches)
        raise SystemExit(1)
    click.echo("Scores verified: the aggregates match the ledger.")


def _echo_contents(contents: Contents) -> None:
    click.echo(
        f"Ledger rows: {contents.ledger_rows}; contributions: {contents.contributions}; "
        f"accounts: {contents.accounts}; schema revision {contents.revision}."
    )
    if contents.mismatches:
        _echo_mismatches(contents.mismatches)
    else:
        click.echo("Scores verified: the aggregates match the ledger.")


@click.command("backup")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    help=(
        "After a good backup, delete all but the N newest backups this command named in BACKUP_DIR, "
        "and partial files that backups killed midway left there over an hour ago."
    ),
)
@with_appcontext
def backup_command(path: Path | None, keep: int | None) -> None:
    """Back up the database to PATH (default: a timestamped file in BACKUP_DIR) and check it.

    SQLite through its online backup API, PostgreSQL through pg_dump; safe while others write.
    Exits 1 when the backup fails or its aggregates do not match its ledger.
    """
    backup_dir = Path(current_app.config["BACKUP_DIR"])
    try:
        written = back_up(path or default_path(backup_dir, datetime.now(UTC)))
    except BackupError as error:
        raise click.ClickException(f"Backup failed: {error}") from None
    click.echo(f"Backup written: {written.path} ({written.size} bytes).")
    _echo_contents(written.contents)
    if written.contents.mismatches:
        click.echo("The backup's aggregates do not match its ledger: no older backup was deleted.", err=True)
        raise SystemExit(1)
    if keep:
        for old in prune(backup_dir, keep):
            click.echo(f"Deleted old backup {old}.")
        for partial in remove_stale_partials(backup_dir):
            click.echo(f"Deleted partial file {partial}, left by a backup that did not finish.")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the database without asking.")
@with_appcontext
def restore_command(path: Path, yes: bool) -> None:
    """Replace the whole database with the backup at PATH, then check it with verify-scores.

    Stop the web and scheduler processes first. Exits 1, changing nothing, when PATH is not a backup
    of this kind of database; exits 1 after restoring when its aggregates do not match its ledger.
    """
    try:
        backup = open_backup(path)
    except BackupError as error:
        raise click.ClickException(f"Nothing restored: {error}") from None
    if not yes:
        click.confirm(
            f"Replace the whole database {database_label()} with {path}? Everything written since is lost",
            abort=True,
        )
    try:
        contents = restore(backup)
    except BackupError as error:
        raise click.ClickException(f"Nothing restored: {error}") from None
    click.echo(f"Restored {path} into {database_label()}.")
    _echo_contents(contents)
    releases = release_revisions()
    if contents.revision not in releases:
        click.echo(
            f"The backup's schema revision {contents.revision} is not this release's ({', '.join(sorted(releases))}): "
            "run `flask --app app db upgrade` before starting the web and scheduler processes."
        )
    if contents.mismatches:
        click.echo("The aggregates do not match the ledger: `flask verify-scores --repair` rebuilds them.", err=True)
        raise SystemExit(1)
