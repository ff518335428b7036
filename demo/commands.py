import random

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select, text

from campaigns.tasks import run_campaign_events
from core.clock import now
from demo.campaigns import add_demo_contributions, seed_demo_campaigns, seed_demo_quiz
from demo.seed import DEMO_LOGINS, DEMO_PASSWORD, seed_demo_data
from models import Unit, db, immediate_transactions
from plans.demo import seed_demo_plan
from quizzes.services import seed_question_bank
from training.services import seed_courses

# A fresh demo gets enough activity for boards and a review queue to show something.
STARTER_CONTRIBUTIONS = {"small": 400, "province": 5_000, "national": 50_000}


@click.command("seed-demo")
@click.option(
    "--scale",
    type=click.Choice(list(STARTER_CONTRIBUTIONS)),
    default="small",
    show_default=True,
    help="small: six wards; province: 95 localities, ~13,000 members; national: ten times the province.",
)
@click.option("--contributions", type=click.IntRange(min=0), default=0, help="Add N more contributions.")
@click.option("--if-empty", is_flag=True, help="Only seed when the database has no units yet.")
@with_appcontext
def seed_demo(scale: str, contributions: int, if_empty: bool) -> None:
    """Load realistic demo data (idempotent) and print the demo logins."""
    if current_app.config["PRODUCTION"]:
        raise click.ClickException("seed-demo is for development and demos; THIDUA_ENV=production refuses it.")
    at = now()
    rng = random.Random()
    with immediate_transactions():
        if if_empty and db.session.scalar(select(func.count()).select_from(Unit)):
            click.echo("Database already has units; demo data not added.")
        else:
            units, users = seed_demo_data(scale)
            seed_courses()
            seed_question_bank()
            new_campaigns = seed_demo_campaigns(at)
            seed_demo_plan(at)
            seed_demo_quiz(at)
            db.session.commit()
            click.echo(f"Added {units} units, {users} users and {new_campaigns} campaigns ({scale} demo).")
            if new_campaigns:
                add_demo_contributions(STARTER_CONTRIBUTIONS[scale], at, rng, pending_share=0.05)
        if contributions:
            added = add_demo_contributions(contributions, at, rng)
            click.echo(f"Added {added} approved contributions.")
        run_campaign_events(at)
        db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # What autovacuum would do a minute or more after a bulk load, done now. ANALYZE: until then
        # PostgreSQL planned a board over 2,040 teams as over one, 250 ms instead of 7 (BENCHMARKS.md).
        # VACUUM: until then index-only scans still visit the table, and the first benchmark reads
        # compete with autovacuum's pass over the million new rows. VACUUM runs outside a transaction.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE)"))
    click.echo(f"Demo logins at http://127.0.0.1:5000/login (password for all: {DEMO_PASSWORD}):")
    for username, who in DEMO_LOGINS:
        click.echo(f"  {username:<16} {who}")
