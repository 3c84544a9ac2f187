"""`flask --app wsgi backup DEST` and `flask --app wsgi restore SRC`: the database and the stored files."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from portal import storage
from portal.extensions import db
from portal.ops import backup as backups


@click.command("backup")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_command(dest: Path) -> None:
    """Back up the database and the stored files into the new folder DEST, with a manifest of checksums."""
    try:
        done = backups.backup(dest, engine=db.engine, store=storage.get_storage())
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Backed up the {done.engine} database ({done.tables} tables) and {done.files} file(s), "
        f"{done.bytes} bytes, into {dest}."
    )


@click.command("restore")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def restore_command(src: Path) -> None:
    """Restore a backup folder SRC into an empty database and storage, checking every checksum."""
    db.session.remove()
    try:
        done = backups.restore(src, engine=db.engine, store=storage.get_storage())
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Restored the {done.engine} database ({done.tables} tables) and {done.files} file(s) from {src}."
    )
