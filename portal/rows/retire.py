"""Keep rows only of resources that may be public: drop a row table once its resource is withdrawn.

A resource keeps its rows while it is active and its dataset published, or held for the office's
review of personal data (待脱敏审核: nobody reads them meanwhile, and a release serves them at once).
Any other withdrawal (graded 3 or 4, ungraded when those are withheld, deleted or made private in
CKAN, a name clash) or a resource CKAN dropped loses its table and its `row_tables` record, so that
data which may not be published does not sit in the store. The sync loads only what `keeps_rows`
allows and calls `drop_retired` at the end of every run; a table that cannot be dropped keeps its
record, and the next run tries again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from portal.audit import log as audit_log
from portal.catalogue import rules
from portal.catalogue.models import Dataset, Resource
from portal.rows import loader
from portal.rows.models import RowTable

UNDER_REVIEW = rules.WITHHELD_PERSONAL  # a hold the office may still release


def keeps_rows() -> ColumnElement[bool]:
    """Return "the resource may keep its rows", a condition on `Resource` joined to its `Dataset`."""
    return (Resource.state == "active") & (rules.published() | (Dataset.withdrawn_reason == UNDER_REVIEW))


@dataclass(frozen=True)
class Retired:
    """A row table dropped (or, with an `error`, left for the next run)."""

    resource: str  # the resource's CKAN id
    dataset: str
    table: str
    records: int
    error: str = ""


def retired(session: Session) -> list[RowTable]:
    """The row tables whose resources may no longer keep their rows, oldest first."""
    query = (
        select(RowTable)
        .join(RowTable.resource)
        .join(Resource.dataset)
        .where(~keeps_rows())
        .order_by(RowTable.id)
    )
    return list(session.scalars(query))


def drop_retired(session: Session, *, commit: Callable[[], None], run_id: int | None = None) -> list[Retired]:
    """Drop each retired row table with its record and an audit row, committing each on its own.

    A table that cannot be dropped is rolled back and reported with its error (it stays retired,
    so the next call tries again); the others go on."""
    done = []
    for row_table in retired(session):
        resource = row_table.resource
        what = Retired(resource.ckan_id, resource.dataset.name, row_table.table_name, row_table.records)
        reason = resource.dataset.withdrawn_reason if resource.is_active else "resource_removed"
        try:
            loader.remove(session, row_table)
            audit_log.record(
                session,
                "resource.rows_dropped",
                object_type="resource",
                object_id=what.resource,
                before={"dataset": what.dataset, "table": what.table, "records": what.records},
                after={"table": None, "reason": reason, "sync_run": run_id},
            )
            commit()
        except SQLAlchemyError as exc:
            session.rollback()
            what = replace(what, error=f"{type(exc).__name__}: {exc}"[:500])
        done.append(what)
    return done
