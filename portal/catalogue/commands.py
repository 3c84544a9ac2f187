"""`flask --app wsgi catalogue …`: look after the catalogue's search index."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.catalogue import search_index
from portal.extensions import db

catalogue = AppGroup("catalogue", help="Look after the data catalogue.")


@catalogue.command("reindex")
def reindex_command() -> None:
    """Rebuild the full-text search index of every dataset."""
    count = search_index.reindex(db.session.connection())
    db.session.commit()
    click.echo(f"Search index rebuilt: {count} dataset(s).")
