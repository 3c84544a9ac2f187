"""The audit log (issue 15 item 4): append-only rows chained by hashes, so that `audit verify` finds
any row changed or removed; `audit export` for the city's log platform; retention by `audit prune`."""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import timedelta

import pytest
from factories import make_user
from flask_migrate import upgrade
from sqlalchemy import delete, event, insert, select, text, update

from portal import clock, create_app
from portal.audit import log
from portal.audit.models import AuditChain, AuditEvent
from portal.dbtypes import utcnow
from portal.extensions import db


def write(n: int, **kwargs) -> list[AuditEvent]:
    admin = make_user("admin", email="office@example.cn")
    events = [
        log.record(
            db.session,
            "user.role_changed",
            actor=admin,
            object_type="user",
            object_id=i,
            before={"role": "developer"},
            after={"role": "judge", "名字": "张三"},
            client=log.client_hash("203.0.113.7", "secret"),
            **kwargs,
        )
        for i in range(n)
    ]
    db.session.commit()
    return events


def test_rows_chain_and_verify(app):
    events = write(5)
    assert events[0].prev_hash == log.GENESIS
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    verdict = log.verify(db.session, batch=2)  # across batches
    assert verdict.ok and verdict.rows == 5 and verdict.head == events[-1].hash
    assert events[0].actor == "office@example.cn" and events[0].role == "admin"
    assert events[0].client != "203.0.113.7" and len(events[0].client) == 64


def test_a_changed_row_is_found(app, runner):
    events = write(4)
    db.session.execute(
        update(AuditEvent).where(AuditEvent.id == events[2].id).values(after={"role": "admin"})
    )
    db.session.commit()
    verdict = log.verify(db.session)
    assert (verdict.broken_at, verdict.rows) == (events[2].id, 2)
    assert "content" in verdict.problem
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"BROKEN at row {events[2].id}" in result.output


def test_a_changed_row_with_a_recomputed_hash_is_found_by_the_next_link(app):
    events = write(4)
    row = events[1]
    forged = log.digest(
        row.prev_hash, row.at, row.actor_id, row.actor, row.role, row.action, row.object_type, row.object_id,
        row.before, {"role": "admin"}, row.client,
    )  # fmt: skip
    db.session.execute(
        update(AuditEvent).where(AuditEvent.id == row.id).values(after={"role": "admin"}, hash=forged)
    )
    db.session.commit()
    assert log.verify(db.session).broken_at == events[2].id


def test_a_removed_row_is_found(app, runner):
    events = write(4)
    db.session.execute(delete(AuditEvent).where(AuditEvent.id == events[1].id))
    db.session.commit()
    verdict = log.verify(db.session)
    assert verdict.broken_at == events[2].id and "removed" in verdict.problem
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1


def test_the_newest_rows_removed_are_found_by_the_head(app, runner):
    """The chain itself cannot tell a log cut short from a complete one: the head it stops short of can."""
    events = write(4)
    db.session.execute(delete(AuditEvent).where(AuditEvent.id.in_([events[2].id, events[3].id])))
    db.session.commit()
    verdict = log.verify(db.session)
    assert (verdict.broken_at, verdict.rows) == (events[1].id, 2) and "removed" in verdict.problem
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1


def test_a_row_whose_json_was_broken_by_hand_is_found(app):
    events = write(3)
    if db.session.get_bind().dialect.name == "postgresql":
        pytest.skip("PostgreSQL's json type refuses text that is not JSON")
    db.session.execute(
        text("UPDATE audit_events SET after = '{\"role\": ' WHERE id = :id"), {"id": events[1].id}
    )
    db.session.commit()
    verdict = log.verify(db.session)
    assert (verdict.broken_at, verdict.rows) == (events[1].id, 1) and "content" in verdict.problem


def test_the_chain_head_follows_the_last_row(app):
    events = write(3)
    head = db.session.get(AuditChain, 1)
    assert (head.prev_hash, head.hash) == (events[1].hash, events[2].hash)


def test_a_missing_head_starts_again_from_the_last_row(app):
    """The head's table emptied (by hand, or by a clean-up): the next row links to the last one kept."""
    events = write(2)
    db.session.execute(delete(AuditChain))
    db.session.commit()
    later = log.record(db.session, "user.signed_in")
    db.session.commit()
    assert later.prev_hash == events[-1].hash and db.session.get(AuditChain, 1).hash == later.hash
    assert log.verify(db.session).ok


def test_a_row_costs_one_statement_on_postgresql(app):
    """PostgreSQL moves the head and inserts the row in one statement (one round trip, the hash computed by
    the server as `digest` computes it); SQLite, which has no UPDATE inside WITH, takes three."""
    write(1)  # the head exists
    statements = []
    listen = (db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    event.listen(*listen)
    try:
        entry = log.record(
            db.session, "user.signed_in", object_type="user", object_id="7", after={"名": "张三"}
        )
    finally:
        event.remove(*listen)
    db.session.commit()
    assert len(statements) == (1 if db.engine.dialect.name == "postgresql" else 3)
    assert entry.hash == log.digest(entry.prev_hash, *(getattr(entry, name) for name in log.CONTENT))
    assert log.verify(db.session).ok


def test_a_fork_written_around_the_log_is_found(app):
    """No unique index refuses a second row with the same link (the head keeps `record` from writing one):
    `verify` finds it."""
    events = write(3)
    twin = {name: getattr(events[1], name) for name in (*log.CONTENT, "prev_hash", "hash")}
    db.session.execute(insert(AuditEvent), twin)
    db.session.commit()
    verdict = log.verify(db.session)
    assert verdict.rows == 3 and verdict.broken_at > events[2].id and "removed" in verdict.problem


def test_a_writer_waits_for_the_head_and_links_to_the_row_it_was_waiting_for(app):
    """The second writer's move of the head waits for the first writer's commit, then links to its row
    (on PostgreSQL it reads the version the first committed, not the one it found at its start)."""
    write(1)
    first = log.record(db.session, "user.signed_in", object_type="user", object_id="first")
    second = []

    def other() -> None:
        with app.app_context():
            second.append(log.record(db.session, "user.signed_in", object_type="user", object_id="second"))
            db.session.commit()
            db.session.remove()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(timeout=0.5)
    assert thread.is_alive()  # held by the head
    db.session.commit()
    thread.join(timeout=30)
    assert second[0].prev_hash == first.hash and log.verify(db.session).ok


def test_revision_0033_starts_the_head_where_the_log_stands(request, tmp_path):
    url = request.getfixturevalue("empty_database_url")
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "i"), "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(revision="0032")
        rows, prev = [], log.GENESIS
        for n in range(3):
            values = dict(
                at=utcnow(), actor_id=None, actor="system", role="system", action="dataset.withdrawn",
                object_type="dataset", object_id=str(n), before=None, after={"n": n}, client="",
            )  # fmt: skip
            rows.append({**values, "prev_hash": prev, "hash": log.digest(prev, **values)})
            prev = rows[-1]["hash"]
        db.session.execute(insert(AuditEvent), rows)
        db.session.commit()
        upgrade(revision="0033")
        head = db.session.execute(text("SELECT prev_hash, hash FROM audit_chain")).all()
        later = log.record(db.session, "user.signed_in")
        db.session.commit()
        verdict = log.verify(db.session)
        db.session.remove()
        db.engine.dispose()
    assert head == [(rows[1]["hash"], rows[2]["hash"])]
    assert later.prev_hash == rows[2]["hash"] and verdict.ok and verdict.rows == 4


def test_verify_command_on_a_sound_log(app, runner):
    events = write(3)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and f"OK: 3 rows, head {events[-1].hash}" in result.output


def test_the_system_and_anonymous_visitors_are_named(app):
    from flask_login import AnonymousUserMixin

    system = log.record(db.session, "dataset.withdrawn", object_type="dataset", object_id="x")
    anonymous = log.record(db.session, "user.sign_in_failed", actor=AnonymousUserMixin())
    db.session.commit()
    assert (system.actor, system.role, system.actor_id) == ("system", "system", None)
    assert (anonymous.actor, anonymous.role) == ("anonymous", "anonymous")
    assert log.verify(db.session).ok


def test_export_jsonl_and_csv_since(app, runner):
    early = write(2)
    later_start = early[-1].at + timedelta(seconds=1)
    with clock.frozen(later_start + timedelta(seconds=5)):
        later = [
            log.record(db.session, "token.created", object_type="api_token", object_id="=cmd|' /C calc'!A0")
        ]
        db.session.commit()
    result = runner.invoke(args=["audit", "export", "--format", "jsonl"])
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [r["id"] for r in lines] == [e.id for e in early + later]
    assert lines[0]["after"] == {"role": "judge", "名字": "张三"} and lines[0]["hash"] == early[0].hash
    since = later[0].at.isoformat()
    result = runner.invoke(args=["audit", "export", "--since", since, "--format", "csv"])
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == list(log.FIELDS) and len(rows) == 2
    assert rows[1][log.FIELDS.index("object_id")].startswith("'=")  # no formula for a spreadsheet
    bad = runner.invoke(args=["audit", "export", "--since", "yesterday"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output


def test_prune_keeps_the_retention_and_the_rest_still_verifies(app, runner):
    old = write(3)
    db.session.execute(
        update(AuditEvent)
        .where(AuditEvent.id.in_([old[0].id, old[1].id]))
        .values(at=old[0].at - timedelta(days=app.config["AUDIT_RETENTION_DAYS"] + 1))
    )
    db.session.commit()
    result = runner.invoke(args=["audit", "prune"])
    assert result.exit_code == 0 and result.output.startswith("2 row(s)")
    assert db.session.scalars(select(AuditEvent.id)).all() == [old[2].id]
    assert log.verify(db.session).ok  # the first row kept is taken as given


def test_concurrent_writers_keep_one_chain(app):
    """Writers in several threads (each its own connection) never fork the chain nor lose a row:
    each moves the chain's head (its row lock on PostgreSQL, the write lock on SQLite, held until
    the writer commits) and links its row to the head it moved."""
    writers, each = 4, 15
    start, failures = threading.Barrier(writers), []

    def work(n: int) -> None:
        with app.app_context():
            start.wait()
            try:
                for i in range(each):
                    log.record(db.session, "user.signed_in", object_type="user", object_id=f"{n}-{i}")
                    db.session.commit()
            except Exception as exc:  # the test fails on any
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    verdict = log.verify(db.session)
    assert verdict.ok and verdict.rows == writers * each
    ids = db.session.scalars(select(AuditEvent.object_id)).all()
    assert sorted(ids) == sorted(f"{n}-{i}" for n in range(writers) for i in range(each))
