"""Setting contests up: rubric and round rules are checked, with messages the office can act on."""

from __future__ import annotations

import pytest
from contest_factories import (
    RUBRIC,
    assign,
    make_contest,
    make_entry,
    make_judge,
    make_round,
    make_team,
    score_sheet,
    windows_for,
)

from portal.contest import setup
from portal.contest.setup import CriterionSpec, RoundRules
from portal.extensions import db

pytestmark = pytest.mark.usefixtures("english")


def en(message) -> str:
    return str(message)


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (
            [CriterionSpec("创新性", 50, 10), CriterionSpec("完成度", 40, 10)],
            "add up to 90; they must add up to 100",
        ),
        ([CriterionSpec("创新性", 60, 10), CriterionSpec("完成度", 50, 10)], "add up to 110"),
        ([], "at least one criterion"),
        ([CriterionSpec("创新性", 50, 10), CriterionSpec("创新性", 50, 10)], "name of its own"),
        ([CriterionSpec("创新性", 100, 0)], "maximum score of at least 1"),
        (
            [
                CriterionSpec("创新性", 50, 10, tiebreak_order=1),
                CriterionSpec("完成度", 50, 10, tiebreak_order=1),
            ],
            "Tie-break positions",
        ),
    ],
)
def test_rubric_problem_names_what_is_wrong(specs, message):
    assert message in en(setup.rubric_problem(specs))


def test_rubric_of_weights_adding_up_to_100_is_fine():
    assert setup.rubric_problem(RUBRIC) is None


def test_set_rubric_refuses_weights_not_adding_up_to_100(app):
    round_ = make_round(make_contest(), rubric=False)
    with pytest.raises(setup.SetupError, match="add up to 95"):
        setup.set_rubric(round_, [CriterionSpec("创新性", 45, 10), CriterionSpec("完成度", 50, 10)])
    assert round_.criteria == []


def test_set_rubric_replaces_the_rubric_before_scoring(app):
    round_ = make_round(make_contest())
    setup.set_rubric(round_, [CriterionSpec("总体", 100, 100)])
    db.session.flush()
    assert [(c.name, c.weight, c.max_score) for c in round_.criteria] == [("总体", 100, 100)]


def test_rubric_is_locked_once_a_judge_has_scored(app):
    contest = make_contest()
    round_ = make_round(contest, "judging")
    sheet = assign(make_entry(make_team(contest), round_), make_judge(round_))
    score_sheet(sheet, (8, 8, 4), submit=False)
    with pytest.raises(setup.SetupError, match="started scoring"):
        setup.set_rubric(round_, [CriterionSpec("总体", 100, 100)])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"submission_closes_at": "submission_opens_at"}, "must close after it opens"),
        ({"judging_opens_at": "submission_opens_at"}, "only when the submission window has closed"),
        ({"judging_closes_at": "judging_opens_at"}, "judging window must close after it opens"),
    ],
)
def test_round_windows_must_follow_each_other(app, change, message):
    contest = make_contest()
    times = windows_for("submission")
    for field, other in change.items():
        times[field] = times[other]
    with pytest.raises(setup.SetupError, match=message):
        setup.save_round(contest, RoundRules(name="初赛", **times))


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"advance_count": 3, "advance_cutoff": 80}, "not both"),
        ({"advance_count": 0}, "At least one entry"),
        ({"advance_cutoff": 101}, "between 0 and 100"),
        ({"judges_per_entry": 0}, "between 1 and 20"),
        ({"notice_days": 90}, "between 0 and 60"),
        ({"aggregation": "median"}, "Unknown aggregation"),
    ],
)
def test_round_rules_are_checked(app, rules, message):
    with pytest.raises(setup.SetupError, match=message):
        setup.save_round(make_contest(), RoundRules(name="初赛", **windows_for("submission"), **rules))


def test_round_names_are_unique_within_a_contest(app):
    contest = make_contest()
    setup.save_round(contest, RoundRules(name="初赛", **windows_for("submission")))
    with pytest.raises(setup.SetupError, match="already has a round"):
        setup.save_round(contest, RoundRules(name="初赛", **windows_for("submission")))


def test_rounds_follow_each_other_in_the_contest(app):
    contest = make_contest()
    first = make_round(contest)
    second = make_round(contest)
    assert (first.position, second.position) == (0, 1)
    assert setup.previous_round(second) is first and setup.previous_round(first) is None


def test_contest_names_are_unique_per_year(app):
    setup.create_contest(year=2026, name="创新大赛", by=None)
    with pytest.raises(setup.SetupError, match="already has a contest"):
        setup.create_contest(year=2026, name="创新大赛", by=None)
    assert setup.create_contest(year=2027, name="创新大赛", by=None).year == 2027


def test_admin_sees_the_rubric_error_on_the_page(client, login):
    login("admin")
    round_ = make_round(make_contest(), rubric=False)
    db.session.commit()
    client.set_cookie("lang", "en")
    form = {
        "criteria-0-name": "创新性",
        "criteria-0-weight": "60",
        "criteria-0-max_score": "10",
        "criteria-1-name": "完成度",
        "criteria-1-weight": "30",
        "criteria-1-max_score": "10",
    }
    response = client.post(f"/contest/admin/rounds/{round_.id}/rubric", data=form)
    assert response.status_code == 400
    assert "The weights add up to 90; they must add up to 100." in response.get_data(as_text=True)


def test_admin_creates_a_round_in_beijing_time(client, login):
    login("admin")
    contest = make_contest()
    db.session.commit()
    form = {
        "name": "复赛",
        "submission_opens_at": "2026-06-01T09:00",
        "submission_closes_at": "2026-06-30T17:00",
        "judging_opens_at": "2026-07-01T09:00",
        "judging_closes_at": "2026-07-10T17:00",
        "judges_per_entry": "3",
        "aggregation": "trimmed_mean",
        "normalise": "y",
        "notice_days": "7",
        "advance_count": "5",
    }
    response = client.post(f"/contest/admin/{contest.id}/rounds/new", data=form)
    assert response.status_code == 302
    db.session.expire_all()
    [round_] = contest.rounds
    assert round_.submission_closes_at.isoformat() == "2026-06-30T09:00:00+00:00"  # 17:00 in Beijing
    assert (round_.aggregation, round_.normalise, round_.blind, round_.advance_count) == (
        "trimmed_mean",
        True,
        False,
        5,
    )
