"""Panels, assignments, conflicts and progress against the database."""

from __future__ import annotations

from collections import Counter

import pytest
from contest_factories import (
    DAY,
    HOUR,
    assign,
    join,
    make_contest,
    make_entry,
    make_judge,
    make_round,
    make_team,
    score_sheet,
)
from factories import make_user, region

from portal.contest import panels, results
from portal.contest.models import ACTIVE, Assignment
from portal.extensions import db

pytestmark = pytest.mark.usefixtures("english")


def active(round_) -> list[Assignment]:
    return [a for a in db.session.query(Assignment).filter_by(round_id=round_.id) if a.status in ACTIVE]


def test_assignment_gives_k_judges_none_of_the_entrys_county_and_balances_loads(app):
    contest = make_contest(tracks=("智慧交通",))
    round_ = make_round(contest, "judging", judges_per_entry=2)
    for code in ("330402", "330402", "330411", "330421", "330424", "330481"):
        make_entry(make_team(contest, region_code=code), round_)
    judges = [make_judge(round_, region_code=code) for code in ("330402", "330411", None)]
    report = panels.assign_round(round_, by=make_user("admin"), now=round_.judging_opens_at)
    made = active(round_)
    assert report.created == len(made) == 12 and report.short == []
    assert all(a.judge_id != judges[0].id for a in made if a.entry.team.region.code == "330402")
    assert all(a.judge_id != judges[1].id for a in made if a.entry.team.region.code == "330411")
    loads = Counter(a.judge_id for a in made)
    assert max(loads.values()) - min(loads.values()) <= 1


def test_assignment_reports_entries_short_of_judges(app):
    contest = make_contest(tracks=("智慧交通",))
    round_ = make_round(contest, "judging", judges_per_entry=2)
    entry = make_entry(make_team(contest, region_code="330402"), round_)
    make_judge(round_, region_code="330402")
    make_judge(round_)
    report = panels.assign_round(round_, by=make_user("admin"), now=round_.judging_opens_at)
    assert report.short == [entry] and report.created == 1


def test_a_judge_is_never_given_their_own_teams_entry(app):
    contest = make_contest(tracks=("智慧交通",))
    round_ = make_round(contest, "judging", judges_per_entry=2)
    judge = make_user("judge")
    team = make_team(contest, region_code=None)
    join(team, judge)  # before the judge sits on the contest's panel, which would bar them from joining
    for track in contest.tracks:
        panels.add_judge(round_, track, judge)
    make_judge(round_)
    make_judge(round_)
    entry = make_entry(team, round_)
    panels.assign_round(round_, by=make_user("admin"), now=round_.judging_opens_at)
    assert judge.id not in {a.judge_id for a in active(round_) if a.entry_id == entry.id}


def test_assignment_waits_for_the_submission_window_to_close(app):
    contest = make_contest()
    round_ = make_round(contest, "submission")
    with pytest.raises(panels.PanelError, match="once the submission window has closed"):
        panels.assign_round(round_, by=make_user("admin"), now=round_.submission_closes_at - HOUR)


def test_running_the_assignment_again_only_fills_gaps(app):
    contest = make_contest(tracks=("智慧交通",))
    round_ = make_round(contest, "judging", judges_per_entry=2)
    make_entry(make_team(contest), round_)
    for _ in range(3):
        make_judge(round_)
    admin = make_user("admin")
    panels.assign_round(round_, by=admin, now=round_.judging_opens_at)
    assert panels.assign_round(round_, by=admin, now=round_.judging_opens_at).created == 0


def test_a_declared_conflict_takes_the_entry_off_the_judge_and_admins_reassign_it(app):
    contest = make_contest(tracks=("智慧交通",))
    round_ = make_round(contest, "judging", judges_per_entry=1)
    entry = make_entry(make_team(contest), round_)
    first, second = make_judge(round_), make_judge(round_)
    sheet = assign(entry, first)
    conflict = panels.declare_conflict(sheet, reason="我曾指导该团队", by=first, now=round_.judging_opens_at)
    assert sheet.status == "conflict" and panels.open_conflicts(round_) == [conflict]
    replacement = panels.resolve_conflict(
        conflict, replace=True, by=make_user("admin"), now=round_.judging_opens_at
    )
    assert replacement.judge_id == second.id and replacement.source == "manual"
    assert conflict.status == "resolved" and panels.open_conflicts(round_) == []
    panels.assign_round(round_, by=make_user("admin"), now=round_.judging_opens_at)
    assert first.id not in {a.judge_id for a in active(round_)}  # never given back to the recused judge


def test_a_conflict_needs_a_reason_and_the_judges_own_assignment(app):
    contest = make_contest()
    round_ = make_round(contest, "judging")
    sheet = assign(make_entry(make_team(contest), round_), make_judge(round_))
    with pytest.raises(panels.PanelError, match="why you must recuse"):
        panels.declare_conflict(sheet, reason=" ", by=sheet.judge, now=round_.judging_opens_at)
    with pytest.raises(panels.PanelError, match="assigned to you"):
        panels.declare_conflict(sheet, reason="利益相关", by=make_judge(round_), now=round_.judging_opens_at)


def test_admins_override_an_assignment_but_not_against_recusal(app):
    contest = make_contest(tracks=("智慧交通",))
    round_ = make_round(contest, "judging")
    entry = make_entry(make_team(contest, region_code="330402"), round_)
    same_county, other = make_judge(round_, region_code="330402"), make_judge(round_, region_code="330411")
    admin = make_user("admin")
    with pytest.raises(panels.PanelError, match="must recuse"):
        panels.assign_manually(entry, same_county, by=admin, now=round_.judging_opens_at)
    made = panels.assign_manually(entry, other, by=admin, now=round_.judging_opens_at)
    panels.remove_assignment(made)
    assert made.status == "removed"
    assert panels.assign_manually(entry, other, by=admin, now=round_.judging_opens_at).status == "assigned"


def test_a_judges_county_is_kept_on_their_profile(app):
    contest = make_contest()
    round_ = make_round(contest)
    judge = make_judge(round_, region_code="330481")
    assert panels.county_of(judge) == region("330481")
    with pytest.raises(panels.PanelError, match="judge role"):
        panels.add_judge(round_, contest.tracks[0], make_user("developer"))


def test_progress_lists_unfinished_judges_first(app):
    contest = make_contest()
    round_ = make_round(contest, "judging")
    entry = make_entry(make_team(contest), round_)
    done, slow = make_judge(round_), make_judge(round_)
    score_sheet(assign(entry, done), (8, 8, 4))
    score_sheet(assign(entry, slow), (8, 8, 4), submit=False)
    report = results.progress(round_)
    assert [(p.judge, p.assigned, p.submitted, p.started) for p in report] == [
        (slow, 1, 0, 1),
        (done, 1, 1, 0),
    ]
    assert not report[0].is_finished and report[1].is_finished


def test_only_submitted_sheets_count_in_the_results(app):
    contest = make_contest()
    round_ = make_round(contest, "judging")
    entry = make_entry(make_team(contest), round_)
    score_sheet(assign(entry, make_judge(round_)), (10, 10, 5))
    score_sheet(assign(entry, make_judge(round_)), (0, 0, 0), submit=False)
    row = results.compute(round_).row_of(entry)
    assert row.result.judges == 1 and row.result.score == pytest.approx(100)


def test_publication_waits_for_judging_to_close_and_for_open_conflicts(app):
    contest = make_contest()
    round_ = make_round(contest, "judging")
    sheet = assign(make_entry(make_team(contest), round_), make_judge(round_))
    admin = make_user("admin")
    with pytest.raises(results.PublicationError, match="after the judging window has closed"):
        results.publish(round_, by=admin, now=round_.judging_closes_at - HOUR)
    panels.declare_conflict(sheet, reason="亲属关系", by=sheet.judge, now=round_.judging_opens_at)
    with pytest.raises(results.PublicationError, match="open conflicts"):
        results.publish(round_, by=admin, now=round_.judging_closes_at)
    [conflict] = panels.open_conflicts(round_)
    panels.resolve_conflict(conflict, replace=False, by=admin, now=round_.judging_closes_at)
    results.publish(round_, by=admin, now=round_.judging_closes_at)
    assert round_.notice_ends_at == round_.judging_closes_at + round_.notice_days * DAY
