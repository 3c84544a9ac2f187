"""A contest through its pages: teams enter, judges score, the office publishes, teams appeal."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from contest_factories import (
    DAY,
    assign,
    make_contest,
    make_dataset,
    make_entry,
    make_judge,
    make_round,
    make_team,
    score_sheet,
)
from factories import make_user, region
from openpyxl import load_workbook
from sqlalchemy import select

from portal.contest import appeals, entries, flags, results
from portal.contest.models import Assignment, Entry, EntryFile, Team
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.storage import get_storage

PDF = b"%PDF-1.7\n" + b"0" * 2000 + b"\nstartxref\n9\n%%EOF\n"  # the parts the check reads


def sign_in(client, user) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)


def test_a_signed_in_user_forms_a_team_with_members_and_a_county(client, login):
    user = login("developer")
    contest = make_contest()
    db.session.commit()
    response = client.post(
        f"/contest/{contest.id}/teams/new",
        data={
            "name": "数据先锋队",
            "region_id": str(_region_id("330411")),
            "members": "A@example.cn\nb@example.cn",
        },
    )
    assert response.status_code == 302
    team = db.session.scalar(select(Team).where(Team.name == "数据先锋队"))
    assert team.captain_id == user.id and team.region.code == "330411"
    assert team.member_emails == ["a@example.cn", "b@example.cn"]


def test_the_captain_submits_an_entry_with_datasets_and_edits_it_in_the_window(client, login):
    captain = login("county_member")
    contest = make_contest()
    round_ = make_round(contest)
    team = make_team(contest, captain=captain)
    bus, school = make_dataset("公交线路"), make_dataset("学校名录")
    db.session.commit()
    url = f"/contest/teams/{team.id}/rounds/{round_.id}/tracks/{contest.tracks[0].id}/entry"
    form = {
        "title": "公交到站预报",
        "abstract": "基于公交数据",
        "demo_url": "https://demo.example.cn",
        "dataset_ids": [bus.id, school.id],
        "action": "save",
    }
    assert client.post(url, data=form).status_code == 302
    assert (
        client.post(url, data=form | {"title": "公交到站精准预报", "dataset_ids": [bus.id]}).status_code
        == 302
    )
    [entry] = db.session.scalars(select(Entry)).all()
    assert entry.title == "公交到站精准预报" and [d.title for d in entry.datasets] == ["公交线路"]


def test_an_entry_without_datasets_is_refused(client, login):
    captain = login("county_member")
    contest = make_contest()
    round_ = make_round(contest)
    team = make_team(contest, captain=captain)
    db.session.commit()
    client.set_cookie("lang", "en")
    url = f"/contest/teams/{team.id}/rounds/{round_.id}/tracks/{contest.tracks[0].id}/entry"
    response = client.post(url, data={"title": "无数据", "abstract": "摘要", "action": "save"})
    assert response.status_code == 400
    assert "Choose at least one catalogue dataset" in response.get_data(as_text=True)


def test_attachments_are_stored_checked_and_downloaded(client, app):
    contest = make_contest()
    round_ = make_round(contest)
    entry = make_entry(make_team(contest), round_)
    db.session.commit()
    sign_in(client, entry.team.captain)
    upload = {"file": (io.BytesIO(PDF), "方案说明.pdf")}
    response = client.post(
        f"/contest/entries/{entry.id}/files", data=upload, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    [stored] = db.session.scalars(select(EntryFile)).all()
    assert (stored.kind, stored.size, stored.filename) == ("pdf", len(PDF), "方案说明.pdf")
    assert get_storage().exists(stored.storage_key)
    download = client.get(f"/contest/entries/{entry.id}/files/{stored.id}")
    assert download.status_code == 200 and download.data == PDF
    download.close()


@pytest.mark.parametrize(
    ("filename", "body", "message"),
    [
        ("方案.exe", b"MZ a program", "PDF, PPTX, DOCX, XLSX, ZIP, MP4, PNG, JPEG or WebP files only"),
        ("方案.docx", b"PK\x03\x04 docx", "is not a real DOCX file"),
        ("方案.pdf", b"MZ not a pdf", "is not a real PDF file"),
        ("方案.pdf", PDF + b"0" * 1024 * 1024, "PDF files may be at most 1 MB"),
    ],
)
def test_wrong_or_oversized_attachments_are_refused(client, app, filename, body, message):
    app.config["CONTEST_ATTACHMENT_MAX_SIZES"] = {"pdf": 1024 * 1024}
    contest = make_contest()
    entry = make_entry(make_team(contest), make_round(contest))
    db.session.commit()
    sign_in(client, entry.team.captain)
    client.set_cookie("lang", "en")
    response = client.post(
        f"/contest/entries/{entry.id}/files",
        data={"file": (io.BytesIO(body), filename)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert message in response.get_data(as_text=True)
    assert db.session.scalars(select(EntryFile)).all() == []
    del app.config["CONTEST_ATTACHMENT_MAX_SIZES"]


def test_the_office_sets_up_a_panel_and_assigns_through_the_pages(client, login):
    login("admin")
    contest = make_contest(tracks=("智慧交通",))
    round_ = make_round(contest, "judging", judges_per_entry=1)
    entry = make_entry(make_team(contest, region_code="330402"), round_)
    near, far = make_user("judge"), make_user("judge")
    db.session.commit()
    track = contest.tracks[0].id
    for judge, county in ((near, _region_id("330402")), (far, 0)):
        assert (
            client.post(f"/contest/admin/judges/{judge.id}/county", data={"region_id": county}).status_code
            == 302
        )
        data = {"judge_id": judge.id, "track_id": track}
        assert client.post(f"/contest/admin/rounds/{round_.id}/judges", data=data).status_code == 302
    assert client.post(f"/contest/admin/rounds/{round_.id}/assign").status_code == 302
    page = client.get(f"/contest/admin/rounds/{round_.id}/judges").get_data(as_text=True)
    assert f'data-entry="{entry.id}"' in page and far.display_name in page
    assert [a.judge_id for a in db.session.scalars(select(Assignment))] == [far.id]  # near shares the county


def published_round():
    """A closed round with two scored entries in one track, published a day ago."""
    contest = make_contest(tracks=("智慧交通",))
    round_ = make_round(contest, "closed", advance_count=1, notice_days=7)
    strong = make_entry(make_team(contest, region_code="330411"), round_, title="强作品")
    weak = make_entry(make_team(contest, region_code="330421"), round_, title="弱作品")
    judge = make_judge(round_)
    score_sheet(assign(strong, judge), (9, 9, 5))
    score_sheet(assign(weak, judge), (5, 6, 2))
    results.publish(round_, by=make_user("admin"), now=utcnow() - DAY)
    db.session.commit()
    return round_, strong, weak


def test_the_public_ranking_and_the_api_show_published_results(client, app):
    round_, strong, weak = published_round()
    page = client.get(f"/contest/{round_.contest_id}/rounds/{round_.id}/ranking").get_data(as_text=True)
    assert page.index("强作品") < page.index("弱作品")
    body = client.get(f"/api/v1/contests/{round_.contest_id}/rounds/{round_.id}/results").get_json()
    [track] = body["tracks"]
    assert [(i["rank"], i["title"], i["advances"]) for i in track["items"]] == [
        (1, "强作品", True),
        (2, "弱作品", False),
    ]
    assert track["items"][0]["score"] == 92.0  # 40×9/10 + 40×9/10 + 20×5/5
    assert track["items"][0]["county"] == {"code": "330411", "name": "秀洲区"}
    assert body["round"]["notice_ends_at"] is not None


def test_the_api_answers_404_in_json_for_an_unpublished_or_mismatched_round(client, app):
    contest = make_contest()
    round_ = make_round(contest, "closed")
    db.session.commit()
    response = client.get(f"/api/v1/contests/{contest.id}/rounds/{round_.id}/results")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == 404
    assert client.get(f"/api/v1/contests/{contest.id + 1}/rounds/{round_.id}/results").status_code == 404


def test_exports_hold_the_score_matrix_and_the_ranking(client, login):
    round_, strong, weak = published_round()
    login("admin")
    scores = client.get(f"/contest/admin/rounds/{round_.id}/export/scores.csv")
    assert scores.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(scores.data.decode("utf-8-sig"))))
    assert len(rows) == 3 and "创新性 (40%, /10)" in rows[0]
    workbook = load_workbook(
        io.BytesIO(client.get(f"/contest/admin/rounds/{round_.id}/export/ranking.xlsx").data)
    )
    sheet = workbook.active
    assert [sheet.cell(row=r, column=4).value for r in (2, 3)] == ["强作品", "弱作品"]
    assert client.get(f"/contest/admin/rounds/{round_.id}/export/secrets.csv").status_code == 404


def test_an_appeal_is_filed_answered_and_the_round_finalised(client, app):
    round_, strong, weak = published_round()
    sign_in(client, weak.team.captain)
    assert (
        client.post(f"/contest/entries/{weak.id}/appeal", data={"reason": "请复核完成度"}).status_code == 302
    )
    appeal = appeals.appeal_of(weak)
    admin = make_user("admin")
    db.session.commit()
    sign_in(client, admin)
    client.post(f"/contest/admin/rounds/{round_.id}/finalise")
    assert not round_.is_final  # the notice period runs and an appeal is open
    answer = {"decision": "dismissed", "reason": "评分符合细则"}
    assert client.post(f"/contest/admin/appeals/{appeal.id}", data=answer).status_code == 302
    db.session.refresh(appeal)
    assert (appeal.status, appeal.answer) == ("dismissed", "评分符合细则")
    with pytest.raises(results.PublicationError):
        results.finalise(round_, by=admin, now=round_.notice_ends_at - timedelta(seconds=1))
    results.finalise(round_, by=admin, now=round_.notice_ends_at)
    assert round_.is_final


@pytest.mark.usefixtures("english")
def test_appeals_close_with_the_notice_period(app):
    round_, strong, weak = published_round()
    with pytest.raises(appeals.AppealError, match="public notice period"):
        appeals.file_appeal(weak, reason="太晚了", by=weak.team.captain, now=round_.notice_ends_at)


@pytest.mark.usefixtures("english")
def test_an_upheld_identity_flag_disqualifies_the_entry(app):
    contest = make_contest(tracks=("智慧交通",))
    round_ = make_round(contest, "judging", blind=True)
    revealing = make_entry(make_team(contest), round_, title="暴露身份的作品")
    other = make_entry(make_team(contest), round_, title="匿名作品")
    judge = make_judge(round_)
    sheet = assign(revealing, judge)
    score_sheet(sheet, (10, 10, 5))
    score_sheet(assign(other, judge), (5, 5, 2))
    flag = flags.flag_entry(sheet, reason="封面写着团队名称", by=judge, now=utcnow())
    with pytest.raises(results.PublicationError, match="identity flags"):
        results.publish(round_, by=make_user("admin"), now=round_.judging_closes_at)
    flags.decide_flag(flag, disqualify=True, reason="材料暴露身份", by=make_user("admin"), now=utcnow())
    computed = results.compute(round_)
    assert computed.disqualified == [revealing]
    [(track, rows)] = computed.tracks
    assert [(r.entry.title, r.result.rank) for r in rows] == [("匿名作品", 1)]


@pytest.mark.usefixtures("english")
def test_only_advancing_teams_enter_the_next_round_once_the_first_is_final(app):
    first, strong, weak = published_round()
    second = make_round(first.contest, "submission")
    track = first.contest.tracks[0]
    draft = entries.EntryDraft("复赛作品", "摘要", "", [make_dataset().id])
    now = utcnow()
    with pytest.raises(entries.SubmissionError, match="not final yet"):
        entries.submit_entry(strong.team, second, track, draft, by=strong.team.captain, now=now)
    results.finalise(first, by=make_user("admin"), now=first.notice_ends_at)
    with pytest.raises(entries.SubmissionError, match="Only teams that advanced"):
        entries.submit_entry(weak.team, second, track, draft, by=weak.team.captain, now=now)
    assert (
        entries.submit_entry(strong.team, second, track, draft, by=strong.team.captain, now=now).round
        is second
    )


def test_the_results_page_shows_raw_trimmed_and_normalised_figures_side_by_side(client, login):
    round_, strong, weak = published_round()
    login("admin")
    client.set_cookie("lang", "en")
    page = client.get(f"/contest/admin/rounds/{round_.id}/results").get_data(as_text=True)
    assert 'data-testid="score">92.00<' in page
    assert all(f">{heading}<" in page for heading in ("Mean", "Trimmed mean", "Normalised", "Round score"))
    audit = client.get(f"/contest/admin/entries/{strong.id}")
    assert audit.status_code == 200 and "强作品" in audit.get_data(as_text=True)


def _region_id(code: str) -> int:
    return region(code).id
