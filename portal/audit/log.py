"""Write, check, export and prune the audit log (audit/models.py).

`record` appends one row in the caller's transaction (the caller commits, so the row and
the action it records stand or fall together). Each row's hash covers its content and the
previous row's hash, so the previous row is read under the chain's lock, held until the
caller commits: a transaction-scoped advisory lock on PostgreSQL, the database's write lock on
SQLite. The unique `prev_hash` refuses a fork anywhere. A row costs two round trips on
PostgreSQL (the lock with the head, then one INSERT) and no ORM flush. `verify` walks the
chain and names the first row whose content or link does not match. Never pass a password
or a token in `before`/`after`: the log keeps what it is given, for years.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlalchemy import (
    Connection,
    DateTime,
    Text,
    bindparam,
    cast,
    delete,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.dbtypes import utcnow

GENESIS = "0" * 64  # the link of the first row ever written
ADVISORY_LOCK = 15_0004  # pg_advisory_xact_lock key of the audit chain
SYSTEM, ANONYMOUS = "system", "anonymous"
FIELDS = (
    "id", "at", "actor_id", "actor", "role", "action", "object_type", "object_id", "before", "after",
    "client", "prev_hash", "hash",
)  # fmt: skip

# Statements built once: building them per row cost more than running them.
_LAST_HASH = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
_INSERT = insert(AuditEvent.__table__).returning(AuditEvent.__table__.c.id)
# SQLite: a write that changes nothing takes the database's write lock before the head is read (no row
# has id 0, and the primary key finds none at once: `id IS NULL` scanned the whole table)
_TAKE_WRITE_LOCK = update(AuditEvent.__table__).where(AuditEvent.__table__.c.id == 0).values(hash="")
# PostgreSQL: the lock, then the head under it, sent as one simple query (no parameters, so psycopg
# sends both in one round trip; each statement takes its own snapshot, so the second sees the rows
# committed by whoever held the lock before)
_LOCKED_HEAD = (
    f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK}); SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1"
)
_ENCODE = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def client_hash(address: str | None, secret: str) -> str:
    """A keyed hash of a client's address: the same address links its rows, but cannot be read back."""
    if not address:
        return ""
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()


def _plain(value: Any) -> Any:
    """JSON-ready copy of `value` (what the database will give back), or None."""
    return None if value is None else json.loads(json.dumps(value, default=str, ensure_ascii=False))


def _at(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def digest(prev_hash: str, at: datetime, actor_id, actor, role, action, object_type, object_id, before, after,
           client) -> str:  # fmt: skip
    """The hash of one row: over its content and the previous row's hash."""
    body = _ENCODE(
        [prev_hash, _at(at), actor_id, actor, role, action, object_type, object_id, before, after, client]
    )  # the same text as json.dumps with these options; one encoder made once
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One row as `record` wrote it (not an ORM object: writing one costs a flush)."""

    id: int
    at: datetime
    actor_id: int | None
    actor: str
    role: str
    action: str
    object_type: str
    object_id: str
    before: Any
    after: Any
    client: str
    prev_hash: str
    hash: str


def _head(conn: Connection) -> str:
    """Take the chain's lock (held to the end of the transaction) and return the last row's hash."""
    if conn.dialect.name == "postgresql":
        dbapi = conn.dialect.loaded_dbapi
        cursor = conn.connection.cursor()
        try:
            cursor.execute(_LOCKED_HEAD)
            cursor.nextset()
            row = cursor.fetchone()
        except dbapi.Error as exc:  # as SQLAlchemy would raise it (a statement timeout: OperationalError)
            raise DBAPIError.instance(_LOCKED_HEAD, None, exc, dbapi.Error) from exc
        finally:
            cursor.close()
        return row[0] if row else GENESIS
    conn.execute(_TAKE_WRITE_LOCK)
    return conn.execute(_LAST_HASH).scalar() or GENESIS


def record(
    session: Session,
    action: str,
    *,
    actor: Any = None,
    object_type: str = "",
    object_id: object = "",
    before: dict | None = None,
    after: dict | None = None,
    client: str = "",
) -> Entry:
    """Append one row: `actor` is a user (anything with id, email and role) or None for the system;
    `client` is `client_hash(address, secret)` of the request's address, or "" outside requests."""
    conn = session.connection()
    prev = _head(conn)
    if actor is None:
        actor_id, label, role = None, SYSTEM, SYSTEM
    elif not getattr(actor, "is_authenticated", True):
        actor_id, label, role = None, ANONYMOUS, ANONYMOUS
    else:
        actor_id, label, role = actor.id, str(actor.email)[:200], str(actor.role)[:20]
    values = dict(
        at=utcnow(),
        actor_id=actor_id,
        actor=label,
        role=role,
        action=action[:60],
        object_type=object_type[:40],
        object_id=str(object_id)[:200],
        before=_plain(before),
        after=_plain(after),
        client=client,
    )
    hashed = digest(prev, **values)
    row_id = conn.execute(_INSERT, {**values, "prev_hash": prev, "hash": hashed}).scalar_one()
    return Entry(id=row_id, **values, prev_hash=prev, hash=hashed)


@dataclass(frozen=True)
class Verdict:
    rows: int
    head: str  # the last row's hash: compare it with the one the log platform last received
    broken_at: int | None = None  # id of the first row that does not match
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


_COLUMNS = [getattr(AuditEvent, name) for name in FIELDS]
# What verify reads: the time as stored (naive UTC) and the JSON as text, parsed by one decoder made once
# (the column types' own processing was a third of the cost of a row)
_RAW = {
    "at": type_coerce(AuditEvent.at, DateTime()),
    "before": cast(AuditEvent.before, Text),
    "after": cast(AuditEvent.after, Text),
}
_BATCH = (
    select(*(_RAW.get(name, column) for name, column in zip(FIELDS, _COLUMNS, strict=True)))
    .where(AuditEvent.id > bindparam("after"))
    .order_by(AuditEvent.id)
    .limit(bindparam("n"))
)
_DECODE = json.JSONDecoder().decode


def _parsed(text: str | None) -> Any:
    """A JSON column's stored text as the database would have given it back."""
    return None if text is None or text == "null" else _DECODE(text)


def verify(session: Session, *, batch: int = 10_000) -> Verdict:
    """Walk the chain from the oldest row kept; return the first row changed, or whose predecessor
    was removed. (Retention removes from the oldest end: the first row kept is taken as given.)"""
    count, expected = 0, None
    last_id = 0
    conn = session.connection()  # plain rows: the ORM's result layer doubled the cost of a row
    while True:
        rows = conn.execute(_BATCH, {"after": last_id, "n": batch}).all()
        if not rows:
            break
        for row in rows:
            (
                id_,
                at,
                actor_id,
                actor,
                role,
                action,
                object_type,
                object_id,
                before,
                after,
                client,
                prev,
                hash_,
            ) = row
            if expected is not None and prev != expected:
                return Verdict(count, expected, id_, "the row before it was changed or removed")
            try:
                before, after = _parsed(before), _parsed(after)
            except ValueError:  # not JSON any more: changed by hand
                return Verdict(count, expected or GENESIS, id_, "its content does not match its hash")
            if (
                digest(prev, at, actor_id, actor, role, action, object_type, object_id, before, after, client)
                != hash_
            ):
                return Verdict(count, expected or GENESIS, id_, "its content does not match its hash")
            expected = hash_
            count += 1
        last_id = rows[-1][0]
    return Verdict(count, expected or GENESIS)


def rows_since(session: Session, since: datetime | None = None, *, batch: int = 5_000) -> Iterator[dict]:
    """Every row (oldest first), from `since` on, as a dict of FIELDS."""
    last_id = 0
    while True:
        query = select(*_COLUMNS).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        if since is not None:
            query = query.where(AuditEvent.at >= since)
        rows = session.execute(query).all()
        if not rows:
            return
        for row in rows:
            yield dict(zip(FIELDS, row, strict=True))
        last_id = rows[-1][0]


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else value


def write_jsonl(rows: Iterable[dict], out: IO[str]) -> int:
    n = 0
    for row in rows:
        out.write(json.dumps({k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()},
                             ensure_ascii=False) + "\n")  # fmt: skip
        n += 1
    return n


def write_csv(rows: Iterable[dict], out: IO[str]) -> int:
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    n = 0
    for row in rows:
        writer.writerow([_safe(_cell(row[k])) for k in FIELDS])
        n += 1
    return n


def _safe(value: Any) -> Any:
    """Keep a spreadsheet from reading a cell as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def prune(session: Session, before: datetime) -> int:
    """Delete the rows older than `before` (retention); return how many."""
    result = session.execute(delete(AuditEvent).where(AuditEvent.at < before))
    return result.rowcount or 0


@dataclass(frozen=True)
class Filters:
    """The admin page's filters: who (email, part of it), what (action, or its start), object type and
    id, and a time window [since, until)."""

    who: str = ""
    what: str = ""
    object_type: str = ""
    object_id: str = ""
    since: datetime | None = None
    until: datetime | None = None


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(filters: Filters):
    """Select the rows matching `filters`, newest first."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if filters.who:
        query = query.where(AuditEvent.actor.like(f"%{_like(filters.who.lower())}%", escape="\\"))
    if filters.what:
        query = query.where(AuditEvent.action.like(f"{_like(filters.what)}%", escape="\\"))
    if filters.object_type:
        query = query.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id:
        query = query.where(AuditEvent.object_id == filters.object_id)
    if filters.since is not None:
        query = query.where(AuditEvent.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEvent.at < filters.until)
    return query


def as_row(event: AuditEvent) -> list:
    """One row of an export, in FIELDS' order, as plain cells."""
    return [_safe(_cell(getattr(event, name))) for name in FIELDS]
