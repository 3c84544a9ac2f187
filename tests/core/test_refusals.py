"""Domain refusals: one base class for every area's user-facing "no", and one way a view answers it."""

from __future__ import annotations

import pytest
from flask import get_flashed_messages
from sqlalchemy import select

from portal import refusals
from portal.accounts import actions, resets, tokens
from portal.applications import registration, uploads, workflow
from portal.catalogue import access, downloads
from portal.contest import (
    appeals,
    closing,
    entries,
    flags,
    invitations,
    panels,
    results,
    scoring,
    setup,
    teams,
)
from portal.extensions import db
from portal.feedback import reports
from portal.regions import population
from portal.regions.models import Region

USER_FACING = [
    actions.AccountError, tokens.TokenError, resets.ResetError, workflow.WorkflowError,
    registration.DetailsInvalid, uploads.UploadError, access.AccessError, downloads.NotDownloadable,
    appeals.AppealError,
    closing.ClosingError, entries.SubmissionError, flags.FlagError, invitations.InvitationError,
    panels.PanelError, results.PublicationError, scoring.ScoringError, setup.SetupError, teams.TeamError,
    population.PopulationError, reports.ReportError,
]  # fmt: skip


@pytest.mark.parametrize("error", USER_FACING, ids=lambda error: error.__name__)
def test_every_user_facing_error_is_a_refusal(error):
    assert issubclass(error, refusals.Refusal)


def test_a_refusal_carries_its_message_and_the_fields_it_concerns():
    plain = refusals.Refusal("不行")
    assert str(plain) == "不行" and dict(plain.fields) == {}
    beside = registration.DetailsInvalid("名称太长", {"name": "名称太长"})
    assert str(beside) == "名称太长" and beside.fields == {"name": "名称太长"}
    assert dict(entries.SubmissionError("太大", field="file").fields) == {"file": "太大"}


def _county() -> Region:
    return db.session.scalars(select(Region).where(Region.level == "county").order_by(Region.id)).first()


def _rename(region: Region, name_en: str, *, refuse: bool = False, changed: bool = True):
    def action():
        region.name_en = name_en
        db.session.flush()
        if refuse:
            raise panels.PanelError("评审组已满")
        return changed

    return action


def test_act_commits_flashes_what_was_done_and_redirects(app):
    region = _county()
    with app.test_request_context("/", method="POST"):
        answer = refusals.act(_rename(region, "Renamed"), then="/done", done="已保存")
        assert (answer.status_code, answer.location) == (302, "/done")
        assert get_flashed_messages(with_categories=True) == [("success", "已保存")]
    db.session.rollback()
    assert db.session.get(Region, region.id).name_en == "Renamed"


def test_act_says_when_nothing_changed(app):
    with app.test_request_context("/", method="POST"):
        action = _rename(_county(), "Same", changed=False)
        refusals.act(action, then="/done", done="已保存", already="已是如此")
        assert get_flashed_messages(with_categories=True) == [("info", "已是如此")]


def test_act_rolls_back_a_refusal_and_flashes_its_message(app):
    region = _county()
    before = region.name_en
    with app.test_request_context("/", method="POST"):
        action = _rename(region, "Lost", refuse=True)
        answer = refusals.act(action, then="/done", done="已保存", refused="/back")
        assert (answer.status_code, answer.location) == (302, "/back")
        assert get_flashed_messages(with_categories=True) == [("error", "评审组已满")]
    assert db.session.get(Region, region.id).name_en == before


def test_act_lets_anything_but_a_refusal_through(app):
    def broken():
        raise RuntimeError("bug")

    with app.test_request_context("/", method="POST"), pytest.raises(RuntimeError):
        refusals.act(broken, then="/done")
