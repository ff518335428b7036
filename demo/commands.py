import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from demo.seed import DEMO_LOGINS, DEMO_PASSWORD, seed_demo_data
from models import Unit, db, immediate_transactions


@click.command("seed-demo")
@click.option("--scale", type=click.Choice(["small", "province"]), default="small", show_default=True)
@click.option("--if-empty", is_flag=True, help="Only seed when the database has no units yet.")
@with_appcontext
def seed_demo(scale: str, if_empty: bool) -> None:
    """Load realistic demo data (idempotent) and print the demo logins."""
    if current_app.config["PRODUCTION"]:
        raise click.ClickException("seed-demo is for development and demos; THIDUA_ENV=production refuses it.")
    with immediate_transactions():
        if if_empty and db.session.scalar(select(func.count()).select_from(Unit)):
            click.echo("Database already has units; demo data not added.")
        else:
            units, users = seed_demo_data(scale)
            db.session.commit()
            click.echo(f"Added {units} units and {users} users ({scale} demo).")
    click.echo(f"Demo logins at http://127.0.0.1:5000/login (password for all: {DEMO_PASSWORD}):")
    for username, who in DEMO_LOGINS:
        click.echo(f"  {username:<16} {who}")
