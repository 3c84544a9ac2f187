"""The rollups and snapshots made from activity events (`portal/activity/models.py`).

Events are written cheaply and kept for a retention window; `rollup.py` turns each Shanghai day of
them into the `daily_*` and `active_user_counts` rows, and `snapshots.py` records the published
catalogue per region. Dashboards read only these small tables.

Region columns of the rollups say where a figure is attributed: a county, or the city for what
belongs to no county. The city's figure is therefore the sum over all regions, except in
`active_user_counts`, where distinct users cannot be summed and the city's row counts everyone.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime
from portal.extensions import db


class DailyActivity(db.Model):
    """Counted events of one Shanghai day and kind, by the region of the event's data.

    The region is the county whose department published the event's dataset; the city for datasets
    of city departments and for events on no dataset (page views, searches, most API calls).
    """

    __tablename__ = "daily_activity"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('page_view', 'dataset_view', 'download', 'api_call', 'search', 'sign_in')", name="kind"
        ),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    events: Mapped[int]


class DailyActiveUser(db.Model):
    """A registered user with at least one counted event on a Shanghai day.

    Kept per user so that monthly active users are exact: distinct users of a month cannot be added
    up from daily counts. `region_id` is the user's county at the time (none for developers, judges
    and office staff).
    """

    __tablename__ = "daily_active_users"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    events: Mapped[int]


class ActiveUserCount(db.Model):
    """Active users of a Shanghai day (DAU) or calendar month (MAU) in one region.

    The city's row counts every active user; a county's row the users bound to that county.
    """

    __tablename__ = "active_user_counts"
    __table_args__ = (CheckConstraint("period IN ('day', 'month')", name="period"),)

    period: Mapped[str] = mapped_column(String(5), primary_key=True)
    start: Mapped[date] = mapped_column(Date, primary_key=True)  # the day, or the month's first day
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), primary_key=True)
    users: Mapped[int]


class DailyTotal(db.Model):
    """One row per rolled-up Shanghai day, even a quiet one; the latest day is the rollup's watermark.

    A day rolled up after it ended (`rolled_up_at` ≥ its end) is final: its raw events may be purged.
    """

    __tablename__ = "daily_totals"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    events: Mapped[int]  # counted
    bot_events: Mapped[int]  # left out as known bots
    visitors: Mapped[int]  # distinct anonymous visitor ids
    rolled_up_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CatalogueSnapshot(db.Model):
    """The published catalogue of one region as it stood on a day: the rollup takes one a day.

    The region is the department's (the city for city departments and datasets without one).
    `volume` sums records × fields over the `measured_datasets`; it is 0 when none is measured.
    """

    __tablename__ = "catalogue_snapshots"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), primary_key=True)
    datasets: Mapped[int]
    resources: Mapped[int]
    measured_datasets: Mapped[int]
    volume: Mapped[int] = mapped_column(BigInteger)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ThemeSnapshot(db.Model):
    """Published datasets of one region in one theme on a day."""

    __tablename__ = "theme_snapshots"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"), primary_key=True)
    datasets: Mapped[int]


class QualitySnapshot(db.Model):
    """The data quality of one department's published datasets on a Shanghai day (metrics/quality_trends.py).

    Sums, as catalogue/quality.py's Tally keeps them, so that departments add up to their county and the
    means stay exact: mean stars = openness_stars / datasets, mean completeness = fields_filled /
    fields_expected. `region_id` is the department's region on that day. The rollup replaces the day's rows.
    """

    __tablename__ = "quality_snapshots"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    datasets: Mapped[int]
    overdue: Mapped[int]
    broken_resources: Mapped[int]
    openness_stars: Mapped[int]
    fields_filled: Mapped[int]
    fields_expected: Mapped[int]
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
