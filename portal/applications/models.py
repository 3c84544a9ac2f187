"""County teams' data-open innovation applications, their files and their review trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.catalogue.models import Dataset
from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db
from portal.regions.models import Region

DRAFT, SUBMITTED, APPROVED, RETURNED = "draft", "submitted", "approved", "returned"
STATUSES = (DRAFT, SUBMITTED, APPROVED, RETURNED)
EDITABLE = (DRAFT, RETURNED)

SCREENSHOT, PDF = "screenshot", "pdf"

application_datasets = Table(
    "application_datasets",
    db.metadata,
    Column("application_id", ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True),
    Column("dataset_id", ForeignKey("datasets.id"), primary_key=True, index=True),
)


class Application(db.Model):
    """An application a county team launched on open data, registered for one quarter."""

    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'submitted', 'approved', 'returned')", name="status"),
        CheckConstraint("quarter LIKE '____Q_'", name="quarter_format"),
        CheckConstraint("NOT is_exemplary OR status = 'approved'", name="exemplary_is_approved"),
        Index("ix_applications_region_quarter", "region_id", "quarter"),
        Index("ix_applications_status_quarter", "status", "quarter"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    quarter: Mapped[str] = mapped_column(String(6))  # YYYYQn in Asia/Shanghai time
    name: Mapped[str] = mapped_column(String(120))
    domain: Mapped[str] = mapped_column(String(20))  # a priority theme's name, or "other"
    description: Mapped[str] = mapped_column(Text, default="")
    web_url: Mapped[str] = mapped_column(String(500), default="")
    mini_program: Mapped[str] = mapped_column(String(200), default="")
    zlb_entry: Mapped[str] = mapped_column(String(500), default="")  # 浙里办 entry
    status: Mapped[str] = mapped_column(String(10), default=DRAFT)
    is_exemplary: Mapped[bool] = mapped_column(default=False)
    # One-time token of the form that created the row: a repeated POST finds the row instead of a twin.
    form_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    region: Mapped[Region] = relationship()
    created_by: Mapped[User | None] = relationship()
    datasets: Mapped[list[Dataset]] = relationship(secondary=application_datasets, order_by="Dataset.title")
    files: Mapped[list[ApplicationFile]] = relationship(
        back_populates="application",
        order_by=lambda: [ApplicationFile.position, ApplicationFile.id],
        cascade="all, delete-orphan",
    )
    transitions: Mapped[list[ApplicationTransition]] = relationship(
        back_populates="application",
        order_by="ApplicationTransition.id",
        cascade="all, delete-orphan",
    )

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE

    @property
    def is_approved(self) -> bool:
        return self.status == APPROVED

    @property
    def screenshots(self) -> list[ApplicationFile]:
        return [f for f in self.files if f.kind == SCREENSHOT]

    @property
    def pdf(self) -> ApplicationFile | None:
        return next((f for f in self.files if f.kind == PDF), None)

    def __repr__(self) -> str:
        return f"<Application {self.id} {self.quarter} {self.status}>"


class ApplicationFile(db.Model):
    """A screenshot (with its thumbnail) or the PDF of an application, kept in the portal's storage."""

    __tablename__ = "application_files"
    __table_args__ = (CheckConstraint("kind IN ('screenshot', 'pdf')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(default=0)
    filename: Mapped[str] = mapped_column(String(255))  # as uploaded, for display only
    storage_key: Mapped[str] = mapped_column(String(1000))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))  # from the content, never from the name
    width: Mapped[int | None]
    height: Mapped[int | None]
    thumbnail_key: Mapped[str | None] = mapped_column(String(1000))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[Application] = relationship(back_populates="files")


class ApplicationTransition(db.Model):
    """One step of an application's history: who did what, when, from which status to which."""

    __tablename__ = "application_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # create, submit, approve, return, mark_exemplary …
    from_status: Mapped[str | None] = mapped_column(String(10))
    to_status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[Application] = relationship(back_populates="transitions")
    actor: Mapped[User | None] = relationship()
