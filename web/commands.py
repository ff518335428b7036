import click
from flask.cli import with_appcontext

from models import db, immediate_transactions
from scoring import rebuild, verify


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
        for line in mismatches[:200]:
            click.echo(line)
        if len(mismatches) > 200:
            click.echo(f"... and {len(mismatches) - 200} more")
        raise SystemExit(1)
    click.echo("Scores verified: the aggregates match the ledger.")
