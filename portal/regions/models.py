"""The city and its counties, with their resident population by year."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db

LEVELS = ("city", "county")


class Region(db.Model):
    """The city (level `city`) or one of its counties (level `county`)."""

    __tablename__ = "regions"
    __table_args__ = (CheckConstraint("level IN ('city', 'county')", name="level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  # GB/T 2260
    name: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(60))
    level: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(default=0)

    populations: Mapped[list[Population]] = relationship(
        back_populates="region", order_by="Population.year", cascade="all, delete-orphan"
    )

    @property
    def is_city(self) -> bool:
        return self.level == "city"

    def population_in(self, year: int) -> Population | None:
        """Return the population figure of `year`, or None when there is none."""
        return next((p for p in self.populations if p.year == year), None)

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"


class Population(db.Model):
    """Year-end resident population of a region, with where the figure comes from."""

    __tablename__ = "populations"
    __table_args__ = (
        UniqueConstraint("region_id", "year"),
        CheckConstraint("population > 0", name="positive"),
        CheckConstraint("year BETWEEN 1949 AND 2200", name="year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"), index=True)
    year: Mapped[int]
    population: Mapped[int]
    source: Mapped[str] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    region: Mapped[Region] = relationship(back_populates="populations")
