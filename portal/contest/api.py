"""The contests as JSON: /api/v1/contests lists them with their tracks and rounds, and
/api/v1/contests/<id>/rounds/<id>/results gives a round's published results.

Only what the public contest pages show: names, windows, phases, and for each round whether its results are
published, with their address once they are. Before publication a round's results are not found, for
everyone: the API has no notion of the office. Nested under /api/v1 (portal/api/v1.py), whose hooks limit,
check and count the calls. Errors come out as {"error": {"code": …, "message": …}} through the site's error
handlers for /api/.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal import inputs
from portal.api import openapi
from portal.api.openapi import (
    ID,
    INTEGER,
    PAGE,
    STRING,
    TIME,
    URL,
    list_of,
    nullable,
    obj,
    path_parameter,
    per_page_parameter,
    query_parameter,
    ref,
    responses,
)
from portal.contest import results, setup, windows
from portal.contest.models import Contest, Entry, Round
from portal.dbtypes import utcnow
from portal.extensions import db

bp = Blueprint("contest", __name__, url_prefix="/contests")  # nested under /api/v1

DEFAULT_PER_PAGE, MAX_PER_PAGE, MAX_PAGE = 20, openapi.MAX_PER_PAGE, openapi.MAX_PAGE
FIRST_YEAR, LAST_YEAR = 2000, 2200
PHASES = (
    "upcoming",
    "submission",
    "awaiting_judging",
    "judging",
    "awaiting_results",
    "notice",
    "awaiting_final",
    "final",
)  # what windows.phase answers
_ENTRY = {
    "entry_id": INTEGER,
    "title": STRING,
    "team": STRING,
    "county": nullable(obj({"code": STRING, "name": STRING})),
}
openapi.schemas(
    {
        "ContestRound": obj(
            {
                "id": INTEGER,
                "name": STRING,
                "phase": {"type": "string", "enum": list(PHASES)},
                "submission_opens_at": TIME,
                "submission_closes_at": TIME,
                "judging_opens_at": TIME,
                "judging_closes_at": TIME,
                "published": {"type": "boolean", "description": "成绩是否已公布"},
                "published_at": nullable(TIME),
                "notice_ends_at": nullable(TIME),
                "finalised_at": nullable(TIME),
                "results_url": {**nullable(URL), "description": "已公布赛段的成绩接口地址；未公布时为 null"},
                "ranking_url": {**nullable(URL), "description": "已公布赛段的排名页面；未公布时为 null"},
            }
        ),
        "Contest": obj(
            {
                "id": INTEGER,
                "year": INTEGER,
                "name": STRING,
                "description": STRING,
                "url": URL,
                "tracks": {
                    "type": "array",
                    "items": obj({"id": INTEGER, "name": STRING, "description": STRING}),
                },
                "rounds": {"type": "array", "items": ref("ContestRound")},
            }
        ),
        "ContestList": list_of("Contest"),
        "RoundResults": obj(
            {
                "contest": obj({"id": INTEGER, "year": INTEGER, "name": STRING}),
                "round": obj(
                    {
                        "id": INTEGER,
                        "name": STRING,
                        "aggregation": {"type": "string", "enum": ["mean", "trimmed_mean"]},
                        "normalised": {"type": "boolean"},
                        "advance_count": nullable(INTEGER),
                        "advance_cutoff": nullable({"type": "number"}),
                        "published_at": nullable(TIME),
                        "notice_ends_at": nullable(TIME),
                        "finalised_at": nullable(TIME),
                    }
                ),
                "criteria": {
                    "type": "array",
                    "items": obj(
                        {
                            "id": INTEGER,
                            "name": STRING,
                            "weight": INTEGER,
                            "max_score": INTEGER,
                            "tiebreak": nullable(INTEGER),
                        }
                    ),
                },
                "tracks": {
                    "type": "array",
                    "items": obj(
                        {
                            "id": INTEGER,
                            "name": STRING,
                            "items": {
                                "type": "array",
                                "items": obj(
                                    {
                                        **_ENTRY,
                                        "rank": nullable(INTEGER),
                                        "score": nullable({"type": "number"}),
                                        "judges": INTEGER,
                                        "advances": {"type": "boolean"},
                                    }
                                ),
                            },
                        }
                    ),
                },
                "disqualified": {"type": "array", "items": obj(_ENTRY)},
            }
        ),
    }
)


@bp.get("")
@openapi.operation(
    "listContests",
    "历届大赛及其赛道、赛段，以及各赛段成绩是否已公布（最新的在前）",
    parameters=[
        query_parameter(
            "year", "只列出该年份的大赛", {"type": "integer", "minimum": FIRST_YEAR, "maximum": LAST_YEAR}
        ),
        PAGE,
        per_page_parameter(DEFAULT_PER_PAGE),
    ],
    responses=responses("ContestList"),
)
def index():
    page = _number("page", 1, MAX_PAGE)
    per_page = min(_number("per_page", DEFAULT_PER_PAGE, None), MAX_PER_PAGE)
    raw_year = request.args.get("year")
    year = _number("year", 0, LAST_YEAR) if raw_year is not None else None
    if year is not None and year < FIRST_YEAR:
        abort(400, description=f"year must be from {FIRST_YEAR} to {LAST_YEAR}")
    query = select(Contest).where(setup.PUBLISHED)  # drafts are the office's
    query = query.where(Contest.year == year) if year is not None else query
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    chosen = db.session.scalars(
        query.options(selectinload(Contest.tracks), selectinload(Contest.rounds))
        .order_by(Contest.year.desc(), Contest.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    now = utcnow()
    return {
        "items": [contest_json(c, now=now) for c in chosen],
        "page": page,
        "per_page": per_page,
        "total": total,
    }


def contest_json(contest: Contest, *, now: datetime) -> dict:
    """Serialise a contest with its tracks and rounds, as its public page shows them."""
    return {
        "id": contest.id,
        "year": contest.year,
        "name": contest.name,
        "description": contest.description,
        "url": url_for("contest.contest", contest_id=contest.id, _external=True),
        "tracks": [{"id": t.id, "name": t.name, "description": t.description} for t in contest.tracks],
        "rounds": [_round(r, now) for r in contest.rounds],
    }


def _round(round_: Round, now: datetime) -> dict:
    published = round_.is_published
    return {
        "id": round_.id,
        "name": round_.name,
        "phase": windows.phase(round_, now),
        "submission_opens_at": _time(round_.submission_opens_at),
        "submission_closes_at": _time(round_.submission_closes_at),
        "judging_opens_at": _time(round_.judging_opens_at),
        "judging_closes_at": _time(round_.judging_closes_at),
        "published": published,
        "published_at": _time(round_.published_at),
        "notice_ends_at": _time(round_.notice_ends_at),
        "finalised_at": _time(round_.finalised_at),
        "results_url": url_for(
            "api.contest.round_results", contest_id=round_.contest_id, round_id=round_.id, _external=True
        )
        if published
        else None,
        "ranking_url": url_for(
            "contest.ranking", contest_id=round_.contest_id, round_id=round_.id, _external=True
        )
        if published
        else None,
    }


def _number(name: str, default: int, maximum: int | None) -> int:
    """Read a positive whole number from the query string; refuse anything else with a 400."""
    raw = request.args.get(name)
    try:  # the shared reader: ASCII digits within 64 bits, and blank is not a number
        return inputs.optional_number(raw, default, strict=True, minimum=1, maximum=maximum or inputs.BIGGEST)
    except inputs.BadInput:
        bound = f" at most {maximum}" if maximum is not None else ""
        abort(400, description=f"{name} must be a positive whole number{bound}, not {raw[:20]!r}")


@bp.get("/<int:contest_id>/rounds/<int:round_id>/results")
@openapi.operation(
    "getRoundResults",
    "大赛某赛段已公布的成绩与排名",
    parameters=[path_parameter("contest_id", ID), path_parameter("round_id", ID)],
    responses=responses("RoundResults", "404"),
)
def round_results(contest_id: int, round_id: int):
    round_ = db.session.get(Round, round_id)
    if round_ is None or round_.contest_id != contest_id or not round_.is_published:
        abort(404)
    if round_.contest.is_draft:
        abort(404)
    return results_json(results.compute(round_))


def results_json(computed: results.RoundResults) -> dict:
    round_ = computed.round
    tiebreak = round_.tiebreak_criteria  # a criterion's place in the order that breaks equal scores
    return {
        "contest": {"id": round_.contest.id, "year": round_.contest.year, "name": round_.contest.name},
        "round": {
            "id": round_.id,
            "name": round_.name,
            "aggregation": round_.aggregation,
            "normalised": round_.normalise,
            "advance_count": round_.advance_count,
            "advance_cutoff": float(round_.advance_cutoff) if round_.advance_cutoff is not None else None,
            "published_at": _time(round_.published_at),
            "notice_ends_at": _time(round_.notice_ends_at),
            "finalised_at": _time(round_.finalised_at),
        },
        "criteria": [
            {
                "id": c.id,
                "name": c.name,
                "weight": c.weight,
                "max_score": c.max_score,
                "tiebreak": tiebreak.index(c) + 1,
            }
            for c in computed.criteria
        ],
        "tracks": [
            {"id": track.id, "name": track.name, "items": [_item(row) for row in rows]}
            for track, rows in computed.tracks
        ],
        "disqualified": [_entry(entry) for entry in computed.disqualified],
    }


def _item(row: results.Row) -> dict:
    r = row.result
    return _entry(row.entry) | {
        "rank": r.rank,
        "score": round(r.score, 2) if r.score is not None else None,
        "judges": r.judges,
        "advances": r.advances,
    }


def _entry(entry: Entry) -> dict:
    region = entry.team.region
    return {
        "entry_id": entry.id,
        "title": entry.title,
        "team": entry.team.name,
        "county": {"code": region.code, "name": region.name} if region else None,
    }


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
