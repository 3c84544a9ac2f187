"""The contest factories make a round with an entry, a judge and a score sheet."""

from __future__ import annotations

from contest_factories import assign, make_contest, make_entry, make_judge, make_round, make_team, score_sheet


def test_factories_make_a_round_with_an_entry_a_judge_and_a_sheet(app):
    contest = make_contest()
    round_ = make_round(contest, "judging")
    entry = make_entry(make_team(contest), round_)
    sheet = assign(entry, make_judge(round_))
    score_sheet(sheet, (8, 9, 4))
    assert sheet.status == "submitted"
    assert [c.name for c in round_.criteria] == ["创新性", "数据应用", "完成度"]
