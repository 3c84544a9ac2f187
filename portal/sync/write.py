"""Write packages into the catalogue tables, a batch of packages in a few bulk statements.

The sync's hot path. `read_ahead` reads the rows of a batch of packages (about 200) in three
statements: their datasets and the datasets holding their names, their resources, and their
personal data holds. `write` and `save_resources` then hold their rows back, and `flush` writes
all of them, each kind in one statement (the new datasets first, whose ids the other rows then
take). A package costs no statement of its own, whatever its number of resources, tags and themes.

What was read ahead serves a package only while nothing written since touched its rows (a package
that comes twice in a batch, a resource moving between two of them, a name changing hands): such a
package has the rows held back flushed first and its own rows read alone, as they are. `Writer`
also keeps per-run caches of department, theme, tag and licence ids. It executes but never
commits; the run flushes and commits by batches of packages.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import ARRAY, any_, bindparam, delete, insert, or_, select, text, update

from portal.catalogue import changes, rules, search_index
from portal.catalogue.models import (
    PUBLISHED,
    WITHDRAWN,
    Dataset,
    DatasetSearch,
    Department,
    Licence,
    Resource,
    Tag,
    Theme,
    dataset_tags,
    dataset_themes,
)
from portal.dbtypes import UTCDateTime
from portal.extensions import db
from portal.regions.models import Region
from portal.sync.identity import NameClash
from portal.sync.mapping import OrganizationRecord, PackageRecord, parse_organization, resolve_region
from portal.sync.models import PersonalDataHold

CREATED, UPDATED, UNCHANGED, RESTORED = "created", "updated", "unchanged", "restored"
WITHDRAWN_NOW = "withdrawn"  # a published dataset regraded beyond publication (a run counter too)

# Statements built once: building them anew for each package cost more than running them.
_DATASETS, _RESOURCES = Dataset.__table__, Resource.__table__
# A package's own row and the row holding its name under another CKAN id, if any: one statement
_DATASET_OR_HOLDER = select(
    _DATASETS.c.id,
    _DATASETS.c.name,
    _DATASETS.c.ckan_id,
    _DATASETS.c.state,
    _DATASETS.c.metadata_modified,
    _DATASETS.c.open_condition,
    _DATASETS.c.data_level,
    _DATASETS.c.withdrawn_reason,
).where(or_(_DATASETS.c.ckan_id == bindparam("ckan_id"), _DATASETS.c.name == bindparam("name")))
_RESOURCES_OF = select(_RESOURCES).where(
    or_(
        _RESOURCES.c.ckan_id.in_(bindparam("ids", expanding=True)),
        _RESOURCES.c.dataset_id == bindparam("dataset_id"),
    )
)
_INSERT_DATASET = insert(_DATASETS).returning(_DATASETS.c.id)
# Many at once. SQLite: in one statement, each id returned with its CKAN id (SQLite inserts one by one
# when asked to return them in the order of the rows given). PostgreSQL: the ids are taken from the
# sequence first, then the rows go in by COPY (`_copy`), as the batch's other new rows do.
_INSERT_DATASETS = insert(_DATASETS).returning(_DATASETS.c.ckan_id, _DATASETS.c.id)
_NEXT_DATASET_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('datasets', 'id')) FROM generate_series(1, :n)"
)
_HOLDS = PersonalDataHold.__table__
_SEARCH = DatasetSearch.__table__


def _insert(conn, table, rows: list[dict]) -> None:
    """Insert rows (dicts of the same columns) in one executemany."""
    conn.execute(insert(table), rows)


def _copy(conn, table, rows: list[dict]) -> None:
    """Insert rows on PostgreSQL by COPY, as `_insert` would have inserted them: the same columns (the
    rows' own, with the Python defaults of the others filled in) and values bound the same way (the
    columns' bind processors: UTC timestamps made naive, JSON serialised). COPY costs the server a
    fraction of an INSERT per row (pipelined by psycopg's executemany: a Bind and an Execute each), and
    the client writes its rows in C rather than SQLAlchemy's and psycopg's per-row Python work. Rows
    whose columns differ, or that lack a column with a callable default, go to `_insert` instead.

    COPY goes through the DBAPI connection: SQLAlchemy's statement events do not see it (a count of
    statements by `before_cursor_execute` misses it), and a failure raises psycopg's own error (the
    sync's flush catches any exception, rolls the batch back and writes it again one by one)."""
    plan = _plan_of(conn, table, rows)
    if plan is None:
        return
    sql, bound = plan
    cursor = conn.connection.driver_connection.cursor()
    try:
        with cursor.copy(sql) as copy:
            write = copy.write_row
            for row in rows:
                write(bound(row))
    finally:
        cursor.close()


def _insert_sqlite(conn, table, rows: list[dict]) -> None:
    """Insert rows on SQLite as `_insert` would have inserted them (the same columns, defaults and bound
    values, as `_copy` does), in one executemany of sqlite3 itself: SQLAlchemy's per-row work for an
    executemany (its parameters built and each value bound through its type, ~35 µs a row) was a sixth of
    the sync's CPU. Like COPY, it goes through the DBAPI connection (in the session's transaction), unseen
    by statement events, and a failure raises sqlite3's own error."""
    plan = _plan_of(conn, table, rows)
    if plan is not None:
        _sqlite_cursor(conn).executemany(plan[0], map(plan[1], rows))


def _insert_datasets_sqlite(conn, new: list[tuple[New, dict]]) -> None:
    """Insert new datasets on SQLite, each `New` given its row's id: one prepared INSERT per row through
    sqlite3 (its id read back from the cursor), as `_insert_sqlite` writes rows; rows that do not fit
    its plan go in by one INSERT … RETURNING through SQLAlchemy."""
    rows = [values for _, values in new]
    keys = rows[0].keys()
    plan = _bulk_plan(conn.dialect, _DATASETS, frozenset(keys))
    if plan is None or any(row.keys() != keys for row in rows):
        ids = dict(conn.execute(_INSERT_DATASETS, rows).all())
        for held, values in new:
            held.id = ids[values["ckan_id"]]
        return
    sql, bound = plan
    cursor = _sqlite_cursor(conn)
    for held, values in new:
        cursor.execute(sql, bound(values))
        held.id = cursor.lastrowid


def _sqlite_cursor(conn):
    return conn.connection.driver_connection.cursor()


def _plan_of(conn, table, rows: list[dict]):
    """The bulk plan (`_bulk_plan`) for these rows, or None when there is nothing to write or the rows do
    not fit one (then they went in by `_insert`)."""
    if not rows:
        return None
    keys = rows[0].keys()
    plan = _bulk_plan(conn.dialect, table, frozenset(keys))
    if plan is None or any(row.keys() != keys for row in rows):
        _insert(conn, table, rows)
        return None
    return plan


def _binder(keys: list[str], fills: list, processes: list[tuple[int, Any]]):
    """A function of a row to its values in a plan's column order (its own columns', then the defaults'),
    each bound as its column's type binds it."""
    get = itemgetter(*keys) if len(keys) > 1 else lambda row: (row[keys[0]],)

    def bound(row: dict) -> list:
        values = [*get(row), *fills]
        for index, process in processes:
            values[index] = process(values[index])
        return values

    return bound


def _utc_processor(column, dialect):
    """The bind processor of a UTCDateTime column: an aware UTC datetime made naive and handed to the
    dialect's own processor in one call, anything else (None, another zone, a naive value it refuses)
    through the column type's whole chain; the sync binds ~12 timestamps per dataset."""
    chain = column.type._cached_bind_processor(dialect)
    impl = column.type.dialect_impl(dialect).impl_instance._cached_bind_processor(dialect)

    def process(value):
        if value is None or value.tzinfo is not UTC:
            return chain(value)
        value = value.replace(tzinfo=None)
        return value if impl is None else impl(value)

    return process


_BULK_PLANS: dict[tuple, tuple[str, Any] | None] = {}


def _bulk_plan(dialect, table, keys: frozenset):
    """The bulk statement for rows of these columns (PostgreSQL: a COPY; SQLite: an INSERT of one row,
    for executemany) and the function binding a row's values in its order (`_binder`): the rows'
    columns, then those they lack with a scalar default, filled in as an INSERT fills them; None when a
    column the rows lack has a callable default (only `_insert` fills those in), or when they hold a key
    that is no column."""
    found = _BULK_PLANS.get((dialect, table.name, keys), ())
    if found != ():
        return found
    own, names, fills, fill_names, processes, plan = [], [], [], [], [], None
    for column in table.columns:
        process = column.type._cached_bind_processor(dialect)
        name = dialect.identifier_preparer.format_column(column)
        if column.key in keys:
            if process is not None:
                utc = isinstance(column.type, UTCDateTime)
                processes.append((len(own), _utc_processor(column, dialect) if utc else process))
            own.append(column.key)
            names.append(name)
        elif column.default is None:
            continue  # left to the server, as an INSERT without it leaves it
        elif column.default.is_scalar:
            fill = column.default.arg
            fills.append(fill if process is None else process(fill))
            fill_names.append(name)
        else:
            break
    else:
        if own and keys.issubset(table.columns.keys()):
            table_name = dialect.identifier_preparer.format_table(table)
            columns, marks = ", ".join(names + fill_names), ", ".join("?" * (len(own) + len(fills)))
            if dialect.name == "postgresql":
                sql = f"COPY {table_name} ({columns}) FROM STDIN"
            else:
                sql = f"INSERT INTO {table_name} ({columns}) VALUES ({marks})"
            plan = (sql, _binder(own, fills, processes))
    _BULK_PLANS[(dialect, table.name, keys)] = plan
    return plan


def _among(column, name: str, dialect: str):
    """`column` among the values of the list parameter `name`: one array on PostgreSQL (a statement of
    constant text, which psycopg prepares once), a parameter per value on SQLite."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def _ahead_statements(dialect: str) -> tuple:
    """A batch's rows read ahead: datasets by CKAN id or by name, then resources by CKAN id or by
    dataset, then the datasets' holds."""
    return (
        select(*_DATASET_OR_HOLDER.selected_columns).where(
            or_(_among(_DATASETS.c.ckan_id, "ids", dialect), _among(_DATASETS.c.name, "names", dialect))
        ),
        select(_RESOURCES).where(
            or_(
                _among(_RESOURCES.c.ckan_id, "ids", dialect),
                _among(_RESOURCES.c.dataset_id, "dataset_ids", dialect),
            )
        ),
        select(_HOLDS.c.dataset_id, _HOLDS.c.status, _HOLDS.c.fingerprint, _HOLDS.c.problems).where(
            _among(_HOLDS.c.dataset_id, "dataset_ids", dialect)
        ),
    )


_AHEAD = {dialect: _ahead_statements(dialect) for dialect in ("sqlite", "postgresql")}
_UPDATE_DATASET = update(_DATASETS).where(_DATASETS.c.id == bindparam("b_id"))
_UPDATE_RESOURCE = update(_RESOURCES).where(_RESOURCES.c.id == bindparam("b_id"))
_UNLINK_THEMES = delete(dataset_themes).where(dataset_themes.c.dataset_id == bindparam("b_id"))
_UNLINK_TAGS = delete(dataset_tags).where(dataset_tags.c.dataset_id == bindparam("b_id"))
_CHECKED_AT = {"volume_computed_at", "mirrored_at"}  # when the portal last looked: not what a page shows

# What the portal learns about a resource itself; the rest comes from CKAN each time.
DERIVED = (
    "storage_key",
    "mirrored_size",
    "sha256",
    "content_type",
    "mirrored_at",
    "mirror_error",
    "records",
    "fields",
    "volume_source",
    "volume_computed_at",
    "is_valid",
    "invalid_reason",
)


class New:
    """A dataset row held back by the writer: its id is known once `Writer.flush` inserted it.

    Rows held back with it name it as their `dataset_id` until then."""

    __slots__ = ("id",)

    def __init__(self) -> None:
        self.id: int | None = None


def _resolve(rows: list[dict]) -> list[dict]:
    """Give rows held back the ids of the new datasets they belong to (inserted just before)."""
    for row in rows:
        if type(row["dataset_id"]) is New:
            row["dataset_id"] = row["dataset_id"].id
    return rows


class _Keys:
    """CKAN ids, names and resource CKAN ids of rows: what a write touched, or what a read served."""

    __slots__ = ("ids", "names", "resources")

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.names: set[str] = set()
        self.resources: set[str] = set()

    def add(self, ids: Iterable[str], names: Iterable[str], resources: Iterable[str]) -> None:
        self.ids.update(ids)
        self.names.update(names)
        self.resources.update(resources)

    def meets(self, ids: Iterable[str], names: Iterable[str], resources: Iterable[str]) -> bool:
        return (
            not self.ids.isdisjoint(ids)
            or not self.names.isdisjoint(names)
            or not self.resources.isdisjoint(resources)
        )

    def copy(self) -> _Keys:
        keys = _Keys()
        keys.add(self.ids, self.names, self.resources)
        return keys

    def clear(self) -> None:
        self.ids.clear()
        self.names.clear()
        self.resources.clear()


class _Ahead:
    """The rows of a batch of packages, read in three statements (`Writer.read_ahead`)."""

    def __init__(self, conn, ids: set[str], names: set[str], resource_ids: set[str]) -> None:
        self.ids, self.names, self.resource_ids = ids, names, resource_ids
        datasets_ahead, resources_ahead, holds_ahead = _AHEAD[conn.dialect.name]
        self.by_id: dict[str, Any] = {}  # rows (id, name, ckan_id, state, …)
        self.by_name: dict[str, Any] = {}
        for row in conn.execute(datasets_ahead, {"ids": list(ids), "names": list(names)}):
            self.by_id[row.ckan_id] = row
            self.by_name[row.name] = row
        dataset_ids = [row.id for row in self.by_id.values()]
        self.resources: dict[str, dict] = {}
        self.of_dataset: dict[int, list[dict]] = {}
        if resource_ids or dataset_ids:
            params = {"ids": list(resource_ids), "dataset_ids": dataset_ids}
            for found in conn.execute(resources_ahead, params).mappings():
                row = dict(found)
                self.resources[row["ckan_id"]] = row
                self.of_dataset.setdefault(row["dataset_id"], []).append(row)
        self.holds: dict[int, Any] = {}
        if dataset_ids:
            self.holds = {h.dataset_id: h for h in conn.execute(holds_ahead, {"dataset_ids": dataset_ids})}

    def rows_of(self, rec: PackageRecord) -> tuple[Any, Any, dict[str, dict]] | None:
        """Return rec's dataset row, its name's holder (rows, or None) and its resources' rows by CKAN
        id, or None when the batch's read did not ask for all of them."""
        wanted = [r.ckan_id for r in rec.resources]
        if rec.ckan_id not in self.ids or rec.name not in self.names:
            return None
        if not self.resource_ids.issuperset(wanted):
            return None
        row = self.by_id.get(rec.ckan_id)
        holder = self.by_name.get(rec.name)
        if holder is not None and holder.ckan_id == rec.ckan_id:
            holder = None
        resources = {rid: self.resources[rid] for rid in wanted if rid in self.resources}
        if row is not None:
            for r in self.of_dataset.get(row.id, ()):
                resources[r["ckan_id"]] = r
        return row, holder, resources


class Writer:
    def __init__(self, *, organizations: dict[str, dict], seed_codes: dict[str, str]) -> None:
        regions = list(db.session.scalars(select(Region)))
        self.region_ids = {r.code: r.id for r in regions}
        self.city_code = next((r.code for r in regions if r.is_city), None)
        if self.city_code is None:
            raise RuntimeError("no city in the regions table: run `flask --app wsgi init` first")
        self.county_names = {r.name: r.code for r in regions if not r.is_city}
        self.organizations = organizations  # CKAN's organization_list, with extras, by name
        # every live organization id with its name: what became of a department's old id
        self.organization_names = {
            o["id"]: name for name, o in organizations.items() if isinstance(o.get("id"), str)
        }
        self.seed_codes = seed_codes
        self.forget()

    def forget(self) -> None:
        """Drop the caches, the rows read ahead and the rows held back (after a rollback they may
        name rows that no longer exist)."""
        self.departments: dict[str, int] = {}
        self.themes: dict[str, int] = {}
        self.tags: dict[str, int] = {}
        self.licences: set[str] = set()
        self.changes: list[tuple[str, int, str, str, str]] = []  # (kind, row id, name, old id, new id)
        self.holders: dict[str, object] = {}  # ckan id -> the name's holder that `existing` just read
        self.ahead: _Ahead | None = None  # the batch's rows, as `read_ahead` read them
        self.hold_read: tuple[int, Any] | None = None  # (dataset id, hold row or None) read ahead
        self.since_ahead = _Keys()  # what was written since the read ahead (flushed or not)
        self.held_back = _Keys()  # what the rows held back touch
        # rows held back until `flush`
        self.new: list[tuple[New, dict]] = []
        self.updates: list[dict] = []
        self.unlinks: list[dict] = []
        self.new_resources: list[dict] = []
        self.changed_resources: list[dict] = []
        self.gone_resources: list[dict] = []
        self.search: list[dict] = []
        self.links: tuple[list[dict], list[dict]] = ([], [])  # theme and tag links
        self.holds: list[dict] = []

    def holds_rows(self) -> bool:
        """Whether rows are held back, waiting for `flush`."""
        return bool(
            self.new
            or self.updates
            or self.new_resources
            or self.changed_resources
            or self.gone_resources
            or self.search
            or self.holds
            or self.links[0]
            or self.links[1]
        )

    def flush(self) -> None:
        """Write the rows held back, each kind in one statement: new datasets first (their ids go to
        the rows that name them), then updated datasets, links, resources, search terms and holds.

        No two rows held back touch the same dataset, name or resource (`existing` flushes before
        reading such a package's rows again), so their order within a kind does not matter."""
        if not self.holds_rows():
            return
        conn = db.session.connection()
        postgres = conn.dialect.name == "postgresql"
        insert_rows = _copy if postgres else _insert_sqlite
        if self.new and postgres:
            ids = conn.execute(_NEXT_DATASET_IDS, {"n": len(self.new)}).scalars().all()
            for (new, values), dataset_id in zip(self.new, ids, strict=True):
                new.id = values["id"] = dataset_id
            _copy(conn, _DATASETS, [values for _, values in self.new])
        elif self.new:
            _insert_datasets_sqlite(conn, self.new)
        if self.updates:
            conn.execute(_UPDATE_DATASET, self.updates)
        if self.unlinks:  # an updated dataset's links are written anew below
            conn.execute(_UNLINK_THEMES, self.unlinks)
            conn.execute(_UNLINK_TAGS, self.unlinks)
        if self.new_resources:
            insert_rows(conn, _RESOURCES, _resolve(self.new_resources))
        if self.changed_resources:
            conn.execute(_UPDATE_RESOURCE, _resolve(self.changed_resources))
        if self.gone_resources:
            conn.execute(_UPDATE_RESOURCE, self.gone_resources)
        if self.search:
            if postgres:  # a new dataset's search row is new too: those go in by COPY
                fresh, known = [], []
                for row in self.search:
                    (fresh if type(row["dataset_id"]) is New else known).append(row)
                _copy(conn, _SEARCH, _resolve(fresh))
                search_index.write_rows(conn, known)
            else:  # likewise, a new dataset's search row goes in by `_insert_sqlite`
                fresh, known = [], []
                for row in self.search:
                    (fresh if type(row["dataset_id"]) is New else known).append(row)
                _insert_sqlite(conn, _SEARCH, _resolve(fresh))
                search_index.write_rows(conn, known)
        for table, rows in zip((dataset_themes, dataset_tags), self.links, strict=True):
            if rows:
                insert_rows(conn, table, _resolve(rows))
        if self.holds:
            insert_rows(conn, _HOLDS, _resolve(self.holds))
        for rows in (self.new, self.updates, self.unlinks, self.new_resources, self.changed_resources,
                     self.gone_resources, self.search, *self.links, self.holds):  # fmt: skip
            rows.clear()
        self.held_back.clear()

    def read_ahead(self, packages: list) -> None:
        """Read the rows of a batch of package dicts (as CKAN sent them) in three statements, for
        `existing` to serve while nothing written since touches them."""
        ids, names, resource_ids = set(), set(), set()
        for pkg in packages:
            if not isinstance(pkg, dict):
                continue
            ckan_id, name, resources = pkg.get("id"), pkg.get("name"), pkg.get("resources")
            if isinstance(ckan_id, str) and isinstance(name, str):
                ids.add(ckan_id.strip())
                names.add(name.strip())
            for r in resources if isinstance(resources, list) else ():
                if isinstance(r, dict) and isinstance(r.get("id"), str):
                    resource_ids.add(r["id"].strip())
        self.ahead = _Ahead(db.session.connection(), ids, names, resource_ids)
        self.since_ahead = self.held_back.copy()  # rows held back are not in what was read

    def _served(self, rec: PackageRecord):
        """Return rec's rows as read ahead (see `_Ahead.rows_of`), or None when they may have changed."""
        found = self.ahead.rows_of(rec) if self.ahead is not None else None
        if found is None:
            return None
        row, holder, resources = found
        ids = [rec.ckan_id] if holder is None else [rec.ckan_id, holder.ckan_id]
        names = [rec.name] if row is None else [rec.name, row.name]
        if self.since_ahead.meets(ids, names, [*resources, *(r.ckan_id for r in rec.resources)]):
            return None
        return found

    def must_flush(self, rec: PackageRecord) -> bool:
        """Whether `existing(rec)` will flush the rows held back first (to read rec's rows as they are)."""
        return self.holds_rows() and self._served(rec) is None

    def existing(self, rec: PackageRecord) -> tuple[dict | None, dict[str, dict]]:
        """Return the dataset row of `rec` (or None) and its resources' rows by CKAN id; the row that
        holds rec's name under another id comes with them, for `name_holder` next.

        From the batch's read ahead when it serves; else read now, after a flush of the rows held back."""
        found = self._served(rec)
        if found is not None:
            row, holder, resources = found
            self.holders = {rec.ckan_id: holder}
            if row is None:
                self.hold_read = None
                return None, resources
            self.hold_read = (row.id, self.ahead.holds.get(row.id))
            return dict(row._mapping), resources
        self.hold_read = None
        self.flush()
        conn = db.session.connection()
        row, holder = None, None
        for found in conn.execute(_DATASET_OR_HOLDER, {"ckan_id": rec.ckan_id, "name": rec.name}):
            if found.ckan_id == rec.ckan_id:
                row = found
            else:
                holder = found
        self.holders = {rec.ckan_id: holder}
        ids = [r.ckan_id for r in rec.resources]
        rows = conn.execute(_RESOURCES_OF, {"ids": ids, "dataset_id": row.id if row else -1}).mappings()
        return (dict(row._mapping) if row else None), {r["ckan_id"]: dict(r) for r in rows}

    def hold(self, dataset_id: int):
        """Return the personal data hold of a dataset `existing` just returned: the row read ahead
        (status, fingerprint, problems) or the ORM object, None when it has none."""
        if self.hold_read is not None and self.hold_read[0] == dataset_id:
            return self.hold_read[1]
        return db.session.get(PersonalDataHold, dataset_id)

    def clear_hold(self, row: dict) -> None:
        """Hold back the row of a clean first scan (sync/screen.py's `record`) for `flush`."""
        self.holds.append(row)

    def _touched(self, ids: Iterable[str], names: Iterable[str], resources: Iterable[str]) -> None:
        self.since_ahead.add(ids, names, resources)
        self.held_back.add(ids, names, resources)

    def write(
        self,
        rec: PackageRecord,
        old: dict | None,
        resources: list[dict],
        old_resources: dict[str, dict],
        now: datetime,
        grade: rules.Grade | None = None,
        *,
        at_once: bool = False,
    ) -> tuple[str, int | New]:
        """Create or update the dataset and its resources; return what happened and its id (a `New`
        until `flush` when the dataset is new, unless `at_once` inserts it now).

        `grade` (catalogue/rules.py) decides whether it is published and with which open
        condition; a dataset it withholds is written withdrawn, and a published one so
        withheld counts as WITHDRAWN. The rows are held back for `flush`: most packages send no
        statement here, so the session's connection is only asked for when one does (asking costs more
        than the rest of the method's bookkeeping)."""
        grade = grade or rules.grade(rec.data_level, rec.open_condition)
        values = {
            "name": rec.name,
            "title": rec.title[:500],
            "notes": rec.notes,
            "metadata_created": rec.metadata_created,
            "metadata_modified": rec.metadata_modified,
            "open_condition": grade.open_condition,
            "data_level": grade.level,
            "author": rec.author,
            "maintainer": rec.maintainer,
            "source_url": rec.source_url,
            "extras": rec.extras,
            "department_id": self._department(rec.organization),
            "licence_id": self._licence(rec),
            "state": PUBLISHED,
            "withdrawn_reason": None,
            "withdrawn_at": None,
        }
        if not grade.publishable:
            kept = (
                old is not None and old["state"] == WITHDRAWN and old["withdrawn_reason"] == grade.withheld_as
            )
            values.update(
                state=WITHDRAWN,
                withdrawn_reason=grade.withheld_as,
                withdrawn_at=old_withdrawn_at(db.session.connection(), old["id"]) if kept else now,
            )
        values = changes.touched(values, now)  # the catalogue changed: cached pages must see it
        dataset_id: int | New
        if old is None:
            outcome = CREATED
            values.update(ckan_id=rec.ckan_id, first_synced_at=now, download_count=0)
            if at_once:
                dataset_id = db.session.connection().execute(_INSERT_DATASET, values).scalar_one()
            else:
                dataset_id = New()
                self.new.append((dataset_id, values))
        else:
            if not grade.publishable:
                outcome = WITHDRAWN_NOW if old["state"] == PUBLISHED else UPDATED
            else:
                outcome = RESTORED if old["state"] == WITHDRAWN else UPDATED
            dataset_id = old["id"]
            self.updates.append({**values, "b_id": dataset_id})
            self.unlinks.append({"b_id": dataset_id})
        self._touched([rec.ckan_id], [rec.name] if old is None else [rec.name, old["name"]], ())
        themes, tags = self.links
        themes += [{"dataset_id": dataset_id, "theme_id": t} for t in {self._theme(g) for g in rec.groups}]
        tags += [{"dataset_id": dataset_id, "tag_id": t} for t in {self._tag(name) for name in rec.tags}]
        self.save_resources(dataset_id, resources, old_resources)
        self.search.append(search_index.terms_row(dataset_id, rec, now))
        return outcome, dataset_id

    def save_resources(
        self, dataset_id: int | New, resources: list[dict], old_resources: dict[str, dict]
    ) -> bool:
        """Insert new resources, update known ones, and mark those CKAN dropped as removed (rows held
        back for `flush`); return whether anything a page shows changed (not only when a file was last
        checked)."""
        fresh, known = [], []
        for values in resources:
            old = old_resources.get(values["ckan_id"])
            if old is None:
                fresh.append({**values, "dataset_id": dataset_id})
            elif any(old.get(k) != v for k, v in values.items()) or old["dataset_id"] != dataset_id:
                known.append({**values, "dataset_id": dataset_id, "b_id": old["id"]})
        self.new_resources += fresh
        self.changed_resources += known
        kept = {v["ckan_id"] for v in resources}
        gone = [
            {"b_id": o["id"], "state": "removed"}
            for o in old_resources.values()
            if o["dataset_id"] == dataset_id and o["ckan_id"] not in kept and o["state"] != "removed"
        ]
        self.gone_resources += gone
        self._touched((), (), [*kept, *old_resources])
        shown = [
            values
            for values in known
            if any(
                old_resources[values["ckan_id"]].get(k) != v
                for k, v in values.items()
                if k not in _CHECKED_AT and k != "b_id"
            )
        ]
        return bool(fresh or gone or shown)

    def touch(self, dataset_id: int, now: datetime) -> None:
        """Record that the dataset changed now (catalogue/changes.py)."""
        changes.touch(db.session.connection(), [dataset_id], now)

    def name_holder(self, rec: PackageRecord):
        """Return the dataset row (id, name, ckan_id, state, …) holding rec's name under another id: as
        `existing` read it just before, once, else read now."""
        if rec.ckan_id in self.holders:
            return self.holders.pop(rec.ckan_id)
        self.flush()  # read the rows as they are
        for found in db.session.connection().execute(
            _DATASET_OR_HOLDER, {"ckan_id": rec.ckan_id, "name": rec.name}
        ):
            if found.ckan_id != rec.ckan_id:
                return found
        return None

    def relink(self, holder, rec: PackageRecord) -> None:
        """Give the dataset row `holder` rec's CKAN id: rec takes it over, history and all."""
        self.ahead = None  # a row read ahead may have changed hands
        db.session.connection().execute(_UPDATE_DATASET, {"ckan_id": rec.ckan_id, "b_id": holder.id})
        self.changes.append(("dataset", holder.id, rec.name, holder.ckan_id, rec.ckan_id))

    def park(self, holder, now: datetime, *, withdraw_as: str | None) -> None:
        """Move a dataset row off a name another id now holds; withdraw it when given a reason."""
        self.ahead = None  # a row read ahead may have changed its name
        values = {"name": _parking_name(holder.name, holder.ckan_id), "b_id": holder.id}
        if withdraw_as and holder.state == PUBLISHED:
            values = changes.touched(
                {**values, "state": WITHDRAWN, "withdrawn_reason": withdraw_as, "withdrawn_at": now}, now
            )
        db.session.connection().execute(_UPDATE_DATASET, values)

    def withdraw_row(self, holder, reason: str, now: datetime) -> None:
        """Withdraw a dataset row (it keeps its name)."""
        self.ahead = None
        if holder.state == PUBLISHED:
            db.session.connection().execute(
                _UPDATE_DATASET,
                changes.touched(
                    {"b_id": holder.id, "state": WITHDRAWN, "withdrawn_reason": reason, "withdrawn_at": now},
                    now,
                ),
            )

    def _department(self, org: OrganizationRecord | None) -> int | None:
        if org is None:
            return None
        if org.ckan_id in self.departments:
            return self.departments[org.ckan_id]
        listed = self.organizations.get(org.name)
        if listed:  # organization_list carries the extras that package dicts lack
            org = parse_organization({**listed, "id": org.ckan_id})
        code, how = resolve_region(
            org,
            codes=set(self.region_ids),
            seed_codes=self.seed_codes,
            county_names=self.county_names,
            city_code=self.city_code,
        )
        department = db.session.scalar(select(Department).where(Department.ckan_id == org.ckan_id))
        holder = db.session.scalar(
            select(Department).where(Department.name == org.name[:100], Department.ckan_id != org.ckan_id)
        )
        if holder is not None:
            department = self._settle_department(department, holder, org)
        if department is None:
            department = Department(ckan_id=org.ckan_id)
            db.session.add(department)
        department.name, department.title = org.name[:100], org.title[:200]
        department.description = org.description
        department.region_id, department.region_source = self.region_ids[code], how
        db.session.flush()
        self.departments[org.ckan_id] = department.id
        return department.id

    def _settle_department(
        self, department: Department | None, holder: Department, org: OrganizationRecord
    ) -> Department | None:
        """Settle a department name that another CKAN id holds here; return the row `org` is to use.

        The listing of organizations tells what became of the holder's id: gone (the newcomer takes
        the department over), listed under another name (it moves there), or listed under this name
        too (a clash: NameClash)."""
        listed = self.organization_names.get(holder.ckan_id)
        if listed == org.name:
            raise NameClash(
                f"organizations {holder.ckan_id} and {org.ckan_id} both claim the name {org.name!r}; "
                "their datasets wait until one of them is gone"
            )
        if listed is None and department is None:
            self.changes.append(("organization", holder.id, org.name, holder.ckan_id, org.ckan_id))
            holder.ckan_id = org.ckan_id
            return holder
        taken = listed and db.session.scalar(select(Department.id).where(Department.name == listed[:100]))
        holder.name = _parking_name(holder.name, holder.ckan_id) if not listed or taken else listed[:100]
        db.session.flush()
        return department

    def _licence(self, rec: PackageRecord) -> str | None:
        if not rec.licence_id:
            return None
        if rec.licence_id not in self.licences:
            licence = db.session.get(Licence, rec.licence_id)
            if licence is None:
                licence = Licence(id=rec.licence_id, title=rec.licence_title or rec.licence_id)
                db.session.add(licence)
            if rec.licence_title:
                licence.title, licence.url = rec.licence_title[:200], rec.licence_url[:500]
            db.session.flush()
            self.licences.add(rec.licence_id)
        return rec.licence_id

    def _theme(self, group) -> int:
        if group.name not in self.themes:
            theme = db.session.scalar(select(Theme).where(Theme.name == group.name))
            if theme is None:
                theme = Theme(ckan_id=group.ckan_id, name=group.name[:100], title=group.title[:200])
                db.session.add(theme)
            else:
                theme.title = group.title[:200]
            db.session.flush()
            self.themes[group.name] = theme.id
        return self.themes[group.name]

    def _tag(self, name: str) -> int:
        if name not in self.tags:
            tag_id = db.session.scalar(select(Tag.id).where(Tag.name == name))
            if tag_id is None:
                tag_id = db.session.execute(insert(Tag).values(name=name).returning(Tag.id)).scalar_one()
            self.tags[name] = tag_id
        return self.tags[name]


def resource_values(record, old: dict | None) -> dict:
    """Return a resource's columns from CKAN, keeping what was learnt while its file is the same."""
    values = {
        "ckan_id": record.ckan_id,
        "name": record.name,
        "description": record.description,
        "format": record.format,
        "mimetype": record.mimetype,
        "url": record.url,
        "size": record.size,
        "position": record.position,
        "ckan_last_modified": record.last_modified,
        "datastore_active": record.datastore_active,
        "state": "active",
    }
    same_file = old is not None and (old["ckan_last_modified"], old["size"], old["url"]) == (
        record.last_modified,
        record.size,
        record.url,
    )
    for key in DERIVED:
        values[key] = old[key] if same_file else None
    if not same_file:
        values["is_valid"] = False
    return values


def old_withdrawn_at(conn, dataset_id: int):
    return conn.execute(select(_DATASETS.c.withdrawn_at).where(_DATASETS.c.id == dataset_id)).scalar()


def _parking_name(name: str, ckan_id: str) -> str:
    """A name no CKAN package can hold (CKAN names allow no `~`), unique by the old id."""
    return f"{name[:63]}~{ckan_id[:36]}"


def withdraw(dataset: Dataset, reason: str, now: datetime) -> None:
    """Take a dataset out of the public catalogue, keeping it and its history."""
    dataset.state, dataset.withdrawn_reason, dataset.withdrawn_at = WITHDRAWN, reason, now
    changes.mark(dataset, now)  # the catalogue changed: cached searches must see it
