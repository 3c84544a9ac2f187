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

import functools
import gc
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.catalogue import masking
from portal.catalogue.models import Resource
from portal.dbtypes import utcnow
from portal.rows import readers, store
from portal.rows.models import DATASTORE, FAILED, FILE, LOADING, READY, RowTable

BATCH = 20_000
GC_THRESHOLD = 50_000  # allocations between two of the garbage collector's youngest collections
_COLLECTIONS = threading.Lock()  # guards _LOADING: the threshold before the loads, then one entry a load
_LOADING: list = []


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
        with _fewer_collections():
            fresh = found.checksum != checksum or found.status != LOADING
            if origin == DATASTORE:
                if fresh:
                    fields = _datastore_fields(resource, source)
                    _start(session, found, resource, origin, checksum, fields, commit)
                rows = _datastore_rows(resource, found, source)
                _fill(session, found, resource, rows, _lenient_converters(found), commit, batch)
            else:
                _load_file(session, found, resource, checksum, open_stored, fresh, commit, batch)
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


def _load_file(session, found, resource, checksum, open_stored, fresh, commit, batch) -> None:
    """Load a mirrored file in one pass, typed by its first rows; a file whose later rows contradict
    them is loaded again from the start, typed whole (readers.py)."""
    opener = _opener(resource, open_stored)
    converters = functools.partial(_file_converters, texts=session.get_bind().dialect.name == "postgresql")
    try:
        with readers.reading(opener, resource.format) as table:
            if fresh:
                _start(session, found, resource, FILE, checksum, _named(table.names, table.types), commit)
            elif table.names != [c["id"] for c in found.columns]:  # JSON keys the first objects lack
                raise readers.Mismatch("the load being resumed was typed on the whole file")
            rows = _unloaded(table.rows, found)
            _fill(session, found, resource, rows, converters(found), commit, batch)
    except readers.Mismatch:
        session.rollback()
        with readers.reading(opener, resource.format, whole=True) as table:
            _start(session, found, resource, FILE, checksum, _named(table.names, table.types), commit)
            _fill(session, found, resource, table.rows, converters(found), commit, batch)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Let the garbage collector run less often during a load: a batch makes tens of thousands of
    lists and strings at once, each allocation counting towards a collection that then walks every
    object still alive (the batch's and the process's) to find none to free; at Python's threshold of
    700 that was a quarter of reading a CSV. The process's threshold is restored when its last load
    ends (loads in two threads at once share the raised one), whatever happens."""
    with _COLLECTIONS:
        if not _LOADING:
            _LOADING.append(gc.get_threshold())
            gc.set_threshold(max(_LOADING[0][0], GC_THRESHOLD), *_LOADING[0][1:])
        _LOADING.append(None)
    try:
        yield
    finally:
        with _COLLECTIONS:
            _LOADING.pop()
            if len(_LOADING) == 1:
                gc.set_threshold(*_LOADING.pop())


def _start(session, found, resource, origin, checksum, fields, commit) -> None:
    """Create the empty table of a new load and record its columns (a resumed load keeps both)."""
    found.origin, found.checksum, found.status = origin, checksum, LOADING
    found.columns = [f.as_dict() for f in fields]
    found.records, found.error, found.loaded_at, found.started_at = 0, None, None, utcnow()
    found.expected = resource.records if origin == DATASTORE else None
    store.create(session.connection(), found.table_name, fields)
    session.flush()
    commit()


def _datastore_fields(resource: Resource, source) -> list[store.Field]:
    described = source.datastore_fields(resource.ckan_id)
    if described is None:
        raise LoadFailed("the DataStore table is gone")
    return _named([d["id"] for d in described], [d["type"] for d in described])


def _named(names: list[str], types: list[str]) -> list[store.Field]:
    return [
        store.Field(name, kind, f"c{number}", masking.column_kind(name))
        for number, (name, kind) in enumerate(zip(names, types, strict=True), start=1)
    ]


def _opener(resource: Resource, open_stored) -> Callable[[], BinaryIO]:
    return lambda: open_stored(resource.storage_key)


def _datastore_rows(resource: Resource, row_table: RowTable, source) -> Iterator[list]:
    """Yield the DataStore's rows from the first one not loaded yet, as raw values in field order."""
    names = [c["id"] for c in row_table.columns]
    for record in source.datastore_records(resource.ckan_id, offset=row_table.records):
        yield [record.get(name) for name in names]


def _unloaded(rows: Iterator[list], row_table: RowTable) -> Iterator[list]:
    """Skip the rows a load cut short has already stored."""
    return itertools.islice(rows, row_table.records, None) if row_table.records else rows


def _fill(session, row_table, resource, raw, converters, commit, batch) -> None:
    fields = [store.Field.from_dict(c) for c in row_table.columns]
    conn = session.connection()
    described = store.table(row_table.table_name, fields, conn.dialect.name)
    terms = store.Terms(fields)
    if conn.dialect.name == "postgresql":
        _copy_ahead(session, row_table, described, fields, raw, converters, terms, commit, batch)
    while chunk := list(itertools.islice(raw, batch)):  # (PostgreSQL's are all in: none left)
        columns = _converted(chunk, converters)
        row_table.records += store.insert(
            session.connection(), described, fields, row_table.records + 1, columns, len(chunk), terms
        )
        commit()
    if (
        row_table.origin == DATASTORE
        and row_table.expected is not None
        and row_table.records != row_table.expected
    ):
        raise ValueError(f"the DataStore gave {row_table.records} rows of the {row_table.expected} it counts")
    store.index(session.connection(), row_table.table_name, fields, row_table.records, committed=True)
    row_table.status, row_table.loaded_at = READY, utcnow()
    resource.records, resource.fields = row_table.records, len(fields)  # the volume, from the store
    commit()
    store.settle(session.get_bind(), row_table.table_name)


def _converted(chunk: list[list], converters) -> list[list]:
    raw_columns = zip(*chunk, strict=True)
    return [convert(column) for convert, column in zip(converters, raw_columns, strict=True)]


def _copy_ahead(session, row_table, described, fields, raw, converters, terms, commit, batch) -> None:
    """PostgreSQL: COPY the rows by batches, each committed with the count of rows loaded, while a
    thread reads, converts and formats the next batch: the server's work on one batch (parsing, writing,
    committing) overlaps the Python work on the next instead of each waiting for the other. The thread
    touches no database: the first batch, which may start the source's reading, is made here."""

    def batches(first_id: int) -> Iterator[tuple[int, str]]:
        while chunk := list(itertools.islice(raw, batch)):
            columns = _converted(chunk, converters)
            yield len(chunk), store.copy_text(fields, first_id, columns, len(chunk), terms)
            first_id += len(chunk)

    made = batches(row_table.records + 1)
    with ThreadPoolExecutor(1) as ahead:
        following = next(made, None)
        while following is not None:
            pending = ahead.submit(next, made, None)
            count, text = following
            store.copy(session.connection(), described, fields, text)
            row_table.records += count
            commit()
            following = pending.result()


def _file_converters(row_table: RowTable, *, texts: bool) -> list[Callable[[Sequence], list]]:
    """A file's inferred types, a column at a time: a value a type does not hold raises Mismatch.
    With `texts` (PostgreSQL's COPY) numbers may stay the texts they were read as (readers.py)."""
    return [readers.column_converter(c["type"], texts=texts) for c in row_table.columns]


def _lenient_converters(row_table: RowTable) -> list[Callable[[Sequence], list]]:
    """A DataStore's declared types, a column at a time: a value a type does not hold is stored empty."""
    converters = [_converter(store.storage_of(c["type"])) for c in row_table.columns]
    return [functools.partial(_each, convert) for convert in converters]


def _each(convert: Callable[[object], object], column: Sequence) -> list:
    return list(map(convert, column))


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
