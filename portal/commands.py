"""Top-level commands: `init` and `create-admin`. Each area adds its own group here."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from portal import seeding, storage
from portal.accounts import actions
from portal.accounts.commands import tokens_group
from portal.accounts.models import ADMIN
from portal.audit.commands import audit_group
from portal.catalogue import search_index
from portal.catalogue.commands import catalogue
from portal.extensions import db
from portal.jobs.commands import scheduler_command, worker_command
from portal.metrics.commands import metrics
from portal.ops.commands import backup_command, restore_command
from portal.sync import jobs as sync_jobs
from portal.sync import lock
from portal.sync.commands import ckan, summary


@click.command("init")
@click.option("--demo", is_flag=True, help="Also create the demo accounts and data.")
@with_appcontext
def init_command(demo: bool) -> None:
    """Migrate the database to head and load the seeds; safe to run again."""
    upgrade(directory=current_app.extensions["migrate"].directory, revision="heads")
    added = seeding.load_regions()
    indexed = search_index.index_missing(db.session.connection())  # datasets older than the index
    db.session.commit()
    click.echo(f"Database at head; {added} new region(s) seeded.")
    if indexed:
        click.echo(f"Search index: {indexed} dataset(s) added.")
    if demo:
        _demo()


def _demo() -> None:
    accounts = seeding.create_demo_accounts()
    db.session.commit()
    _demo_catalogue()
    _demo_activity()
    click.echo("Demo accounts (passwords are shown only now; keep them):")
    for account in accounts:
        shown = account.password or "(exists; password unchanged)"
        click.echo(f"  {account.role:<14} {account.email:<36} {shown}")


def _demo_activity() -> None:
    """Applications of every county, a judged and published contest round, months of site activity."""
    from portal.applications.demo import seed_demo_applications
    from portal.contest.demo import seed_demo_contest
    from portal.metrics.demo import seed_demo_activity

    made = seed_demo_applications(storage.get_storage())
    db.session.commit()
    seed_demo_contest()
    db.session.commit()
    events = seed_demo_activity()
    db.session.commit()
    from portal.feedback.demo import seed_demo_feedback

    reports = seed_demo_feedback(current_app.config["REPORT_REPLY_WORKING_DAYS"])
    db.session.commit()
    click.echo(f"Demo feedback: {reports} error reports, data requests and ratings.")
    click.echo(f"Demo applications: {made} new; demo contest ready; {events} demo activity events.")


def _demo_catalogue() -> None:
    """Load the demo catalogue through the same sync the city's CKAN goes through."""
    try:
        started = sync_jobs.start(str(seeding.DEMO_CATALOGUE), full=False, mirror=True)
        finished = sync_jobs.carry_out(started.id, started.source.location, full=False, mirror=True)
    except lock.SyncBusy as exc:
        raise click.ClickException("a sync is running; run init again when it has finished") from exc
    click.echo("Demo catalogue: " + summary(finished))


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


COMMANDS = [
    init_command,
    audit_group,
    create_admin_command,
    tokens_group,
    ckan,
    catalogue,
    metrics,
    worker_command,
    scheduler_command,
    backup_command,
    restore_command,
]
