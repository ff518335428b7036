import click
from flask.cli import with_appcontext

from accounts.services import UserFields, create_user, find_user, password_problem, set_password
from admin.services import UnitFields, create_unit, find_unit
from models import db, immediate_transactions


@click.command("create-admin")
@click.argument("username")
@click.option("--display-name", required=True)
@click.option("--unit-code", required=True, help="Code of the province unit the admin belongs to.")
@click.option("--unit-name", help="Creates the province unit with this name if the code does not exist yet.")
@click.password_option()
@with_appcontext
def create_admin(username: str, display_name: str, unit_code: str, unit_name: str | None, password: str) -> None:
    """Create a province admin with a password of your choice: the way into a new installation."""
    problem = password_problem(password, username)
    if problem:
        raise click.ClickException(problem)
    if find_user(username) is not None:
        raise click.ClickException(f"User {username} already exists.")
    with immediate_transactions():
        unit = find_unit(unit_code)
        if unit is None:
            if not unit_name:
                raise click.ClickException(f"No unit {unit_code}; pass --unit-name to create the province.")
            unit = create_unit(UnitFields(unit_code.upper(), unit_name, "province", None))
        user, _one_time = create_user(UserFields(username, display_name, "admin", unit))
        set_password(user, password)
        db.session.commit()
    click.echo(f"Created admin {user.username} in {unit.name}.")
