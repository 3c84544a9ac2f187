"""Load a structured resource's rows into the row store, only when it changed, resumably.

What is loaded: a CKAN DataStore table (read from the source through `datastore_search`, paged in `_id`
order), else the resource's mirrored CSV, TSV, XLSX or JSON array (read from storage as a stream). A load
is skipped while the resource's checksum (the file's SHA-256; for a DataStore table CKAN's
`last_modified` with its shape) is the one loaded. Rows go in by batches, each committed with the count of
rows loaded so far, so that a load cut short (a killed sync) resumes where it stopped when the checksum is
still the same. Once loaded, the resource's records and fields (its volume) are read from the store.

A plain function taking its collaborators: the database session, the CKAN source, the storage's `open`,
and `commit` (the sync commits; a job would too). It never touches the request.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.catalogue import masking
from portal.catalogue.models import Resource
from portal.dbtypes import utcnow
from portal.rows import readers, store
from portal.rows.models import DATASTORE, FAILED, FILE, LOADING, READY, RowTable

BATCH = 20_000


class LoadFailed(Exception):
    """The rows could not be loaded; the message says why (also kept on the row table)."""


def origin_of(resource: Resource) -> str | None:
    """Return where a resource's rows come from, or None when it has no rows to load."""
    if not resource.is_active:
        return None
    if resource.datastore_active:
        return DATASTORE
    if resource.format.upper() in readers.LOADABLE and resource.storage_key and resource.mirrored_at:
        return FILE
    return None


def checksum_of(resource: Resource, origin: str) -> str:
    if origin == FILE:
        return f"sha256:{resource.sha256 or resource.storage_key}"
    modified = resource.ckan_last_modified.isoformat() if resource.ckan_last_modified else ""
    return f"datastore:{modified}:{resource.records}:{resource.fields}"


def table_name_of(resource: Resource) -> str:
    return f"r_{resource.id}"


def load(
    session: Session,
    resource: Resource,
    *,
    source,
    open_stored: Callable[[str], BinaryIO] | None,
    commit: Callable[[], None],
    batch: int = BATCH,
) -> RowTable | None:
    """Bring the store's copy of `resource` up to date; return its row table (None: nothing to load).

    Raises LoadFailed after recording the failure on the row table.
    """
    origin = origin_of(resource)
    found = session.scalar(select(RowTable).where(RowTable.resource_id == resource.id))
    if origin is None or (origin == FILE and open_stored is None):
        if found is not None and origin is None:
            remove(session, found)
            commit()
        return None
    checksum = checksum_of(resource, origin)
    if found is not None and found.checksum == checksum and found.status == READY:
        return found
    if found is None:
        found = RowTable(resource_id=resource.id, table_name=table_name_of(resource), columns=[])
        session.add(found)
    try:
        if found.checksum != checksum or found.status != LOADING:
            fields = _fields(resource, origin, source, open_stored)
            found.origin, found.checksum, found.status = origin, checksum, LOADING
            found.columns = [f.as_dict() for f in fields]
            found.records, found.error, found.loaded_at, found.started_at = 0, None, None, utcnow()
            found.expected = resource.records if origin == DATASTORE else None
            store.create(session.connection(), found.table_name, fields)
            session.flush()
            commit()
        _fill(session, found, resource, source, open_stored, commit, batch)
    except (LoadFailed, readers.Unreadable, ValueError, OSError) as exc:
        session.rollback()
        found = session.scalar(select(RowTable).where(RowTable.resource_id == resource.id))
        if found is None:
            found = RowTable(resource_id=resource.id, table_name=table_name_of(resource), columns=[])
            session.add(found)
        found.origin, found.checksum = origin, checksum
        found.status, found.error = FAILED, f"{type(exc).__name__}: {exc}"[:500]
        commit()
        raise LoadFailed(found.error) from exc
    return found


def _fields(resource: Resource, origin: str, source, open_stored) -> list[store.Field]:
    if origin == DATASTORE:
        described = source.datastore_fields(resource.ckan_id)
        if described is None:
            raise LoadFailed("the DataStore table is gone")
        names, types = [d["id"] for d in described], [d["type"] for d in described]
    else:
        names, types = readers.scan(_opener(resource, open_stored), resource.format)
    return [
        store.Field(name, kind, f"c{number}", masking.column_kind(name))
        for number, (name, kind) in enumerate(zip(names, types, strict=True), start=1)
    ]


def _opener(resource: Resource, open_stored) -> Callable[[], BinaryIO]:
    return lambda: open_stored(resource.storage_key)


def _source_rows(resource: Resource, row_table: RowTable, source, open_stored) -> Iterator[list]:
    """Yield the source's rows from the first one not loaded yet, as raw values in field order."""
    fields = [store.Field.from_dict(c) for c in row_table.columns]
    if row_table.origin == DATASTORE:
        for record in source.datastore_records(resource.ckan_id, offset=row_table.records):
            yield [record.get(f.id) for f in fields]
        return
    found = readers.rows(_opener(resource, open_stored), resource.format, len(fields))
    yield from itertools.islice(found, row_table.records, None)


def _fill(session, row_table, resource, source, open_stored, commit, batch) -> None:
    fields = [store.Field.from_dict(c) for c in row_table.columns]
    converters = [_converter(f.storage) for f in fields]
    conn = session.connection()
    described = store.table(row_table.table_name, fields, conn.dialect.name)
    raw = _source_rows(resource, row_table, source, open_stored)
    while chunk := list(itertools.islice(raw, batch)):
        converted = [[convert(v) for convert, v in zip(converters, row, strict=True)] for row in chunk]
        row_table.records += store.insert(
            session.connection(), described, fields, row_table.records + 1, converted
        )
        commit()
    if (
        row_table.origin == DATASTORE
        and row_table.expected is not None
        and row_table.records != row_table.expected
    ):
        raise ValueError(f"the DataStore gave {row_table.records} rows of the {row_table.expected} it counts")
    store.index(session.connection(), row_table.table_name, fields)
    row_table.status, row_table.loaded_at = READY, utcnow()
    resource.records, resource.fields = row_table.records, len(fields)  # the volume, from the store
    commit()


def _converter(storage: str) -> Callable[[object], object]:
    """Return the function turning a source value into what the store keeps for a field of `storage`."""
    if storage == store.TEXT:
        return lambda v: None if v is None or v == "" else v if isinstance(v, str) else str(v)

    def convert(value: object) -> object:
        try:
            return store.convert(value, storage)
        except (ValueError, TypeError, OverflowError):
            return None  # a value the type does not hold (a DataStore says int, a cell says otherwise)

    return convert


def remove(session: Session, row_table: RowTable) -> None:
    """Drop a resource's rows from the store (its resource left, or holds no rows any more)."""
    store.drop(session.connection(), row_table.table_name)
    session.delete(row_table)
    session.flush()
