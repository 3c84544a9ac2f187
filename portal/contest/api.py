"""The contests as JSON: /api/v1/contests lists them with their tracks and rounds, and
/api/v1/contests/<id>/rounds/<id>/results gives a round's published results.

Only what the public contest pages show: names, windows, phases, and for each round whether its results are
published, with their address once they are. Before publication a round's results are not found, for
everyone: the API has no notion of the office. Errors come out as {"error": {"code": …, "message": …}}
through the site's error handlers for /api/.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal import inputs
from portal.contest import results, windows
from portal.contest.models import Contest, Entry, Round
from portal.dbtypes import utcnow
from portal.extensions import csrf, db

bp = Blueprint("contest_api", __name__, url_prefix="/api/v1/contests")
csrf.exempt(bp)

DEFAULT_PER_PAGE, MAX_PER_PAGE, MAX_PAGE = 20, 100, 100_000
FIRST_YEAR, LAST_YEAR = 2000, 2200


@bp.get("")
def index():
    page = _number("page", 1, MAX_PAGE)
    per_page = min(_number("per_page", DEFAULT_PER_PAGE, None), MAX_PER_PAGE)
    raw_year = request.args.get("year")
    year = _number("year", 0, LAST_YEAR) if raw_year is not None else None
    if year is not None and year < FIRST_YEAR:
        abort(400, description=f"year must be from {FIRST_YEAR} to {LAST_YEAR}")
    query = select(Contest).where(Contest.year == year) if year is not None else select(Contest)
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
            "contest_api.round_results", contest_id=round_.contest_id, round_id=round_.id, _external=True
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
def round_results(contest_id: int, round_id: int):
    round_ = db.session.get(Round, round_id)
    if round_ is None or round_.contest_id != contest_id or not round_.is_published:
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
