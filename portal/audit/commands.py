"""`flask --app wsgi audit verify|export|prune`: check the chain, hand the log to the city's log
platform, apply the retention setting."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from portal.audit import log
from portal.dbtypes import utcnow
from portal.extensions import db

audit_group = AppGroup("audit", help="The audit log: verify its hash chain, export it, prune it.")


@audit_group.command("verify")
def verify_command() -> None:
    """Walk the hash chain; exit 1 naming the first row changed or whose predecessor was removed."""
    verdict = log.verify(db.session)
    if not verdict.ok:
        good = f"{verdict.rows} rows good before it"
        click.echo(f"BROKEN at row {verdict.broken_at}: {verdict.problem} ({good})")
        sys.exit(1)
    click.echo(f"OK: {verdict.rows} rows, head {verdict.head}")


@audit_group.command("export")
@click.option("--since", help="Only rows at or after this time (ISO 8601, UTC unless it names a zone).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
def export_command(since: str | None, fmt: str) -> None:
    """Write the rows (oldest first) to standard output."""
    start = None
    if since:
        try:
            start = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter(f"not an ISO 8601 time: {since!r}", param_hint="--since") from None
    rows = log.rows_since(db.session, start)
    (log.write_csv if fmt == "csv" else log.write_jsonl)(rows, _Echo())


class _Echo:
    """A text stream onto standard output, through click (so that test runners capture it)."""

    def write(self, text: str) -> int:
        click.echo(text, nl=False)
        return len(text)


@audit_group.command("prune")
def prune_command() -> None:
    """Delete rows older than AUDIT_RETENTION_DAYS."""
    cutoff = utcnow() - timedelta(days=current_app.config["AUDIT_RETENTION_DAYS"])
    removed = log.prune(db.session, cutoff)
    db.session.commit()
    click.echo(f"{removed} row(s) older than {cutoff.isoformat()} removed.")
