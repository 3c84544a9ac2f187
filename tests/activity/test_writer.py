"""The backlog's writer (events._writer): a batch of recorded events goes to the driver's executemany on a
pooled connection, with what SQLAlchemy's insert would store and its errors (issue 20 item 2)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, exc, select

from portal.activity.events import BACKLOG, COLUMNS, _writer
from portal.activity.models import ActivityEvent
from portal.dbtypes import utcnow
from portal.extensions import db


def event_row(**values) -> dict:
    """An event as `record` makes it: every column given."""
    row = dict.fromkeys(COLUMNS)
    row.update(occurred_at=utcnow(), kind="page_view", path="/", visitor_hash="v" * 64, is_bot=False)
    return row | values


def stored() -> list[tuple]:
    db.session.rollback()  # a fresh snapshot: the writer commits on a connection of its own
    query = select(ActivityEvent.occurred_at, ActivityEvent.kind, ActivityEvent.path, ActivityEvent.is_bot)
    return db.session.execute(query.order_by(ActivityEvent.id)).all()


def test_recorded_events_go_to_the_driver_in_one_executemany_and_read_back_as_written(app):
    statements: list[tuple[str, bool]] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, executemany))

    at = datetime(2026, 12, 6, 8, 30, 15, 123456, tzinfo=UTC)
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        _writer(db.engine)([event_row(occurred_at=at, path="/a"), event_row(occurred_at=at, is_bot=True)])
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert not statements  # not through SQLAlchemy's execution, which processed each parameter
    assert stored() == [(at, "page_view", "/a", False), (at, "page_view", "/", True)]


def test_rows_without_every_column_take_sqlalchemys_insert_and_its_defaults(app):
    _writer(db.engine)([{"occurred_at": utcnow(), "kind": "search", "visitor_hash": "v"}])
    assert [(kind, path, bot) for _, kind, path, bot in stored()] == [("search", "", False)]


def test_a_recorded_event_the_table_refuses_is_dropped_and_the_others_written(app):
    backlog = app.extensions[BACKLOG]
    backlog.flush()
    for row in (event_row(path="/a"), event_row(kind="bogus"), event_row(path="/b")):
        backlog.add(row)  # the kind breaks the table's CHECK: an IntegrityError, from the driver
    backlog.flush()
    assert [path for _, _, path, _ in stored()] == ["/a", "/b"]
    assert len(backlog) == 0


def test_a_value_its_column_type_refuses_is_dropped_as_sqlalchemy_would_refuse_it(app):
    backlog = app.extensions[BACKLOG]
    backlog.flush()
    naive = datetime(2026, 12, 6, 8, 30)  # UTCDateTime refuses naive times
    for row in (event_row(path="/a"), event_row(occurred_at=naive), event_row(path="/b")):
        backlog.add(row)
    backlog.flush()
    assert [path for _, _, path, _ in stored()] == ["/a", "/b"]


def test_a_sqlite_connection_keeps_no_deadline_of_its_last_request_for_the_writer(app):
    """The writer's statements bypass the hook that sets each statement's deadline: it clears the one its
    pooled connection kept, which a long statement would otherwise have been interrupted by."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's bound is reset as the connection is checked out")
    db.session.close()
    db.engine.dispose()  # one connection in the pool: the one below, which the writer takes next
    connection = db.engine.raw_connection()
    connection.info["deadline"].at = 0.0  # a request's deadline, long past
    connection.close()
    _writer(db.engine)([event_row(path="/late")])
    connection = db.engine.raw_connection()
    try:
        assert connection.info["deadline"].at is None
    finally:
        connection.close()
    assert [path for _, _, path, _ in stored()] == ["/late"]


def test_a_lost_connection_is_raised_as_sqlalchemys_error_and_never_pooled_again(app, monkeypatch):
    """A connection lost while pooled (a restarted database): the writer raises SQLAlchemy's error for
    the driver's first one, invalidates the connection, and the batch written again goes through."""
    lost = db.engine.raw_connection()
    lost.dbapi_connection.close()  # what a restart leaves behind
    monkeypatch.setattr(db.engine, "raw_connection", lambda: lost)
    with pytest.raises(exc.DBAPIError) as raised:
        _writer(db.engine)([event_row(path="/lost")])
    assert raised.value.connection_invalidated
    assert not lost.is_valid
    monkeypatch.undo()
    _writer(db.engine)([event_row(path="/again")])
    assert [path for _, _, path, _ in stored()] == ["/again"]
