"""The team desk states the quarter rule, the board explains the exemplary target, and each quarter state
has one style wherever the quarter falls."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATES = ("met", "pending", "missing", "behind", "future")
CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "applications.css"


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh", ("每季度至少推出一个", "季度结束前", "经数据局批准后计入", "补报")),
        ("en", ("at least one application every quarter", "approves it", "before the quarter ended", "late")),
    ],
)
def test_the_team_desk_states_the_quarter_rule(app, client, login, lang, words):
    login("county_member", region_code="330402")
    if lang == "en":
        client.set_cookie("lang", "en")
    page = client.get("/applications/team").get_data(as_text=True)
    rule = re.search(r'data-testid="quarter-rule">(.*?)</p>', page, re.S).group(1)
    for word in words:
        assert word in rule


@pytest.mark.parametrize(
    ("lang", "label", "hint"),
    [
        ("zh", "本年度示范成果（全市目标 5 个）", "全市每年至少推出 5 个数据开放应用创新示范成果"),
        ("en", "Exemplary applications this year, of the city's target of 5", "at least 5 exemplary"),
    ],
)
def test_the_board_explains_the_exemplary_target(app, client, login, lang, label, hint):
    login("county_member", region_code="330402")
    if lang == "en":
        client.set_cookie("lang", "en")
    page = client.get("/applications/board").get_data(as_text=True)
    figure = re.search(r'data-testid="exemplary">(.*?)</li>', page, re.S).group(1)
    assert "0 / 5" in figure and label in figure and hint in figure


@pytest.mark.parametrize(
    ("lang", "labels"),
    [
        ("zh", ("已达标", "待审核", "待报送", "未达标", "未开始")),
        ("en", ("Quota met", "Awaiting review", "Missing", "Not met", "Not started")),
    ],
)
def test_the_board_has_a_legend_of_its_states(app, client, login, lang, labels):
    login("admin")
    if lang == "en":
        client.set_cookie("lang", "en")
    page = client.get("/applications/board").get_data(as_text=True)
    legend = re.search(r'data-testid="legend"[^>]*>(.*?)</ul>', page, re.S).group(1)
    assert re.findall(r'class="state-(\w+)" data-state="\1">([^<]+)<', legend) == list(
        zip(STATES, labels, strict=True)
    )


def test_each_state_is_styled_once_and_cells_carry_only_their_state_style(app, client, login):
    css = CSS.read_text(encoding="utf-8")
    for state in STATES:
        assert len(re.findall(rf"^\.state-{state} \{{[^}}]*background", css, re.M)) == 1
    # no rule colours a state differently by quarter (current vs past)
    assert not re.search(r"\.cell-(missing|behind)\b[^{]*\{[^}]*(background|color)", css)
    login("admin")
    page = client.get("/applications/board").get_data(as_text=True)
    for cell in re.findall(r'<td class="cell ([^"]*)"[^>]*data-state="(\w+)"', page):
        classes, state = cell
        assert [c for c in classes.split() if c.startswith("state-")] == [f"state-{state}"]
