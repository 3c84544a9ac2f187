"""In Chromium: the score sheet's weighted total follows the judge's typing (static/js/score-total.js,
under the site's CSP), and a forgotten password is reset through the link the mail folder holds."""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import pytest
from ckanserver import serve
from contest_factories import assign, make_contest, make_entry, make_judge, make_round, make_team
from factories import PASSWORD, make_user

from portal.extensions import db


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN")
    yield context.new_page()
    context.close()


def _sign_in(page, site: str, address: str, password: str = PASSWORD) -> None:
    page.goto(f"{site}/account/sign-in")
    page.fill("input[name=email]", address)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{site}/")


def test_judge_sees_the_total_move_while_typing(app, page):
    contest = make_contest()
    round_ = make_round(contest, "judging")  # rubric 40/10, 40/10, 20/5
    judge = make_judge(round_)
    judge.email = "judge@example.cn"
    assigned = assign(make_entry(make_team(contest), round_), judge)
    db.session.commit()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    with serve(app) as site:
        _sign_in(page, site, "judge@example.cn")
        page.goto(f"{site}/contest/judging/assignments/{assigned.id}")
        total = page.locator("[data-score-total]")
        assert total.inner_text() == "0.00"
        inputs = page.locator("form.score-form input[type=number]")
        inputs.nth(0).fill("8")
        assert total.inner_text() == "32.00"
        inputs.nth(2).fill("2.5")
        assert total.inner_text() == "42.00"
        inputs.nth(1).fill("11")  # above the maximum: not counted, as the server would not
        assert total.inner_text() == "42.00"
        assert page.locator("[data-score-count]").inner_text() == "2"
    assert not [e for e in errors if "Content Security Policy" in e]


def test_forgotten_password_is_reset_through_the_mailed_link(app, page):
    make_user(email="forgot@example.cn")
    db.session.commit()
    with serve(app) as site:
        page.goto(f"{site}/account/sign-in")
        page.click("a[href='/account/forgot-password']")
        page.fill("input[name=email]", "forgot@example.cn")
        page.click("main button[type=submit]")
        page.wait_for_url(f"{site}/account/sign-in")
        assert "如果该邮箱属于某个账号" in page.inner_text("main")
        folder = Path(app.instance_path) / "mail"
        for _ in range(50):
            if list(folder.glob("*.eml")):
                break
            page.wait_for_timeout(100)
        (written,) = folder.glob("*.eml")
        body = email.message_from_bytes(written.read_bytes(), policy=policy.default).get_content()
        link = re.search(r"https?://\S+/account/reset-password/\S+", body).group(0)
        path = link.split("/account/", 1)[1]
        page.goto(f"{site}/account/{path}")
        page.fill("input[name=new]", "南湖-harbour-47x")
        page.fill("input[name=confirm]", "南湖-harbour-47x")
        page.click("main button[type=submit]")
        page.wait_for_url(f"{site}/account/sign-in")
        _sign_in(page, site, "forgot@example.cn", "南湖-harbour-47x")
        page.goto(f"{site}/account/{path}")
        assert "已使用" in page.inner_text("main")
