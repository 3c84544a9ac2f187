"""What the audit log records (issue 15 item 4): sign-ins and failed ones, token creation and revocation,
access decisions (sync withdrawals: tests/sync/test_data_levels.py). Never a password or a token."""

from __future__ import annotations

import json

from catalogue_factories import make_dataset
from factories import PASSWORD, make_user
from sqlalchemy import select

from portal.accounts import tokens
from portal.audit import log
from portal.audit.models import AuditEvent
from portal.catalogue import access
from portal.catalogue.models import CONDITIONAL
from portal.extensions import db


def events(action: str) -> list[AuditEvent]:
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()


def text_of_log() -> str:
    return json.dumps([dict(row) for row in log.rows_since(db.session)], default=str, ensure_ascii=False)


def test_sign_ins_and_failures_are_recorded_with_a_hashed_address_and_no_password(app, client):
    user = make_user(email="dev@example.cn")
    db.session.commit()
    bad = client.post("/account/sign-in", data={"email": "dev@example.cn", "password": "wrong-Password-1"})
    assert bad.status_code == 400
    good = client.post("/account/sign-in", data={"email": "DEV@example.cn", "password": PASSWORD})
    assert good.status_code == 302
    [failed] = events("user.sign_in_failed")
    [signed_in] = events("user.signed_in")
    assert (failed.actor, failed.object_id) == ("anonymous", "dev@example.cn")
    assert (signed_in.actor_id, signed_in.role) == (user.id, "developer")
    assert (
        signed_in.client == failed.client and len(signed_in.client) == 64 and "127.0.0.1" not in text_of_log()
    )
    assert PASSWORD not in text_of_log() and "wrong-Password-1" not in text_of_log()
    assert log.verify(db.session).ok


def test_token_creation_and_revocation_are_recorded_without_the_token(app):
    user = make_user()
    token, plain = tokens.create_token(user, "我的脚本")
    tokens.revoke(token, user)
    tokens.revoke(token, user)  # twice: recorded once
    db.session.commit()
    assert [e.object_id for e in events("token.created")] == [str(token.id)]
    assert len(events("token.revoked")) == 1
    assert plain not in text_of_log() and token.token_hash not in text_of_log()


def test_access_decisions_are_recorded_with_the_reason(app):
    admin, developer = make_user("admin"), make_user()
    dataset = make_dataset(open_condition=CONDITIONAL)
    request = access.request_access(developer, dataset, "研究公交线网优化，用于课题分析")
    access.decide(request, approve=False, reason="用途不明确", by=admin)
    db.session.commit()
    [decided] = events("access_request.decided")
    assert (decided.actor_id, decided.object_id) == (admin.id, str(request.id))
    assert decided.before == {"status": "pending"}
    assert decided.after == {"status": "rejected", "reason": "用途不明确", "dataset_id": dataset.id}
