"""Windows and locks: entries and scores are accepted up to the close and refused from that instant on."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from contest_factories import (
    assign,
    make_contest,
    make_dataset,
    make_entry,
    make_judge,
    make_round,
    make_team,
    score_sheet,
)

from portal import clock
from portal.contest import entries, scoring, windows
from portal.extensions import db
from portal.storage import get_storage

MOMENT = timedelta(microseconds=1)
T = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


def timed(**publication):
    """A round whose windows run 0–10 days (submissions) and 12–20 days (judging) after T."""
    names = ("submission_opens_at", "submission_closes_at", "judging_opens_at", "judging_closes_at")
    values = dict(zip(names, (T + timedelta(days=d) for d in (0, 10, 12, 20)), strict=True))
    values |= {"published_at": None, "notice_ends_at": None, "finalised_at": None} | publication
    return SimpleNamespace(**values)


@pytest.mark.parametrize(
    ("days", "phase"),
    [
        (-1, "upcoming"),
        (0, "submission"),
        (9.99, "submission"),
        (10, "awaiting_judging"),
        (12, "judging"),
        (20, "awaiting_results"),
    ],
)
def test_phase_follows_the_windows(days, phase):
    assert windows.phase(timed(), T + timedelta(days=days)) == phase


def test_phase_after_publication_is_the_notice_period_then_final():
    published = timed(published_at=T + timedelta(days=21), notice_ends_at=T + timedelta(days=28))
    assert windows.phase(published, T + timedelta(days=22)) == "notice"
    assert windows.phase(published, T + timedelta(days=28)) == "awaiting_final"
    published.finalised_at = T + timedelta(days=29)
    assert windows.phase(published, T + timedelta(days=30)) == "final"


def test_windows_are_half_open():
    round_ = timed()
    assert windows.submission_open(round_, round_.submission_closes_at - MOMENT)
    assert not windows.submission_open(round_, round_.submission_closes_at)
    assert windows.judging_open(round_, round_.judging_opens_at)
    assert not windows.judging_open(round_, round_.judging_closes_at)


def test_local_times_are_beijing_time():
    assert clock.from_local(datetime(2026, 6, 30, 17, 0)) == datetime(2026, 6, 30, 9, 0, tzinfo=UTC)
    assert clock.to_local(datetime(2026, 6, 30, 16, 0, tzinfo=UTC)) == datetime(2026, 7, 1, 0, 0)


@pytest.mark.usefixtures("english")
class TestSubmissionLock:
    def draft(self, title="改过的标题"):
        return entries.EntryDraft(title, "摘要", "", [make_dataset().id])

    def test_an_entry_a_moment_before_the_close_is_accepted(self, app):
        contest = make_contest()
        round_ = make_round(contest)
        team = make_team(contest)
        entry = entries.submit_entry(
            team,
            round_,
            contest.tracks[0],
            self.draft(),
            by=team.captain,
            now=round_.submission_closes_at - MOMENT,
        )
        assert entry.title == "改过的标题"

    def test_an_entry_a_second_after_the_close_is_refused(self, app):
        contest = make_contest()
        round_ = make_round(contest)
        team = make_team(contest)
        with pytest.raises(entries.SubmissionError, match="submission window of .* is closed"):
            entries.submit_entry(
                team,
                round_,
                contest.tracks[0],
                self.draft(),
                by=team.captain,
                now=round_.submission_closes_at + timedelta(seconds=1),
            )

    def test_editing_an_entry_after_the_close_is_refused_and_changes_nothing(self, app):
        contest = make_contest()
        round_ = make_round(contest)
        entry = make_entry(make_team(contest), round_)
        db.session.commit()
        with pytest.raises(entries.SubmissionError):
            entries.submit_entry(
                entry.team,
                round_,
                entry.track,
                self.draft("迟到的修改"),
                by=entry.team.captain,
                now=round_.submission_closes_at,
            )
        db.session.rollback()
        assert db.session.get(type(entry), entry.id).title == "公交到站预报"

    def test_an_attachment_after_the_close_is_refused(self, app):
        contest = make_contest()
        round_ = make_round(contest)
        entry = make_entry(make_team(contest), round_)
        with pytest.raises(entries.SubmissionError, match="closed"):
            entries.add_attachment(
                entry,
                filename="方案.pdf",
                stream=io.BytesIO(b"%PDF-1.7 ..."),
                by=entry.team.captain,
                now=round_.submission_closes_at,
                store=get_storage(),
                max_sizes=entries.DEFAULT_MAX_SIZES,
            )


@pytest.mark.usefixtures("english")
class TestScoringLock:
    def sheet(self):
        contest = make_contest()
        round_ = make_round(contest, "judging")
        return assign(make_entry(make_team(contest), round_), make_judge(round_))

    def test_scoring_a_moment_before_the_close_is_accepted(self, app):
        sheet = self.sheet()
        score_sheet(sheet, (8, 8, 4), now=sheet.round.judging_closes_at - MOMENT)
        assert sheet.status == "submitted"

    def test_scoring_a_second_after_the_close_is_refused(self, app):
        sheet = self.sheet()
        with pytest.raises(scoring.ScoringError, match="closed; scores are locked"):
            score_sheet(sheet, (8, 8, 4), now=sheet.round.judging_closes_at + timedelta(seconds=1))

    def test_scoring_before_judging_opens_is_refused(self, app):
        sheet = self.sheet()
        with pytest.raises(scoring.ScoringError, match="closed"):
            score_sheet(sheet, (8, 8, 4), now=sheet.round.judging_opens_at - MOMENT)

    def test_a_submitted_sheet_cannot_change_after_the_close(self, app):
        sheet = self.sheet()
        score_sheet(sheet, (8, 8, 4))
        with pytest.raises(scoring.ScoringError):
            scoring.save_scores(
                sheet,
                {sheet.round.criteria[0].id: scoring.Mark(Decimal(1))},
                by=sheet.judge,
                now=sheet.round.judging_closes_at,
            )
        assert scoring.scores_of(sheet)[sheet.round.criteria[0].id].value == 8


def test_the_entry_form_refuses_a_closed_window_with_a_message(client, login):
    captain = login("county_member")
    contest = make_contest()
    round_ = make_round(contest, "judging")  # its submission window closed yesterday
    team = make_team(contest, captain=captain)
    db.session.commit()
    client.set_cookie("lang", "en")
    url = f"/contest/teams/{team.id}/rounds/{round_.id}/tracks/{contest.tracks[0].id}/entry"
    response = client.post(
        url, data={"title": "迟到", "abstract": "摘要", "dataset_ids": [make_dataset().id]}
    )
    assert response.status_code == 400
    assert "is closed" in response.get_data(as_text=True)


def test_the_scoring_form_refuses_a_closed_window(client):
    contest = make_contest()
    round_ = make_round(contest, "closed")
    sheet = assign(make_entry(make_team(contest), round_), make_judge(round_))
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = str(sheet.judge_id)
    form = {f"score_{c.id}": "3" for c in round_.criteria} | {"action": "submit"}
    response = client.post(f"/contest/judging/assignments/{sheet.id}", data=form)
    assert response.status_code == 400
    assert sheet.round.criteria and scoring.scores_of(sheet) == {}
