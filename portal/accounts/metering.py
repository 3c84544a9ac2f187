"""Where the web meets behaviour monitoring: views note what a request used, one hook counts it.

A view that serves rows or a download calls `note(...)` once it has its answer; after the request, one upsert
(`usage.record`) adds the tally to the caller's day: the token's user through that token, else the signed-in
user (token 0). Anonymous use is not counted here (the activity events keep it). An export streams its rows
after the request has gone: `later()` gives it a function to count them at the end, in an app context of its
own. Counting must never break an answer: a failure is logged and rolled back.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, g
from flask.globals import _cv_app
from flask_login import current_user
from sqlalchemy.orm import Session

from portal import clock
from portal.accounts import callers, usage
from portal.accounts.models import ApiToken, User
from portal.extensions import db


def note(**counts: int) -> None:
    """Add what this request used (downloads=, row_calls=, rows=, bytes=) to its tally."""
    g.usage_tally = g.get("usage_tally", usage.Tally()) + usage.Tally(**counts)


def _caller() -> tuple[User | None, ApiToken | None]:
    """The token's user and token, else the signed-in user when the request presented no token (a
    refused one is never the session's user), else nobody. Whether a token was refused is known from the
    request's one reading of its token (`callers`), without reading its headers again."""
    token = callers.token()
    if token is not None:
        return token.user, token
    refused = callers.has_invalid_token() or callers.suspended_token() is not None
    if not refused and current_user.is_authenticated:
        return current_user._get_current_object(), None
    return None, None


def settle(session: Session, user: User, token: ApiToken | None, tally: usage.Tally) -> list[usage.Crossing]:
    """Count `tally` for the user and token, commit, and tell the owner of each token it suspended: this
    one, or all of theirs when their tokens together crossed a hard limit."""
    limits = usage.Limits.from_config(current_app.config)
    found = usage.record(session, clock.day_of(clock.now()), user, token, tally, limits)
    session.commit()
    hard = [c for c in found if c.level == usage.HARD]
    if token is None or not hard:
        return found
    suspended = usage.live_tokens(session, user.id) if any(c.together for c in hard) else [token]
    for each in suspended:
        if each.is_suspended:
            usage.notify_suspension(each)  # commits: queueing the email is a job record
    return found


def _after_request(response):
    tally = _cv_app.get().g.__dict__.pop("usage_tally", None)  # g's own, without its proxy's calls
    if not tally or response.status_code >= 400:
        return response
    user, token = _caller()
    if user is None:
        return response
    try:
        settle(db.session, user, token, tally)
    except Exception:  # counting must never break an answer
        db.session.rollback()
        current_app.logger.exception("could not count usage")
    return response


def later() -> Callable[[int], None]:
    """Return `count(rows)` for a streamed export to call when it ends: one row call and its rows.

    It runs outside the request, so it keeps the app and the caller's ids, not their objects."""
    app = current_app._get_current_object()
    user, token = _caller()
    user_id, token_id = (user.id if user else None), (token.id if token else None)

    def count(rows: int) -> None:
        if user_id is None:
            return
        with app.app_context():
            try:
                found_user = db.session.get(User, user_id)
                found_token = db.session.get(ApiToken, token_id) if token_id else None
                if found_user is not None:
                    settle(db.session, found_user, found_token, usage.Tally(row_calls=1, rows=rows))
            except Exception:
                db.session.rollback()
                app.logger.exception("could not count an export's usage")

    return count


def init_app(app: Flask) -> None:
    app.after_request(_after_request)
