"""The demo's feedback: made through the domain functions, every state shown, idempotent."""

from __future__ import annotations

import io

from catalogue_factories import make_dataset, make_department
from factories import make_user

from portal import clock, storage
from portal.catalogue import holds, quality
from portal.catalogue.quality import LinkCheck
from portal.extensions import db
from portal.feedback import figures
from portal.feedback.demo import seed_demo_feedback, seed_demo_link_health
from portal.feedback.models import DataRequest, DatasetComment, ErrorReport
from portal.notices.models import Notification


def test_demo_fills_reports_requests_and_ratings_once(app):
    make_user("admin"), make_user("developer"), make_user("judge"), make_user("judge"), make_user("developer")
    department = make_department(name="jx-demo")
    datasets = [make_dataset(f"示例数据{n}", department=department) for n in range(3)]
    assert seed_demo_feedback() == 6
    db.session.commit()
    assert {r.state for r in db.session.query(ErrorReport)} == {"new", "acknowledged", "fixed", "rejected"}
    [personal] = db.session.query(ErrorReport).filter_by(kind="personal_data").all()
    assert personal.state == "acknowledged" and holds.is_held(personal.dataset_id)  # previews withheld
    assert {r.status for r in db.session.query(DataRequest)} == {"open", "planned", "published", "declined"}
    assert all(d.rating_count == 4 for d in datasets)
    states = sorted(c.state for c in db.session.query(DatasetComment).filter_by(dataset_id=datasets[0].id))
    # a person's held, another's approved then hidden by three reports of abuse, the office's shown
    assert states == ["held", "hidden", "shown"]
    reported = db.session.query(DatasetComment).filter_by(dataset_id=datasets[1].id, state="shown").all()
    assert sorted(c.reports for c in reported) == [0, 1]  # the office's, and a person's reported once
    row = next(r for r in figures.summary(now=clock.now())["departments"] if r["organization"] == "jx-demo")
    assert row["reports"] == 6 and row["rectification_rate"] == 0.4
    assert (row["requests"], row["requests_answered"]) == (2, 2)
    told = {(n.kind, n.user_id) for n in db.session.query(Notification)}  # as the pages tell
    reporters = {r.reporter_id for r in db.session.query(ErrorReport) if r.replied_at is not None}
    assert {user for kind, user in told if kind == "report_answered"} == reporters
    assert {kind for kind, _ in told} >= {"report_filed", "data_requested", "request_answered"}
    assert seed_demo_feedback() == 0
    assert db.session.query(ErrorReport).count() == 6
    assert db.session.query(DatasetComment).count() == 9


def test_the_demo_link_check_rereads_the_mirrored_copies_and_finds_the_lost_one(app):
    store = storage.get_storage()
    dataset = make_dataset(
        "示例数据",
        department=make_department(name="jx-demo"),
        resources=[{"format": "CSV"}, {"format": "CSV"}],
    )
    for n, resource in enumerate(dataset.resources):
        resource.name = f"示例（{'2024年存档' if n else '最新'}，CSV）"
        resource.storage_key = f"resources/demo/{resource.id}.csv"
        store.put(resource.storage_key, io.BytesIO(b"a,b\n1,2\n"), content_type="text/csv")
    db.session.commit()
    assert seed_demo_link_health(store) == (2, 1)
    db.session.commit()
    checks = {c.resource_id: c for c in db.session.query(LinkCheck)}
    assert not checks[dataset.resources[0].id].broken
    assert checks[dataset.resources[1].id].error == "mirrored copy missing"
    assert quality.broken_resource_ids(dataset.id) == {dataset.resources[1].id}
    assert seed_demo_link_health(store) == (0, 0)
