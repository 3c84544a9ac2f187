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


def test_privileged_actions_are_recorded_role_active_password_population(app, client, login):
    from factories import region

    admin = login("admin")
    user = make_user()
    db.session.commit()
    assert (
        client.post(f"/admin/users/{user.id}/role", data={"role": "judge", "region_id": ""}).status_code
        == 302
    )
    assert client.post(f"/admin/users/{user.id}/active", data={"active": "0"}).status_code == 302
    shown = client.post(f"/admin/users/{user.id}/reset-password").get_data(as_text=True)
    data = {"region_id": region("330402").id, "year": 2022, "population": 880_000, "source": "2022年统计公报"}
    assert client.post("/admin/regions", data=data).status_code == 302
    data["population"] = 881_234
    assert client.post("/admin/regions", data=data).status_code == 302
    [role] = events("user.role_changed")
    assert (role.actor_id, role.before["role"], role.after["role"]) == (admin.id, "developer", "judge")
    assert events("user.active_changed")[0].after == {"active": False}
    [reset] = events("user.password_reset")
    assert reset.object_id == str(user.id) and reset.after is None
    first, second = events("population.changed")
    assert (first.before, first.after["population"]) == (None, 880_000)
    assert (second.before["population"], second.after["population"]) == (880_000, 881_234)
    assert len(shown) > 0 and log.verify(db.session).ok


def test_each_download_of_conditional_data_is_recorded(app, client, login):
    from catalogue_factories import download_url, mirrored

    open_dataset = make_dataset()
    conditional = make_dataset(open_condition=CONDITIONAL)
    open_file, conditional_file = mirrored(open_dataset), mirrored(conditional)
    admin = login("admin")
    assert client.get(download_url(open_dataset, open_file)).status_code in (200, 302)
    for _ in range(2):
        assert client.get(download_url(conditional, conditional_file)).status_code in (200, 302)
    recorded = events("dataset.conditional_download")
    assert [(e.actor_id, e.object_id) for e in recorded] == [(admin.id, conditional_file.ckan_id)] * 2
    assert recorded[0].after == {"dataset": conditional.name}
