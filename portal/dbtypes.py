"""Column types shared by the areas' models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

from portal import clock


def utcnow() -> datetime:
    """Return the current time, aware, in UTC, as `portal.clock.now` reads it (frozen in tests)."""
    return clock.now()


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and always returned aware in UTC.

    SQLite keeps no time zone, so every timestamp goes in as UTC and comes out
    tagged as UTC; naive values are refused rather than guessed.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)
