"""Plain `make_*` factories for the contest (keyword defaults, add, flush, return), for any test to import.

Rounds are made in a phase relative to the real clock, because the views read the clock; domain tests pass
`now` explicitly instead.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

from catalogue_factories import make_dataset
from factories import make_user, region

from portal.contest import entries, invitations, panels, scoring, setup, teams
from portal.contest.models import Assignment, Contest, Entry, Round, Team, Track
from portal.dbtypes import utcnow
from portal.extensions import db

_seq = itertools.count(1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
RUBRIC = [
    setup.CriterionSpec("创新性", 40, 10, "思路新颖", tiebreak_order=2),
    setup.CriterionSpec("数据应用", 40, 10, "用好开放数据", tiebreak_order=1),
    setup.CriterionSpec("完成度", 20, 5, "可以演示"),
]


def windows_for(phase: str, now: datetime | None = None) -> dict:
    """Return the four window bounds that put a round in `phase` at `now`."""
    now = now or utcnow()
    starts = {
        "upcoming": now + DAY,
        "submission": now - DAY,
        "judging": now - 3 * DAY,
        "closed": now - 5 * DAY,
    }[phase]
    return {
        "submission_opens_at": starts,
        "submission_closes_at": starts + 2 * DAY,
        "judging_opens_at": starts + 2 * DAY,
        "judging_closes_at": starts + 4 * DAY,
    }


def make_contest(*, tracks: tuple[str, ...] = ("智慧交通", "民生服务"), public: bool = True) -> Contest:
    """A contest with `tracks`; public (published) unless `public=False` keeps it a draft."""
    contest = setup.create_contest(year=2026, name=f"数据开放创新应用大赛{next(_seq)}", by=None)
    for name in tracks:
        setup.add_track(contest, name=name)
    if public:
        contest.published_at = utcnow()  # publish_contest wants a round too; the tests add rounds after
    return contest


def make_round(contest: Contest, phase: str = "submission", *, rubric: bool = True, **rules) -> Round:
    settings = {"name": f"初赛{next(_seq)}", "judges_per_entry": 2, **windows_for(phase), **rules}
    round_ = setup.save_round(contest, setup.RoundRules(**settings))
    if rubric:
        setup.set_rubric(round_, RUBRIC)
    return round_


def make_team(contest: Contest, *, captain=None, region_code: str | None = "330402", members=()) -> Team:
    captain = captain or make_user("county_member", region_code=region_code or "330402")
    county = region(region_code) if region_code else None
    return teams.form_team(
        contest, name=f"测试团队{next(_seq)}", captain=captain, member_emails=list(members), region=county
    )


def join(team: Team, user) -> None:
    """Invite `user`'s address to `team` (if not yet invited) and accept it as `user`."""
    if user.email not in team.member_emails:
        teams.update_team(
            team, name=team.name, member_emails=[*team.member_emails, user.email], region=team.region
        )
    [invitation] = [m for m in team.members if m.email == user.email]
    invitations.accept(invitation, by=user, now=utcnow())


def make_entry(
    team: Team, round_: Round, track: Track | None = None, *, title: str = "公交到站预报"
) -> Entry:
    """Submit an entry through the domain, just inside the submission window."""
    track = track or round_.contest.tracks[0]
    draft = entries.EntryDraft(
        title, "用开放数据预报公交到站时间。", "https://demo.example.cn", [make_dataset().id]
    )
    return entries.submit_entry(
        team, round_, track, draft, by=team.captain, now=round_.submission_opens_at + HOUR
    )


def make_judge(round_: Round, *, region_code: str | None = None, tracks=None):
    judge = make_user("judge")
    panels.set_county(judge, region(region_code) if region_code else None)
    for track in tracks or round_.contest.tracks:
        panels.add_judge(round_, track, judge)
    return judge


def assign(entry: Entry, judge) -> Assignment:
    made = Assignment(round_id=entry.round_id, entry_id=entry.id, judge_id=judge.id)
    db.session.add(made)
    db.session.flush()
    return made


def score_sheet(
    assignment: Assignment, values: tuple, *, submit: bool = True, now: datetime | None = None
) -> None:
    """Save one value per criterion (rubric order) in the judging window, and submit."""
    round_ = assignment.round
    marks = {c.id: scoring.Mark(Decimal(str(v))) for c, v in zip(round_.criteria, values, strict=True)}
    scoring.save_scores(
        assignment, marks, by=assignment.judge, now=now or round_.judging_opens_at + HOUR, submit=submit
    )
