"""Behaviour monitoring (行为监控): what each user and each API token used per Shanghai day, and its limits.

Counted per (day, user, token): downloads, row-API calls (/api/v1 rows and exports, `datastore_search`),
rows returned and bytes downloaded. A call without a token (a signed-in browser) counts under token 0. A
call with a token counts twice: under that token and under ALL_TOKENS, the user's tokens together, so that
five tokens do not buy five times the limits.

Why one upsert per counted request rather than folding the activity events: the events carry neither the
token nor the volume (rows, bytes), and a threshold must be checked when the call happens; folding them would
mean a COUNT over the day's events per call (growing with the day) or alerts an hour late from the rollup.
`add` is one `INSERT … ON CONFLICT DO UPDATE … RETURNING` on both databases: the increment is atomic, so
parallel requests never lose a count, and it returns the day's totals without another read.

Thresholds (`Limits`, from the USAGE_ALERT_* and USAGE_LIMIT_* settings; 0 turns one off) are checked on
those totals, a token's and its user's tokens together. A request whose increment crosses a soft threshold
(before < threshold <= after) raises one alert; one crossing a hard limit raises a hard alert and suspends
until an admin lifts it: the token, or, when the tokens together crossed, every token of the user (the
reason says which limit). A crossing of the tokens together that the token itself made in the same
request is the token's alone (a user with one token gets one alert, not two).
Because increments are atomic exactly one request crosses, so each alert is raised once per day. A lifted
token's counts stay past the limit, so it is not suspended again that day; the next day starts from zero.
Every alert, suspension and lift is an audit row; the owner of a suspended token is told in the site and by
email. Functions add and flush; the caller commits (`notify_suspension` commits: it queues email).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Select,
    String,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.accounts import mailing
from portal.accounts.models import ApiToken, User
from portal.audit import log as audit_log
from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db
from portal.notices import inbox
from portal.refusals import Refusal

NO_TOKEN = 0  # token_id of what a user did without a token (signed in, in a browser)
ALL_TOKENS = -1  # token_id of what a user did through all their tokens together (the per-user limits)
METRICS = ("downloads", "row_calls", "rows", "bytes")
SOFT, HARD = "soft", "hard"
TOKEN_SUSPENDED, TOKEN_REINSTATED = "token_suspended", "token_reinstated"  # the notifications' kinds
MAX_REASON = 300


class UsageDay(db.Model):
    """What one user did on one Shanghai day, through one token (or none: token 0)."""

    __tablename__ = "usage_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    token_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # 0: no token
    downloads: Mapped[int] = mapped_column(default=0)
    row_calls: Mapped[int] = mapped_column(default=0)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class UsageAlert(db.Model):
    """A daily threshold crossed by a user's (or one token's) usage: raised once per day and level."""

    __tablename__ = "usage_alerts"
    __table_args__ = (
        UniqueConstraint("day", "user_id", "token_id", "metric", "level", name="uq_usage_alerts_once"),
        Index("ix_usage_alerts_day", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_id: Mapped[int] = mapped_column(default=NO_TOKEN)
    metric: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(4))
    value: Mapped[int] = mapped_column(BigInteger)
    threshold: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def together(self) -> bool:
        """Whether the user's tokens together crossed the threshold, rather than one token or none."""
        return self.token_id == ALL_TOKENS


@dataclass(frozen=True)
class Tally:
    """What one request used; also the day's totals that `add` returns."""

    downloads: int = 0
    row_calls: int = 0
    rows: int = 0
    bytes: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(getattr(self, m) + getattr(other, m) for m in METRICS))

    def __bool__(self) -> bool:
        return any(getattr(self, m) for m in METRICS)

    def values(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Limits:
    """Daily soft thresholds (alerts) and hard limits (suspension) per metric; 0 is no threshold."""

    soft: Tally
    hard: Tally

    @classmethod
    def from_config(cls, config: Mapping) -> Limits:
        def read(prefix: str) -> Tally:
            return Tally(**{m: max(0, int(config.get(f"{prefix}_{m.upper()}", 0) or 0)) for m in METRICS})

        return cls(soft=read("USAGE_ALERT"), hard=read("USAGE_LIMIT"))


@dataclass(frozen=True)
class Crossing:
    metric: str
    level: str
    value: int
    threshold: int
    together: bool = False  # crossed by the user's tokens together, not by one token


class UsageError(Refusal):
    """A rule about suspensions was broken; the message is shown to the admin."""


# Counting


def add(session: Session, day: date, user_id: int, token_id: int, tally: Tally) -> Tally:
    """Add `tally` to the user's (and token's) day in one atomic upsert; return the day's totals."""
    return add_each(session, day, user_id, (token_id,), tally)[token_id]


def add_each(
    session: Session, day: date, user_id: int, token_ids: tuple[int, ...], tally: Tally
) -> dict[int, Tally]:
    """Add `tally` to the user's day under each of `token_ids` in one atomic upsert (a row each); return
    each one's totals by token id."""
    table = UsageDay.__table__
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = [{"day": day, "user_id": user_id, "token_id": t, **tally.values()} for t in token_ids]
    statement = insert(table).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["day", "user_id", "token_id"],
        set_={m: table.c[m] + statement.excluded[m] for m in METRICS},
    ).returning(table.c.token_id, *(table.c[m] for m in METRICS))
    return {row[0]: Tally(*row[1:]) for row in session.execute(statement)}


def crossings(before: Tally, after: Tally, limits: Limits) -> list[Crossing]:
    """Return the thresholds crossed going from `before` to `after` (pure)."""
    found = []
    for level, bounds in ((SOFT, limits.soft), (HARD, limits.hard)):
        for metric in METRICS:
            threshold, old, new = getattr(bounds, metric), getattr(before, metric), getattr(after, metric)
            if threshold and old < threshold <= new:
                found.append(Crossing(metric, level, new, threshold))
    return found


def record(
    session: Session, day: date, user: User, token: ApiToken | None, tally: Tally, limits: Limits
) -> list[Crossing]:
    """Count what `user` (through `token`, if any) used, then raise alerts and suspend past a hard limit.

    Return the crossings, the token's then those of the user's tokens together; a suspension's emails are
    the caller's to send (`metering.settle` sends them: `notify_suspension`, last)."""
    if token is None:
        totals = add_each(session, day, user.id, (NO_TOKEN,), tally)
        return _alert_crossed(session, day, user, NO_TOKEN, totals[NO_TOKEN], tally, limits)
    totals = add_each(session, day, user.id, (token.id, ALL_TOKENS), tally)  # one statement for both
    own = _alert_crossed(session, day, user, token.id, totals[token.id], tally, limits)
    made = {(c.metric, c.level) for c in own}
    together = _alert_crossed(session, day, user, ALL_TOKENS, totals[ALL_TOKENS], tally, limits, skip=made)
    hard = [c for c in own if c.level == HARD]
    if hard:
        suspend(session, token, _reason(hard[0]))
    hard_together = [c for c in together if c.level == HARD]
    if hard_together:
        for each in live_tokens(session, user.id):
            suspend(session, each, _reason(hard_together[0], together=True))
    return own + together


def _alert_crossed(
    session: Session,
    day: date,
    user: User,
    token_id: int,
    after: Tally,
    tally: Tally,
    limits: Limits,
    skip: set[tuple[str, str]] = frozenset(),
) -> list[Crossing]:
    """Alert on each threshold that adding `tally` to reach `after` crossed, but those in `skip`."""
    before = Tally(*(getattr(after, m) - getattr(tally, m) for m in METRICS))
    found = [
        replace(c, together=token_id == ALL_TOKENS)
        for c in crossings(before, after, limits)
        if (c.metric, c.level) not in skip
    ]
    for crossing in found:
        _alert(session, day, user, token_id, crossing)
    return found


def live_tokens(session: Session, user_id: int) -> list[ApiToken]:
    """The user's unrevoked tokens: those a limit of their tokens together suspends."""
    mine = select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    return list(session.scalars(mine.order_by(ApiToken.id)))


def _alert(session: Session, day: date, user: User, token_id: int, crossing: Crossing) -> None:
    alert = UsageAlert(
        day=day,
        user_id=user.id,
        token_id=token_id,
        metric=crossing.metric,
        level=crossing.level,
        value=crossing.value,
        threshold=crossing.threshold,
    )
    session.add(alert)
    session.flush()
    audit_log.record(
        session,
        "usage.alert",
        object_type="api_token" if token_id else "user",
        object_id=token_id or user.id,
        after={"day": day.isoformat(), "user_id": user.id, **_crossing_values(crossing)},
    )


def _crossing_values(crossing: Crossing) -> dict:
    return {"metric": crossing.metric, "level": crossing.level, "value": crossing.value,
            "threshold": crossing.threshold}  # fmt: skip


def _reason(crossing: Crossing, *, together: bool = False) -> str:
    """The reason kept on the token, in English like the API's messages: which limit, of the token or of
    all the user's tokens together."""
    what = {"downloads": "downloads", "row_calls": "row API calls", "rows": "rows returned",
            "bytes": "bytes downloaded"}[crossing.metric]  # fmt: skip
    whose = "of all your tokens together" if together else "of this token"
    used = f"{crossing.value} {what} today (limit {crossing.threshold})"
    return f"Daily limit {whose} reached: {used}."[:MAX_REASON]


# Suspension


def suspend(session: Session, token: ApiToken, reason: str) -> bool:
    """Suspend the token (once: a suspended token stays as it is); return whether this call suspended it."""
    now = utcnow()
    changed = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token.id, ApiToken.suspended_at.is_(None))
        .values(suspended_at=now, suspension_reason=reason[:MAX_REASON])
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        return False
    session.refresh(token)
    after = {"user_id": token.user_id, "name": token.name, "reason": token.suspension_reason}
    audit_log.record(session, "token.suspended", object_type="api_token", object_id=token.id, after=after)
    inbox.deliver([token.user_id], TOKEN_SUSPENDED, now=now, reason=token.suspension_reason)
    return True


def notify_suspension(token: ApiToken) -> int:
    """Email the owner that their token was suspended and why. Commits the session: call it last."""
    context = {"token": token.name, "prefix": token.prefix, "reason": token.suspension_reason,
               "link": mailing.link("tokens.index")}  # fmt: skip
    return mailing.email([token.user], mailing.TOKEN_SUSPENDED, context)


def lift(session: Session, token: ApiToken, by: User, note: str = "") -> None:
    """Lift the token's suspension (an admin's decision, audited, its owner told in the site); lifting an
    unsuspended token is refused."""
    if not token.is_suspended:
        raise UsageError(_l("This token is not suspended."))
    if "\x00" in note:  # PostgreSQL keeps no NUL in text, nor \u0000 in the audit row's JSON
        raise UsageError(_l("The text holds a character that cannot be kept (NUL)."))
    before = {"suspended_at": token.suspended_at.isoformat(), "reason": token.suspension_reason}
    token.suspended_at, token.suspension_reason = None, ""
    session.flush()
    after = {"user_id": token.user_id, "note": note[:MAX_REASON]}
    audit_log.record(
        session, "token.suspension_lifted", actor=by, object_type="api_token", object_id=token.id,
        before=before, after=after,
    )  # fmt: skip
    inbox.deliver([token.user_id], TOKEN_REINSTATED, now=utcnow(), reason=note[:MAX_REASON])


# Reading


def top_users(day: date, limit: int = 20) -> Select:
    """Select (user, downloads, row_calls, rows, bytes) of `day`, with and without tokens, heaviest first."""
    sums = [func.sum(UsageDay.__table__.c[m]).label(m) for m in METRICS]
    return (
        select(User, *sums)
        .join(UsageDay, UsageDay.user_id == User.id)
        .where(UsageDay.day == day, UsageDay.token_id != ALL_TOKENS)  # counted already, per token
        .group_by(User.id)
        .order_by(func.sum(UsageDay.rows).desc(), func.sum(UsageDay.bytes).desc(), User.id)
        .limit(limit)
    )


def top_tokens(day: date, limit: int = 20) -> Select:
    """Select (UsageDay, ApiToken, User) of the tokens used on `day`, heaviest first."""
    return (
        select(UsageDay, ApiToken, User)
        .join(ApiToken, ApiToken.id == UsageDay.token_id)
        .join(User, User.id == UsageDay.user_id)
        .where(UsageDay.day == day, UsageDay.token_id != NO_TOKEN)
        .order_by(UsageDay.rows.desc(), UsageDay.bytes.desc(), UsageDay.row_calls.desc(), ApiToken.id)
        .limit(limit)
    )


def alerts_of(day: date) -> Select:
    """Select (UsageAlert, User, ApiToken or None) raised on `day`, newest first."""
    return (
        select(UsageAlert, User, ApiToken)
        .join(User, User.id == UsageAlert.user_id)
        .outerjoin(ApiToken, ApiToken.id == UsageAlert.token_id)
        .where(UsageAlert.day == day)
        .order_by(UsageAlert.created_at.desc(), UsageAlert.id.desc())
    )


def suspended_tokens() -> Select:
    """Select (ApiToken, User) of every suspended, unrevoked token, latest suspension first."""
    return (
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.suspended_at.is_not(None), ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.suspended_at.desc(), ApiToken.id.desc())
    )


def of_user(user_id: int, day: date) -> dict[int, Tally]:
    """Return the user's usage on `day` per token id (0: without a token), the per-token view."""
    rows = db.session.execute(
        select(UsageDay.token_id, *(UsageDay.__table__.c[m] for m in METRICS)).where(
            UsageDay.day == day, UsageDay.user_id == user_id, UsageDay.token_id != ALL_TOKENS
        )
    )
    return {row[0]: Tally(*row[1:]) for row in rows}
