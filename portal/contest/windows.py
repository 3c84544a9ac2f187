"""A round's windows and phase.

Windows are half-open: one that closes at 17:00 accepts 16:59:59.999999 and refuses 17:00:00. Pure: the
functions read the round's timestamps and take `now`, so tests move the clock by passing it. Forms give and
take the windows in the city's wall-clock time (`portal.clock.from_local`, `to_local`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from flask_babel import lazy_gettext as _l

UPCOMING = "upcoming"
SUBMISSION = "submission"
AWAITING_JUDGING = "awaiting_judging"
JUDGING = "judging"
AWAITING_RESULTS = "awaiting_results"
NOTICE = "notice"  # published; 公示 running
AWAITING_FINAL = "awaiting_final"  # published; notice over
FINAL = "final"


class Timed(Protocol):
    submission_opens_at: datetime
    submission_closes_at: datetime
    judging_opens_at: datetime
    judging_closes_at: datetime
    published_at: datetime | None
    notice_ends_at: datetime | None
    finalised_at: datetime | None


def submission_open(round_: Timed, now: datetime) -> bool:
    return round_.submission_opens_at <= now < round_.submission_closes_at


def judging_open(round_: Timed, now: datetime) -> bool:
    return round_.judging_opens_at <= now < round_.judging_closes_at and round_.published_at is None


def submission_closed(round_: Timed, now: datetime) -> bool:
    return now >= round_.submission_closes_at


def judging_closed(round_: Timed, now: datetime) -> bool:
    return now >= round_.judging_closes_at


def notice_open(round_: Timed, now: datetime) -> bool:
    """Tell whether the round is published and its public notice period (公示) still runs."""
    return (
        round_.published_at is not None
        and round_.finalised_at is None
        and round_.notice_ends_at is not None
        and now < round_.notice_ends_at
    )


def notice_end(published_at: datetime, notice_days: int) -> datetime:
    return published_at + timedelta(days=notice_days)


def phase(round_: Timed, now: datetime) -> str:
    """Return where the round stands at `now`: one of the phase constants above."""
    if round_.finalised_at is not None:
        return FINAL
    if round_.published_at is not None:
        return NOTICE if notice_open(round_, now) else AWAITING_FINAL
    if now < round_.submission_opens_at:
        return UPCOMING
    if now < round_.submission_closes_at:
        return SUBMISSION
    if now < round_.judging_opens_at:
        return AWAITING_JUDGING
    if now < round_.judging_closes_at:
        return JUDGING
    return AWAITING_RESULTS


def phase_labels() -> dict[str, str]:
    return {
        UPCOMING: _l("Not yet open"),
        SUBMISSION: _l("Open for submissions"),
        AWAITING_JUDGING: _l("Submissions closed"),
        JUDGING: _l("Judging"),
        AWAITING_RESULTS: _l("Judging closed"),
        NOTICE: _l("Results published: public notice"),
        AWAITING_FINAL: _l("Notice period over"),
        FINAL: _l("Final"),
    }


def order_problem(
    submission_opens_at: datetime,
    submission_closes_at: datetime,
    judging_opens_at: datetime,
    judging_closes_at: datetime,
) -> str | None:
    """Return why the four window bounds are out of order, or None when they are fine."""
    if not submission_opens_at < submission_closes_at:
        return _l("The submission window must close after it opens.")
    if not submission_closes_at <= judging_opens_at:
        return _l("Judging may open only when the submission window has closed.")
    if not judging_opens_at < judging_closes_at:
        return _l("The judging window must close after it opens.")
    return None
