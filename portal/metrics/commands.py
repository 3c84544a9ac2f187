"""`flask --app wsgi metrics …`: roll up activity events, purge old raw events.

Run `metrics rollup` after each catalogue sync and on a schedule (hourly, say): it is incremental
and idempotent. Run `metrics purge-events` daily: it keeps `EVENT_RETENTION_DAYS` (400 by default).
"""

from __future__ import annotations

from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.metrics import retention, rollup

metrics = AppGroup("metrics", help="Roll up activity into statistics; purge old raw events.")


def _day(ctx, param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD") from None


@metrics.command("rollup")
@click.option(
    "--since", callback=_day, help="First day to roll up again (YYYY-MM-DD); default: the watermark."
)
@click.option("--until", callback=_day, help="Last day (YYYY-MM-DD); default: today in Asia/Shanghai.")
def rollup_command(since: date | None, until: date | None) -> None:
    """Roll up activity events per day, county and kind, and snapshot the catalogue."""
    try:
        result = rollup.roll_up(now=utcnow(), since=since, until=until)
    except rollup.RollupError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    span = f"{result.first} … {result.last}" if result.first else "nothing new"
    click.echo(
        f"Rolled up {result.days} day(s) ({span}): {result.events} event(s) counted, "
        f"{result.bot_events} bot event(s) left out; "
        f"catalogue snapshot of {result.regions_snapshotted} region(s)."
    )


@metrics.command("purge-events")
@click.option(
    "--days", type=click.IntRange(min=1), help="Keep this many days; default: EVENT_RETENTION_DAYS."
)
def purge_command(days: int | None) -> None:
    """Delete raw events older than the retention window whose days are rolled up for good."""
    keep = days or int(current_app.config.get("EVENT_RETENTION_DAYS", 400))
    result = retention.purge(older_than=utcnow() - timedelta(days=keep))
    db.session.commit()
    message = f"Purged {result.deleted} raw event(s) older than {keep} day(s)"
    if result.waiting:
        message += f"; kept those from {result.waiting} on, whose rollup is missing or not final"
    click.echo(message + ".")
