"""Notifications in the site: one row per reader, so each reader keeps their own read state.

A low layer, like activity: the areas that have something to tell (applications' reviews, the catalogue's
access decisions) add notifications through `inbox.deliver`; the reader's list is the applications
area's page.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db

if TYPE_CHECKING:  # the subjects' areas lie above: their classes are found by name
    from portal.applications.models import Application
    from portal.catalogue.models import AccessRequest
    from portal.feedback.models import DataRequest, ErrorReport


class Notification(db.Model):
    """A message to one user in the site, such as "your application was returned".

    The text is rendered from `kind` in the reader's language; `reason` carries a reviewer's words. It is
    about one subject: an application, a developer's access request, a data request or an error report.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    access_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("access_requests.id", ondelete="CASCADE"), index=True
    )
    data_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("data_requests.id", ondelete="CASCADE"), index=True
    )
    error_report_id: Mapped[int | None] = mapped_column(
        ForeignKey("error_reports.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    application: Mapped[Application | None] = relationship()
    access_request: Mapped[AccessRequest | None] = relationship()
    data_request: Mapped[DataRequest | None] = relationship()
    error_report: Mapped[ErrorReport | None] = relationship()


class EmailOptOut(db.Model):
    """A user asked not to receive one kind of email (portal/accounts/mailing.py); the site still tells."""

    __tablename__ = "email_opt_outs"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
