"""Error reports: due dates in working days, the states, and the preview hold."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from catalogue_factories import make_dataset
from factories import make_user
from flask_babel import force_locale

from portal.catalogue import holds
from portal.feedback import reports
from portal.feedback.models import ACKNOWLEDGED, FIXED, REJECTED, ErrorReport

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # a Friday, 10:00 in Jiaxing
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


def test_due_day_skips_the_weekend():
    assert reports.due_day(date(2026, 12, 4), 5) == date(2026, 12, 11)  # Friday + 5 working days
    assert reports.due_day(date(2026, 12, 5), 1) == date(2026, 12, 7)  # Saturday -> Monday


def test_due_moment_is_the_end_of_the_due_day_in_the_city():
    assert reports.due_moment(NOW, 5) == datetime(2026, 12, 11, 16, 0, tzinfo=UTC)  # midnight in Shanghai


def _file(app, **kwargs):
    dataset = kwargs.pop("dataset", None) or make_dataset()
    user = make_user()
    args = {"kind": "wrong_values", "text": "第三行的数值有误", "now": NOW, "working_days": 5}
    return reports.file_report(dataset, by=user, **{**args, **kwargs})


def test_a_report_is_new_and_due_in_five_working_days(app):
    report = _file(app)
    assert report.state == "new" and report.due_at == datetime(2026, 12, 11, 16, 0, tzinfo=UTC)
    assert not reports.is_overdue(report, NOW)
    assert reports.is_overdue(report, datetime(2026, 12, 11, 16, 1, tzinfo=UTC))


@pytest.mark.parametrize("text", ["", "   ", "字" * 2001])
def test_empty_or_long_text_is_refused_and_nothing_is_stored(app, text):
    with pytest.raises(reports.ReportError):
        _file(app, text=text)
    assert app.extensions["sqlalchemy"].session.query(ErrorReport).count() == 0


def test_an_unknown_kind_is_refused(app):
    with pytest.raises(reports.ReportError):
        _file(app, kind="rude")


def test_a_screenshot_is_stored_and_an_oversized_or_foreign_one_refused(app):
    from portal import storage

    store = storage.get_storage()
    report = _file(app, screenshot=io.BytesIO(PNG), screenshot_max=1000, storage=store)
    assert store.exists(report.screenshot_key)
    with force_locale("en"), pytest.raises(reports.ReportError, match="too large") as large:
        _file(app, screenshot=io.BytesIO(PNG * 20), screenshot_max=1000, storage=store)
    with force_locale("en"), pytest.raises(reports.ReportError, match="PNG or JPEG") as foreign:
        _file(app, screenshot=io.BytesIO(b"GIF89a" + b"\0" * 10), screenshot_max=1000, storage=store)
    assert "screenshot" in large.value.fields and "screenshot" in foreign.value.fields


def test_states_run_new_acknowledged_fixed_and_the_first_reply_stops_the_clock(app):
    report = _file(app)
    office = make_user("admin")
    later = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    reports.acknowledge(report, by=office, reply="", now=later)
    assert report.state == ACKNOWLEDGED and report.replied_at == later
    reports.fix(report, by=office, reply="已更正", now=datetime(2026, 12, 20, tzinfo=UTC))
    assert report.state == FIXED and report.replied_at == later and report.reply == "已更正"
    assert not reports.is_overdue(report, datetime(2027, 1, 1, tzinfo=UTC))
    with pytest.raises(reports.ReportError):
        reports.reject(report, by=office, reply="重复", now=later)
    with pytest.raises(reports.ReportError):
        reports.acknowledge(report, by=office, reply="", now=later)


def test_rejecting_needs_a_reply(app):
    report = _file(app)
    with pytest.raises(reports.ReportError):
        reports.reject(report, by=make_user("admin"), reply=" ", now=NOW)
    assert report.state == "new"


def test_a_personal_data_report_holds_previews_until_the_last_one_is_answered(app):
    dataset = make_dataset()
    first = _file(app, dataset=dataset, kind="personal_data")
    second = _file(app, dataset=dataset, kind="personal_data")
    assert holds.is_held(dataset.id)
    office = make_user("admin")
    reports.fix(first, by=office, reply="已脱敏", now=NOW)
    assert holds.is_held(dataset.id)
    reports.reject(second, by=office, reply="不含个人信息", now=NOW)
    assert not holds.is_held(dataset.id)
    assert second.state == REJECTED
