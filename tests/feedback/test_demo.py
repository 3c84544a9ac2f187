"""The demo's feedback: made through the domain functions, every state shown, idempotent."""

from __future__ import annotations

from catalogue_factories import make_dataset, make_department
from factories import make_user

from portal import clock
from portal.extensions import db
from portal.feedback import figures
from portal.feedback.demo import seed_demo_feedback
from portal.feedback.models import DataRequest, DatasetComment, ErrorReport


def test_demo_fills_reports_requests_and_ratings_once(app):
    make_user("admin"), make_user("developer"), make_user("judge")
    department = make_department(name="jx-demo")
    datasets = [make_dataset(f"示例数据{n}", department=department) for n in range(3)]
    assert seed_demo_feedback() == 5
    db.session.commit()
    assert {r.state for r in db.session.query(ErrorReport)} == {"new", "acknowledged", "fixed", "rejected"}
    assert {r.status for r in db.session.query(DataRequest)} == {"open", "planned", "published"}
    assert all(d.rating_count == 2 for d in datasets)
    states = sorted(c.state for c in db.session.query(DatasetComment).filter_by(dataset_id=datasets[0].id))
    assert states == ["held", "shown", "shown"]  # a person's approved, another's held, the office's
    row = next(r for r in figures.summary(now=clock.now())["departments"] if r["organization"] == "jx-demo")
    assert row["reports"] == 5 and row["rectification_rate"] == 0.5
    assert seed_demo_feedback() == 0
    assert db.session.query(ErrorReport).count() == 5
    assert db.session.query(DatasetComment).count() == 9
