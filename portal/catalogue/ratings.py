"""Ratings: 1 to 5 stars, one per user and dataset, changeable; the dataset keeps their count and mean.

The mean and count are stored on the dataset (`rating_mean`, `rating_count`), recomputed from the ratings
whenever one is given or changed, so that cards, pages, the API and the sort by rating read one column.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from portal.catalogue.models import Dataset
from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db
from portal.refusals import Refusal

STARS = (1, 2, 3, 4, 5)


class RatingError(Refusal):
    """A rating the rules refuse; nothing was changed."""


class DatasetRating(db.Model):
    __tablename__ = "dataset_ratings"
    __table_args__ = (CheckConstraint("stars BETWEEN 1 AND 5", name="stars"),)

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    stars: Mapped[int] = mapped_column(SmallInteger)
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def rating_of(dataset: Dataset, user_id: int) -> int | None:
    rating = db.session.get(DatasetRating, (dataset.id, user_id))
    return rating.stars if rating else None


def _stored(dataset_id: int, user_id: int) -> DatasetRating | None:
    return db.session.get(DatasetRating, (dataset_id, user_id))


def rate(dataset: Dataset, *, user_id: int, stars: int, now: datetime) -> Dataset:
    """Give or change the user's rating; recompute the dataset's count and mean; flush."""
    if stars not in STARS:
        raise RatingError(_l("Choose from 1 to 5 stars."))
    if not dataset.is_published:
        raise RatingError(_l("This dataset is not published."))
    rating = _stored(dataset.id, user_id)
    if rating is None:
        try:
            with db.session.begin_nested():  # the same user's first rating sent twice at once: one is first
                db.session.add(
                    DatasetRating(dataset_id=dataset.id, user_id=user_id, stars=stars, rated_at=now)
                )
        except IntegrityError:
            rating = db.session.get(DatasetRating, (dataset.id, user_id), populate_existing=True)
    if rating is not None:
        rating.stars, rating.rated_at = stars, now
    db.session.flush()
    count, mean = db.session.execute(
        select(func.count(), func.avg(DatasetRating.stars)).where(DatasetRating.dataset_id == dataset.id)
    ).one()
    dataset.rating_count, dataset.rating_mean = count, round(float(mean), 2) if mean is not None else None
    db.session.flush()
    return dataset


def rating_json(dataset: Dataset) -> dict:
    """The `rating` of a dataset in the API: {"mean": 4.5 or null, "count": 2}."""
    return {"mean": dataset.rating_mean, "count": dataset.rating_count or 0}
