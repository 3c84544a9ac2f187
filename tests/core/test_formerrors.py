"""Forms check everything in one pass and put every error beside its field (issue 19 item 8)."""

from __future__ import annotations

import re

import pytest
from catalogue_factories import make_dataset
from contest_factories import make_contest, make_round, make_team
from sqlalchemy import func, select

from portal import clock
from portal.accounts.models import User
from portal.applications.models import Application
from portal.contest.models import Entry
from portal.dbtypes import utcnow
from portal.extensions import db


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def error_of(html: str, field_id: str) -> str:
    """The field's error text, after checking the field points at it and says it is invalid."""
    control = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{field_id}"[^>]*>', html).group(0)
    assert f'aria-describedby="{field_id}-error"' in control, control
    assert 'aria-invalid="true"' in control, control
    return re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', html).group(1)


def test_sign_up_with_several_problems_shows_each_beside_its_field_at_once(client):
    before = count(User)
    client.set_cookie("lang", "en")
    response = client.post(
        "/account/sign-up",
        data={"email": "不是邮箱", "display_name": "", "password": "abc", "confirm": "abd"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "email" in error_of(html, "email").lower()
    assert error_of(html, "display_name")
    assert error_of(html, "password") == "The password needs at least 10 characters."
    assert error_of(html, "confirm") == "The passwords differ."
    assert count(User) == before


def test_sign_up_shows_a_weak_password_beside_a_mismatched_confirm_in_chinese(client):
    response = client.post(
        "/account/sign-up",
        data={
            "email": "kaifa@example.cn",
            "display_name": "王开发",
            "password": "password123",
            "confirm": "x",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert error_of(html, "password") == "该密码过于常见。"
    assert error_of(html, "confirm") == "两次输入的密码不一致。"
    assert 'aria-invalid="true"' not in re.search(r'<input[^>]*id="email"[^>]*>', html).group(0)
    assert count(User) == 0


@pytest.fixture
def member(login):
    return login("county_member", region_code="330402")


def test_application_submitted_with_several_problems_shows_each_beside_its_field(app, client, member):
    client.set_cookie("lang", "en")
    data = {
        "form_token": "token-1",
        "name": "",
        "quarter": clock.quarter_of(utcnow()),
        "domain": "jtcx",
        "description": "",
        "web_url": "ftp://停车.example.cn",
        "submit_for_review": "y",
    }
    html = client.post("/applications/new", data=data).get_data(as_text=True)
    assert error_of(html, "name")
    assert error_of(html, "web_url") == "The web address must start with http:// or https://."
    assert error_of(html, "description") == "Add a description before submitting."
    picker = re.search(r'<fieldset class="picker has-error"[^>]*>', html).group(0)
    assert 'aria-describedby="dataset_ids-error"' in picker
    assert re.search(r'<p class="error" id="dataset_ids-error">Add at least one catalogue dataset', html)
    assert 'class="form-errors"' not in html  # nothing left at the top: each error sits by its field
    assert count(Application) == 0


def test_application_refusal_of_a_detail_sits_beside_that_field(app, client, member):
    dataset = make_dataset("南湖区停车场")
    db.session.commit()
    data = {
        "form_token": "token-2",
        "name": "南湖停车",
        "quarter": clock.quarter_of(utcnow()),
        "domain": "jtcx",
        "dataset_ids": [str(dataset.id), "999999"],
        "mini_program": "停" * 201,
        "save": "y",
    }
    response = client.post("/applications/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert error_of(html, "mini_program") == "字段长度不能超过 200 个字符。"
    assert re.search(
        r'<p class="error" id="dataset_ids-error">所选的部分数据集不在已发布的数据目录中。', html
    )
    assert count(Application) == 0


def test_contest_entry_with_several_problems_shows_each_beside_its_field(client, login):
    captain = login("county_member")
    contest = make_contest()
    round_ = make_round(contest)
    team = make_team(contest, captain=captain)
    db.session.commit()
    client.set_cookie("lang", "en")
    url = f"/contest/teams/{team.id}/rounds/{round_.id}/tracks/{contest.tracks[0].id}/entry"
    response = client.post(
        url, data={"title": "", "abstract": "摘要", "demo_url": "ftp://demo.example.cn", "action": "save"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert error_of(html, "title")
    assert error_of(html, "demo_url")  # the form's own URL check, in the same answer as the draft's rules
    picker = re.search(r'<fieldset class="dataset-picker has-error"[^>]*>', html).group(0)
    assert 'aria-describedby="dataset_ids-error"' in picker
    assert re.search(r'<p class="error" id="dataset_ids-error">Choose at least one catalogue dataset', html)
    assert 'class="form-errors"' not in html
    assert count(Entry) == 0
