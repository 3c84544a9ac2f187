"""Preview holds: a dataset whose previews are withheld until a problem is handled.

A report that personal data is exposed (the feedback area) puts a hold on its dataset at once; answering
the report lifts it. The catalogue only reads the hold: while one stands, no preview of the dataset's
resources is shown.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime
from portal.extensions import db


class PreviewHold(db.Model):
    __tablename__ = "preview_holds"

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(30))
    since: Mapped[datetime] = mapped_column(UTCDateTime())


def hold(dataset_id: int, *, reason: str, now: datetime) -> None:
    """Withhold the dataset's previews (again a no-op when a hold stands); flush."""
    if db.session.get(PreviewHold, dataset_id) is None:
        db.session.add(PreviewHold(dataset_id=dataset_id, reason=reason, since=now))
        db.session.flush()


def release(dataset_id: int) -> None:
    """Show the dataset's previews again; flush."""
    held = db.session.get(PreviewHold, dataset_id)
    if held is not None:
        db.session.delete(held)
        db.session.flush()


def is_held(dataset_id: int) -> bool:
    return (
        db.session.scalar(select(PreviewHold.dataset_id).where(PreviewHold.dataset_id == dataset_id))
        is not None
    )
