"""The data-open innovation contest's tables: set-up, teams and entries, judging, results' challenges.

Raw criterion scores are exact decimals (half points allowed); every derived figure (weighted score, round
score, rank) is computed from them on demand by `ranking.py`, so nothing stored can drift from the rule.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.catalogue.models import Dataset
from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db
from portal.regions.models import Region

MEAN, TRIMMED_MEAN = "mean", "trimmed_mean"
ENTERED, DISQUALIFIED = "entered", "disqualified"  # entries
ASSIGNED, SUBMITTED, CONFLICT, REMOVED = "assigned", "submitted", "conflict", "removed"  # assignments
ACTIVE = (ASSIGNED, SUBMITTED)
AUTO, MANUAL = "auto", "manual"
OPEN, RESOLVED = "open", "resolved"  # conflicts
UPHELD, DISMISSED = "upheld", "dismissed"  # appeals and flags
PENDING, ACCEPTED, DECLINED, REVOKED = "pending", "accepted", "declined", "revoked"  # team invitations

entry_datasets = Table(
    "entry_datasets",
    db.metadata,
    Column("entry_id", ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True),
    Column("dataset_id", ForeignKey("datasets.id"), primary_key=True, index=True),
)


class Contest(db.Model):
    __tablename__ = "contests"
    __table_args__ = (
        UniqueConstraint("year", "name"),
        CheckConstraint("year BETWEEN 2000 AND 2200", name="year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    rules: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A draft (None) is seen by the office only: no public page, API answer or showcase shows it.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    tracks: Mapped[list[Track]] = relationship(
        back_populates="contest", order_by="Track.position, Track.id", cascade="all, delete-orphan"
    )
    rounds: Mapped[list[Round]] = relationship(
        back_populates="contest", order_by="Round.position, Round.id", cascade="all, delete-orphan"
    )

    @property
    def is_draft(self) -> bool:
        return self.published_at is None


class Track(db.Model):
    """A 赛道: entries compete, and are ranked, within their track."""

    __tablename__ = "tracks"
    __table_args__ = (UniqueConstraint("contest_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)

    contest: Mapped[Contest] = relationship(back_populates="tracks")


class Round(db.Model):
    """A 赛段 (初赛, 复赛, 决赛 …) with its windows, scoring rules and publication state."""

    __tablename__ = "rounds"
    __table_args__ = (
        UniqueConstraint("contest_id", "name"),
        CheckConstraint("aggregation IN ('mean', 'trimmed_mean')", name="aggregation"),
        CheckConstraint(
            "submission_opens_at < submission_closes_at AND submission_closes_at <= judging_opens_at"
            " AND judging_opens_at < judging_closes_at",
            name="window_order",
        ),
        CheckConstraint("judges_per_entry BETWEEN 1 AND 20", name="judges_per_entry"),
        CheckConstraint("notice_days BETWEEN 0 AND 60", name="notice_days"),
        CheckConstraint("advance_count IS NULL OR advance_cutoff IS NULL", name="one_advance_rule"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(default=0)
    submission_opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submission_closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    judging_opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    judging_closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    judges_per_entry: Mapped[int] = mapped_column(default=3)
    advance_count: Mapped[int | None]  # per track; entries sharing the last place all advance
    advance_cutoff: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    aggregation: Mapped[str] = mapped_column(String(15), default=MEAN)
    normalise: Mapped[bool] = mapped_column(default=False)
    blind: Mapped[bool] = mapped_column(default=False)
    notice_days: Mapped[int] = mapped_column(default=7)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    notice_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finalised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finalised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # "Close now": when the office cut a window short, and who (the window's end moves to that moment)
    submission_closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submission_closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    judging_closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    judging_closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    contest: Mapped[Contest] = relationship(back_populates="rounds")
    submission_closed_by: Mapped[User | None] = relationship(foreign_keys=[submission_closed_by_id])
    judging_closed_by: Mapped[User | None] = relationship(foreign_keys=[judging_closed_by_id])
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="round", order_by="Criterion.position, Criterion.id", cascade="all, delete-orphan"
    )

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def is_final(self) -> bool:
        return self.finalised_at is not None

    @property
    def tiebreak_criteria(self) -> list[Criterion]:
        """Return every criterion in tie-break order: typed positions first (1 first), then the rest.

        With no position typed in, ties break on the rubric's own order; positions only reorder.
        """
        return sorted(self.criteria, key=lambda c: (c.tiebreak_order is None, c.tiebreak_order or 0))


class Criterion(db.Model):
    """One line of a round's rubric; a round's weights add up to 100."""

    __tablename__ = "criteria"
    __table_args__ = (
        UniqueConstraint("round_id", "name"),
        CheckConstraint("weight BETWEEN 1 AND 100", name="weight"),
        CheckConstraint("max_score BETWEEN 1 AND 1000", name="max_score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[int]
    max_score: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)
    tiebreak_order: Mapped[int | None]  # 1 breaks ties first; None: after those typed, in rubric order

    round: Mapped[Round] = relationship(back_populates="criteria")


class JudgeProfile(db.Model):
    """A judge's county affiliation, used for recusal: no judge scores an entry of their own county.

    Kept apart from `users` because only county members have a county in the accounts model.
    """

    __tablename__ = "judge_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()
    region: Mapped[Region | None] = relationship()


class RoundJudge(db.Model):
    """A judge on the panel of one round and track."""

    __tablename__ = "round_judges"
    __table_args__ = (UniqueConstraint("round_id", "track_id", "judge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"))
    judge_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    track: Mapped[Track] = relationship()
    judge: Mapped[User] = relationship()


class Team(db.Model):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("contest_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    captain_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))  # set for a county team
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    contest: Mapped[Contest] = relationship()
    captain: Mapped[User] = relationship()
    region: Mapped[Region | None] = relationship()
    members: Mapped[list[TeamMember]] = relationship(
        back_populates="team", order_by="TeamMember.email", cascade="all, delete-orphan"
    )

    @property
    def member_emails(self) -> list[str]:
        """The addresses the captain invited and who have not declined or been removed."""
        return [m.email for m in self.members if m.status in (PENDING, ACCEPTED)]

    @property
    def member_ids(self) -> set[int]:
        """The users who accepted an invitation: only they are members (see, and recuse judges)."""
        return {m.user_id for m in self.members if m.status == ACCEPTED and m.user_id is not None}


class TeamMember(db.Model):
    """An invitation to join a team, sent to an address; a membership once its user accepts it.

    Until then the address has no access and no effect on judging: `user_id` is set only on acceptance,
    by the signed-in account with that address presenting `token`, which the captain passes on.
    """

    __tablename__ = "team_members"
    __table_args__ = (
        UniqueConstraint("team_id", "email"),
        CheckConstraint("status IN ('pending', 'accepted', 'declined', 'revoked')", name="status"),
        CheckConstraint("status <> 'accepted' OR user_id IS NOT NULL", name="accepted_has_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254), index=True)  # lower-case, as users.email
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    team: Mapped[Team] = relationship(back_populates="members")
    user: Mapped[User | None] = relationship()


class Entry(db.Model):
    """A team's 参赛作品 in one round and track."""

    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("round_id", "track_id", "team_id"),
        CheckConstraint("status IN ('entered', 'disqualified')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    abstract: Mapped[str] = mapped_column(Text)
    demo_url: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(15), default=ENTERED)
    disqualified_reason: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # first; breaks last ties
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    round: Mapped[Round] = relationship()
    track: Mapped[Track] = relationship()
    team: Mapped[Team] = relationship()
    datasets: Mapped[list[Dataset]] = relationship(secondary=entry_datasets, order_by="Dataset.title")
    files: Mapped[list[EntryFile]] = relationship(
        back_populates="entry", order_by="EntryFile.id", cascade="all, delete-orphan"
    )

    @property
    def is_disqualified(self) -> bool:
        return self.status == DISQUALIFIED


class EntryFile(db.Model):
    """An attachment (PDF, PPTX, ZIP, MP4) kept in storage under `storage_key`."""

    __tablename__ = "entry_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), index=True)
    storage_key: Mapped[str] = mapped_column(String(1000), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(10))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    entry: Mapped[Entry] = relationship(back_populates="files")


class Assignment(db.Model):
    """An entry given to a judge; only a submitted assignment's scores count in the results."""

    __tablename__ = "judge_assignments"
    __table_args__ = (
        UniqueConstraint("entry_id", "judge_id"),
        CheckConstraint("status IN ('assigned', 'submitted', 'conflict', 'removed')", name="status"),
        CheckConstraint("source IN ('auto', 'manual')", name="source"),
        Index("ix_judge_assignments_judge_round", "judge_id", "round_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    judge_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(10), default=ASSIGNED)
    source: Mapped[str] = mapped_column(String(6), default=AUTO)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    overall_comment: Mapped[str] = mapped_column(Text, default="", server_default="")  # on the whole entry

    round: Mapped[Round] = relationship()
    entry: Mapped[Entry] = relationship()
    judge: Mapped[User] = relationship(foreign_keys=[judge_id])
    scores: Mapped[list[Score]] = relationship(back_populates="assignment", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE


class Score(db.Model):
    """A judge's raw score on one criterion; one row per (assignment, criterion), however often it is sent."""

    __tablename__ = "scores"
    __table_args__ = (
        UniqueConstraint("assignment_id", "criterion_id"),
        CheckConstraint("value >= 0", name="not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("judge_assignments.id", ondelete="CASCADE"))
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id", ondelete="CASCADE"), index=True)
    value: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    comment: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    assignment: Mapped[Assignment] = relationship(back_populates="scores")
    criterion: Mapped[Criterion] = relationship()


class ScoreChange(db.Model):
    """The audit trail: every change to a score, with who made it and when."""

    __tablename__ = "score_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("judge_assignments.id", ondelete="CASCADE"), index=True
    )
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id", ondelete="CASCADE"))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    old_value: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    new_value: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    old_comment: Mapped[str] = mapped_column(Text, default="")
    new_comment: Mapped[str] = mapped_column(Text, default="")

    criterion: Mapped[Criterion] = relationship()
    changed_by: Mapped[User | None] = relationship()


class Conflict(db.Model):
    """A judge's declared conflict of interest (回避) on an assignment, until admins reassign the entry."""

    __tablename__ = "conflicts"
    __table_args__ = (CheckConstraint("status IN ('open', 'resolved')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("judge_assignments.id", ondelete="CASCADE"), unique=True
    )
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=OPEN, index=True)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    assignment: Mapped[Assignment] = relationship()


class Appeal(db.Model):
    """A team's 申诉 against its published result, filed in the notice period; one per entry."""

    __tablename__ = "appeals"
    __table_args__ = (CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), unique=True)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default=OPEN)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    entry: Mapped[Entry] = relationship()


class IdentityFlag(db.Model):
    """A judge's report that an entry's material reveals its team in a blind round."""

    __tablename__ = "identity_flags"
    __table_args__ = (
        UniqueConstraint("entry_id", "judge_id"),
        CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    judge_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default=OPEN)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    entry: Mapped[Entry] = relationship()
    judge: Mapped[User] = relationship(foreign_keys=[judge_id])
