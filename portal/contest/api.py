"""A round's published results as JSON, at /api/v1/contests/<id>/rounds/<id>/results.

Before publication the round is not found, for everyone: the API has no notion of the office. Errors come out
as {"error": {"code": …, "message": …}} through the site's error handlers for /api/.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort

from portal.contest import results
from portal.contest.models import Entry, Round
from portal.extensions import csrf, db

bp = Blueprint("contest_api", __name__, url_prefix="/api/v1/contests")
csrf.exempt(bp)


@bp.get("/<int:contest_id>/rounds/<int:round_id>/results")
def round_results(contest_id: int, round_id: int):
    round_ = db.session.get(Round, round_id)
    if round_ is None or round_.contest_id != contest_id or not round_.is_published:
        abort(404)
    return results_json(results.compute(round_))


def results_json(computed: results.RoundResults) -> dict:
    round_ = computed.round
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
                "tiebreak": c.tiebreak_order,
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
