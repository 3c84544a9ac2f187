"""Top-level commands: `init`, `create-admin` and `create-user`. Each area adds its own group here."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select

from portal import seeding, storage
from portal.accounts import actions
from portal.accounts.commands import tokens_group
from portal.accounts.models import ADMIN, DEVELOPER, ROLES
from portal.audit.commands import audit_group
from portal.catalogue import owners, search_index
from portal.catalogue.commands import catalogue
from portal.catalogue.models import Department
from portal.extensions import db
from portal.jobs.commands import scheduler_command, worker_command
from portal.metrics.commands import metrics
from portal.ops.commands import backup_command, restore_command
from portal.regions.models import Region
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
    from portal.feedback.owner_demo import seed_demo_owners

    accounts = seeding.create_demo_accounts()
    db.session.commit()
    _demo_catalogue()
    _demo_activity()
    accounts += seed_demo_owners()  # after the catalogue and reports: owners of the busiest departments
    db.session.commit()
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
    from portal import clock
    from portal.feedback.demo import seed_demo_link_health
    from portal.metrics import quality_trends

    checked, broken = seed_demo_link_health(storage.get_storage())
    quality_trends.take(clock.day_of(clock.now()), clock.now())  # today's snapshot counts what it found
    from portal.metrics.demo import seed_demo_quality_trend

    trend_days = seed_demo_quality_trend()
    db.session.commit()
    click.echo(f"Demo link check: {checked} mirrored copies re-read, {broken} broken.")
    click.echo(f"Demo quality trend: {trend_days} past day(s) measured.")
    from portal.accounts.usage_demo import seed_demo_usage

    days = seed_demo_usage()  # after the catalogue: the demo developer's tokens and their use
    db.session.commit()
    click.echo(f"Demo behaviour monitoring: {days} days of the demo developer's use.")
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


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True, help="The name shown on the site, e.g. 市交通运输局数据专员.")
@click.option("--role", type=click.Choice(ROLES), default=DEVELOPER, show_default=True)
@click.option("--county", default=None, help="A county's code (330402 …), for county team members.")
@click.option(
    "--department",
    "departments",
    multiple=True,
    help="A department's CKAN organization name, for data owners; repeat for several.",
)
@with_appcontext
def create_user_command(
    email: str, name: str, role: str, county: str | None, departments: tuple[str]
) -> None:
    """Create an account of any role, print its random password once; data owners get their departments."""
    region = _region(county) if county else None
    bound = _named_departments(departments)
    password = actions.generate_password(email=email, name=name)
    try:
        user = actions.create_user(
            email=email, password=password, display_name=name, role=role, region=region
        )
        owners.set_departments(user, bound, by=None)
    except (actions.AccountError, owners.OwnerError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"{role} {user.email} created; its password, shown only now:", err=True)
    click.echo(password)


def _region(code: str) -> Region:
    region = db.session.scalar(select(Region).where(Region.code == code.strip()))
    if region is None:
        raise click.ClickException(f"There is no county with the code {code!r}.")
    return region


def _named_departments(names: tuple[str, ...]) -> list[Department]:
    wanted = {name.strip() for name in names}
    found = list(db.session.scalars(select(Department).where(Department.name.in_(wanted))))
    missing = sorted(wanted - {d.name for d in found})
    if missing:
        raise click.ClickException(f"No department is named {', '.join(missing)} (CKAN organization names).")
    return found


COMMANDS = [
    init_command,
    audit_group,
    create_admin_command,
    create_user_command,
    tokens_group,
    ckan,
    catalogue,
    metrics,
    worker_command,
    scheduler_command,
    backup_command,
    restore_command,
]
