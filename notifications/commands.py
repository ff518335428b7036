"""`flask notifications sweep`: the scheduler's notification job, run once by hand."""

import click
from flask import current_app
from flask.cli import with_appcontext

from notifications.tasks import run_sweep


@click.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Send the reminders and digests due now and e-mail the outbox, as the scheduler's job does."""
    done = run_sweep(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(", ".join(f"{key}={value}" for key, value in sorted(done.items())) or "nothing to do")
