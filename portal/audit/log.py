"""Write, check, export and prune the audit log (audit/models.py).

`record` appends one row in the caller's transaction (the caller commits, so the row and
the action it records stand or fall together). Each row's hash covers its content and the
previous row's hash, kept as the chain's head in `audit_chain`: a writer moves the head and
links its row to the head it moved, and the head's row lock (the database's write lock on
SQLite) holds the next writer until the caller commits, so no two rows link to the same one.
On PostgreSQL that is one statement, one round trip (the head moves and the row goes in; the
hash is computed by the server, `_chained_sql`); on SQLite three, with no ORM flush on either.
`verify` walks the chain and names the first row whose content or link does not match, or the
last row when the chain stops short of the head (the newest rows removed). Never pass a
password or a token in `before`/`after`: the log keeps what it is given, for years.
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
    Row,
    String,
    Text,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session

from portal.audit.models import AuditChain, AuditEvent
from portal.dbtypes import utcnow

GENESIS = "0" * 64  # the link of the first row ever written
SYSTEM, ANONYMOUS = "system", "anonymous"
FIELDS = (
    "id", "at", "actor_id", "actor", "role", "action", "object_type", "object_id", "before", "after",
    "client", "prev_hash", "hash",
)  # fmt: skip
CONTENT = FIELDS[1:-2]  # what a row's hash covers besides its link
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


def _tail(at: datetime, actor_id, actor, role, action, object_type, object_id, before, after, client) -> str:
    """A row's content as the JSON text that follows its link in what is hashed: `"<at>",<actor_id>,…]`."""
    content = [_at(at), actor_id, actor, role, action, object_type, object_id, before, after, client]
    return _ENCODE(content)[1:]  # "[" dropped: the link comes first


def _chained(prev_hash: str, tail: str) -> str:
    """A row's hash: over the JSON list of its link and its content, `["<prev_hash>",<tail>`."""
    return hashlib.sha256(f'["{prev_hash}",{tail}'.encode()).hexdigest()


def _chained_sql(prev_hash, tail):
    """`_chained` as PostgreSQL computes it (the link is a hex digest: nothing in it to escape)."""
    body = literal('["', String) + prev_hash + literal('",', String) + tail
    return func.encode(func.sha256(func.convert_to(body, "UTF8")), "hex")


def digest(prev_hash: str, at: datetime, actor_id, actor, role, action, object_type, object_id, before, after,
           client) -> str:  # fmt: skip
    """The hash of one row: over its content and the previous row's hash."""
    return _chained(
        prev_hash, _tail(at, actor_id, actor, role, action, object_type, object_id, before, after, client)
    )


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


# Statements built once: building them per row cost more than running them.
_EVENTS, _CHAIN = AuditEvent.__table__, AuditChain.__table__
_HEAD = _CHAIN.c.id == 1
_LAST_HASH = select(_EVENTS.c.hash).order_by(_EVENTS.c.id.desc()).limit(1)
_HEAD_HASH = select(_CHAIN.c.hash).where(_HEAD)
_SEED = text(
    "INSERT INTO audit_chain (id, prev_hash, hash) VALUES (1, :genesis, :head) ON CONFLICT (id) DO NOTHING"
)
# PostgreSQL: the head moves (SET reads the row's old values; a writer that waited for the head's row
# lock reads the version its holder committed) and the row is inserted with the link the move returned
_MOVED = (
    update(_CHAIN)
    .where(_HEAD)
    .values(prev_hash=_CHAIN.c.hash, hash=_chained_sql(_CHAIN.c.hash, bindparam("tail", type_=Text())))
    .returning(_CHAIN.c.prev_hash, _CHAIN.c.hash)
    .cte("moved")
)
_APPEND = (
    insert(_EVENTS)
    .from_select(
        [*CONTENT, "prev_hash", "hash"],
        select(
            *(bindparam(name, type_=_EVENTS.c[name].type) for name in CONTENT),
            _MOVED.c.prev_hash,
            _MOVED.c.hash,
        ),
    )
    .returning(_EVENTS.c.id, _EVENTS.c.prev_hash, _EVENTS.c.hash)
)
# SQLite (no UPDATE inside WITH): a write to the head takes the database's write lock as it reads the head
_TAKE_HEAD = update(_CHAIN).where(_HEAD).values(prev_hash=_CHAIN.c.hash).returning(_CHAIN.c.hash)
_INSERT = insert(_EVENTS).returning(_EVENTS.c.id)
_SET_HEAD = update(_CHAIN).where(_HEAD).values(hash=bindparam("head"))


def _append_postgresql(conn: Connection, values: dict, tail: str) -> Row | None:
    return conn.execute(_APPEND, {**values, "tail": tail}).first()


def _append_sqlite(conn: Connection, values: dict, tail: str) -> tuple[int, str, str] | None:
    prev = conn.execute(_TAKE_HEAD).scalar()
    if prev is None:
        return None
    hashed = _chained(prev, tail)
    row_id = conn.execute(_INSERT, {**values, "prev_hash": prev, "hash": hashed}).scalar_one()
    conn.execute(_SET_HEAD, {"head": hashed})
    return row_id, prev, hashed


def _append(conn: Connection, values: dict) -> tuple[int, str, str]:
    """Move the chain's head and insert the row linked to it; return its id, link and hash. A missing head
    (its table emptied) starts again from the last row kept: the chain goes on where it stopped."""
    append = _append_postgresql if conn.dialect.name == "postgresql" else _append_sqlite
    tail = _tail(**values)
    appended = append(conn, values, tail)
    if appended is None:
        conn.execute(_SEED, {"genesis": GENESIS, "head": conn.execute(_LAST_HASH).scalar() or GENESIS})
        appended = append(conn, values, tail)
    return tuple(appended)


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
    row_id, prev, hashed = _append(session.connection(), values)
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
    was removed, or the last row when the chain stops short of its head (the newest rows removed).
    (Retention removes from the oldest end: the first row kept is taken as given.)"""
    count, expected = 0, None
    last_id = 0
    conn = session.connection()  # plain rows: the ORM's result layer doubled the cost of a row
    head = conn.execute(_HEAD_HASH).scalar()  # read first: rows written during the walk come after it
    reached = head is None  # no head to reach: its table was emptied, and the next row starts it again
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
            tail = _tail(at, actor_id, actor, role, action, object_type, object_id, before, after, client)
            if _chained(prev, tail) != hash_:
                return Verdict(count, expected or GENESIS, id_, "its content does not match its hash")
            expected = hash_
            reached = reached or hash_ == head
            count += 1
        last_id = rows[-1][0]
    if count and not reached:
        return Verdict(
            count, expected, last_id, "the rows after it were removed: the chain's head is past it"
        )
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
