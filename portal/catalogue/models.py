"""The published catalogue: departments, themes, tags, licences, datasets and resources.

Everything here comes from CKAN through the sync; CKAN's ids and names are kept so
that a later run finds the same rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Table,
    Text,
    and_,
    case,
    or_,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db
from portal.regions.models import Region

UNCONDITIONAL = "unconditional"  # 无条件开放
CONDITIONAL = "conditional"  # 有条件开放
PUBLISHED = "published"
WITHDRAWN = "withdrawn"
DUPLICATE = "duplicate"  # a resource's invalid_reason: the same file as an earlier one of its dataset

dataset_themes = Table(
    "dataset_themes",
    db.metadata,
    Column("dataset_id", ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ForeignKey("themes.id", ondelete="CASCADE"), primary_key=True, index=True),
)

dataset_tags = Table(
    "dataset_tags",
    db.metadata,
    Column("dataset_id", ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Department(db.Model):
    """A CKAN organization, belonging to the city or to one county."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ckan_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    region_source: Mapped[str] = mapped_column(String(10))  # extra | seed | title | default

    region: Mapped[Region] = relationship()


class Theme(db.Model):
    """A CKAN group, such as 交通出行."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ckan_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Licence(db.Model):
    __tablename__ = "licences"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # CKAN's license_id
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500), default="")


class Dataset(db.Model):
    """A CKAN package as published here; withdrawn, never deleted, when CKAN drops it."""

    __tablename__ = "datasets"
    __table_args__ = (
        CheckConstraint("open_condition IN ('unconditional', 'conditional')", name="open_condition"),
        CheckConstraint("state IN ('published', 'withdrawn')", name="state"),
        Index("ix_datasets_state_modified", "state", "metadata_modified"),
        # the catalogue's other sorts: most downloaded (newest first among equals), by name
        Index("ix_datasets_state_downloads", "state", "download_count", "metadata_modified", "id"),
        Index("ix_datasets_state_title", "state", "title", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ckan_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    notes: Mapped[str] = mapped_column(Text, default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    licence_id: Mapped[str | None] = mapped_column(ForeignKey("licences.id"))
    open_condition: Mapped[str] = mapped_column(String(15), default=UNCONDITIONAL)
    # the grade (分级) from CKAN's data_level extra: 1-4, None when ungraded (catalogue/rules.py, grade)
    data_level: Mapped[int | None] = mapped_column(SmallInteger)
    author: Mapped[str] = mapped_column(String(200), default="")
    maintainer: Mapped[str] = mapped_column(String(200), default="")
    source_url: Mapped[str] = mapped_column(String(1000), default="")
    extras: Mapped[dict] = mapped_column(db.JSON, default=dict)
    metadata_created: Mapped[datetime | None] = mapped_column(UTCDateTime())
    metadata_modified: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(10), default=PUBLISHED)
    # deleted | deleted_or_private, or data_level | ungraded (withheld by its grade: catalogue/rules.py)
    withdrawn_reason: Mapped[str | None] = mapped_column(String(20))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_synced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_synced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    download_count: Mapped[int] = mapped_column(default=0)
    # users' 1-5 star ratings (catalogue/ratings.py keeps them in step): how many, and their mean (None: none)
    rating_count: Mapped[int] = mapped_column(default=0, server_default="0")
    rating_mean: Mapped[float | None] = mapped_column(Float)

    department: Mapped[Department | None] = relationship()
    licence: Mapped[Licence | None] = relationship()
    themes: Mapped[list[Theme]] = relationship(secondary=dataset_themes, order_by="Theme.name")
    tags: Mapped[list[Tag]] = relationship(secondary=dataset_tags, order_by="Tag.name")
    resources: Mapped[list[Resource]] = relationship(
        back_populates="dataset", order_by="Resource.position", cascade="all, delete-orphan"
    )

    @property
    def is_published(self) -> bool:
        from portal.catalogue import rules  # the rule lives there, beside its SQL form

        return rules.is_published(self)

    @property
    def volume(self) -> int | None:
        """Σ `Resource.counted_volume` over the resources; None when none counts (unmeasured)."""
        counted = [r.counted_volume for r in self.resources if r.counted_volume is not None]
        return sum(counted) if counted else None


class Resource(db.Model):
    """One file or API of a dataset, with its mirrored copy and its data volume."""

    __tablename__ = "resources"
    __table_args__ = (CheckConstraint("state IN ('active', 'removed')", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ckan_id: Mapped[str] = mapped_column(String(100), unique=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(50), default="", index=True)
    mimetype: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(String(2000), default="")
    size: Mapped[int | None] = mapped_column(BigInteger)  # as CKAN states it
    position: Mapped[int] = mapped_column(default=0)
    ckan_last_modified: Mapped[datetime | None] = mapped_column(UTCDateTime())
    datastore_active: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(10), default="active")

    storage_key: Mapped[str | None] = mapped_column(String(1000))
    mirrored_size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    content_type: Mapped[str | None] = mapped_column(String(200))
    mirrored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mirror_error: Mapped[str | None] = mapped_column(String(500))

    records: Mapped[int | None] = mapped_column(BigInteger)
    fields: Mapped[int | None]
    volume_source: Mapped[str | None] = mapped_column(String(10))  # datastore | file
    volume_computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_valid: Mapped[bool] = mapped_column(default=False)
    invalid_reason: Mapped[str | None] = mapped_column(String(30))
    download_count: Mapped[int] = mapped_column(default=0)

    dataset: Mapped[Dataset] = relationship(back_populates="resources")

    @property
    def is_active(self) -> bool:
        return self.state == "active"

    @property
    def volume(self) -> int | None:
        if self.records is None or self.fields is None:
            return None
        return self.records * self.fields

    @hybrid_property
    def counted_volume(self) -> int | None:
        """Return what this resource adds to its dataset's volume: records × fields, or None.

        The one definition of a dataset's volume, read by the dataset page and the API through
        `Dataset.volume` and summed in SQL by the statistics: a resource counts when it is active,
        measured, and not a copy of another file of its dataset (the sync marks those `duplicate`).
        """
        if self.state != "active" or self.invalid_reason == DUPLICATE:
            return None
        return self.volume

    @counted_volume.inplace.expression
    @classmethod
    def _counted_volume_expression(cls) -> ColumnElement[int | None]:
        counts = and_(
            cls.state == "active",
            cls.records.is_not(None),
            cls.fields.is_not(None),
            or_(cls.invalid_reason.is_(None), cls.invalid_reason != DUPLICATE),
        )
        return case((counts, cls.records * cls.fields))


PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


class AccessRequest(db.Model):
    """A developer's request to download a conditionally open (有条件开放) dataset."""

    __tablename__ = "access_requests"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
        Index("ix_access_requests_user_dataset", "user_id", "dataset_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=PENDING, index=True)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    dataset: Mapped[Dataset] = relationship()
    user = relationship("User", foreign_keys=[user_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])


class DepartmentOwner(db.Model):
    """A data owner's (数源部门) binding to one department: catalogue/owners.py keeps the rules."""

    __tablename__ = "department_owners"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    department: Mapped[Department] = relationship()


class DatasetSearch(db.Model):
    """A dataset's search terms (see catalogue/terms.py), one row per dataset.

    The full-text index over these columns is not described here: revision 0004 adds
    an FTS5 table on SQLite and a weighted tsvector column on PostgreSQL (portal/dbschema.py).
    """

    __tablename__ = "dataset_search"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    title_terms: Mapped[str] = mapped_column(Text, default="")
    tag_terms: Mapped[str] = mapped_column(Text, default="")
    body_terms: Mapped[str] = mapped_column(Text, default="")  # notes, department, themes, extras
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
