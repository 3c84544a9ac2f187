"""Status words that share an English word get their own message per context (pgettext), in both languages."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from contest_factories import (
    assign,
    make_contest,
    make_entry,
    make_judge,
    make_round,
    make_team,
    score_sheet,
)
from factories import make_user
from flask import url_for

from portal.extensions import db

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


def sign_in(client, user, lang: str = "zh") -> None:
    """Sign `user` in on `client`, reading pages in `lang`."""
    db.session.commit()
    if lang == "en":
        client.set_cookie("lang", "en")
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def url(app, endpoint: str, **values) -> str:
    with app.test_request_context():
        return url_for(endpoint, **values)


@pytest.fixture
def judged(app):
    """A round in judging with one judge who submitted a sheet and one who has not started."""
    contest = make_contest()
    round_ = make_round(contest, "judging")
    entry = make_entry(make_team(contest), round_)
    done, idle = make_judge(round_), make_judge(round_)
    sheet = assign(entry, done)
    score_sheet(sheet, (8, 8, 4))
    assign(entry, idle)
    db.session.commit()
    return round_, done, sheet


@pytest.mark.parametrize(
    ("lang", "submitted", "wrong"), [("zh", "已提交", "待审核"), ("en", "Submitted", "Awaiting review")]
)
def test_judge_desk_and_score_sheet_call_a_submitted_sheet_submitted(
    app, client, judged, lang, submitted, wrong
):
    round_, judge, sheet = judged
    sign_in(client, judge, lang)
    for page in (
        url(app, "contest.judging.index"),
        url(app, "contest.judging.score", assignment_id=sheet.id),
    ):
        html = client.get(page).get_data(as_text=True)
        assert f'<span class="badge ok">{submitted}</span>' in html
        assert wrong not in html


@pytest.mark.parametrize(
    ("lang", "words", "wrong"),
    [
        ("zh", ("已分配作品", "已提交评分", ">已完成<", ">未完成<"), ("待审核", "结束时间")),
        ("en", ("Assigned", "Submitted", ">Finished<", ">Not finished<"), ()),
    ],
)
def test_progress_page_heads_columns_and_names_finished_judges_in_their_own_words(
    app, client, judged, lang, words, wrong
):
    round_, _judge, _sheet = judged
    sign_in(client, make_user("admin"), lang)
    html = client.get(url(app, "contest.admin.progress", round_id=round_.id)).get_data(as_text=True)
    for word in words:
        assert word in html
    for word in wrong:
        assert word not in html


@pytest.mark.parametrize(("lang", "label"), [("zh", "大赛名称"), ("en", "Name")])
def test_the_contest_name_is_not_a_persons_name(app, client, lang, label):
    make_contest()
    sign_in(client, make_user("admin"), lang)
    html = client.get(url(app, "contest.admin.contests")).get_data(as_text=True)
    assert f"<th>{label}</th>" in html
    if lang == "zh":
        assert "姓名" not in html


def test_admin_user_list_still_calls_a_person_by_name(app, client):
    sign_in(client, make_user("admin"))
    html = client.get("/admin/users").get_data(as_text=True)
    assert "<th>姓名</th>" in html


def test_an_application_awaiting_review_still_reads_awaiting_review(app):
    from flask_babel import force_locale

    from portal.applications.views import status_labels

    with app.test_request_context():
        with force_locale("zh_CN"):
            assert status_labels()["submitted"] == "待审核"
        with force_locale("en"):
            assert status_labels()["submitted"] == "Submitted"


def test_extraction_keeps_each_context_as_its_own_message(tmp_path):
    """The .po holds msgctxt entries for contextual messages, including lazy ones in forms."""
    catalog = read_po(PO.open("rb"), locale="zh_CN")
    assert catalog.get("Submitted", "score sheet").string == "已提交"
    assert catalog.get("Submitted", "application status").string == "待审核"
    assert catalog.get("Name", "contest").string == "大赛名称"  # lazy_pgettext in portal/contest/forms.py
    assert catalog.get("Finished", "judge progress").string == "已完成"


def test_i18n_fill_addresses_a_message_by_its_context(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import i18n
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    po = tmp_path / "messages.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgctxt "score sheet"\nmsgid "Submitted"\nmsgstr ""\n\n'
        'msgid "Submitted"\nmsgstr ""\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(i18n, "PO", po)
    assert sorted(i18n.missing()) == ["Submitted", "score sheet\x04Submitted"]
    fill = tmp_path / "fill.json"
    fill.write_text(
        json.dumps({"score sheet\u0004Submitted": "已提交", "Submitted": "待审核"}), encoding="utf-8"
    )
    i18n.fill(str(fill))
    catalog = read_po(po.open("rb"), locale="zh_CN")
    assert catalog.get("Submitted", "score sheet").string == "已提交"
    assert catalog.get("Submitted").string == "待审核"
    assert i18n.missing() == []
