"""Top-level commands: `init` and `create-admin`. Each area adds its own group here."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from portal import seeding
from portal.accounts import actions
from portal.accounts.models import ADMIN
from portal.extensions import db
from portal.sync.commands import ckan


@click.command("init")
@click.option("--demo", is_flag=True, help="Also create the demo accounts and data.")
@with_appcontext
def init_command(demo: bool) -> None:
    """Migrate the database to head and load the seeds; safe to run again."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    added = seeding.load_regions()
    db.session.commit()
    click.echo(f"Database at head; {added} new region(s) seeded.")
    if demo:
        _demo()


def _demo() -> None:
    accounts = seeding.create_demo_accounts()
    db.session.commit()
    click.echo("Demo accounts (passwords are shown only now; keep them):")
    for account in accounts:
        shown = account.password or "(exists; password unchanged)"
        click.echo(f"  {account.role:<14} {account.email:<36} {shown}")


@click.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True, default="数据局管理员")
@click.password_option()
@with_appcontext
def create_admin_command(email: str, name: str, password: str) -> None:
    """Create an admin account of the city data office."""
    try:
        actions.create_user(
            email=email,
            password=password,
            display_name=name,
            role=ADMIN,
            min_length=current_app.config["PASSWORD_MIN_LENGTH"],
        )
    except actions.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Admin {actions.normalise_email(email)} created.")


COMMANDS = [init_command, create_admin_command, ckan]
