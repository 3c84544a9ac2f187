"""The data office's work queue: what waits for an admin to act, counted across the areas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from portal import clock
from portal.accounts.models import ApiToken
from portal.accounts.usage import UsageAlert
from portal.applications.models import SUBMITTED, Application
from portal.catalogue.models import PENDING, AccessRequest
from portal.contest.models import ACTIVE, ENTERED, OPEN, Assignment, Conflict, Contest, Entry, Round
from portal.extensions import db
from portal.sync import screen
from portal.sync.models import FAILED, SUCCEEDED, SyncRun


@dataclass(frozen=True)
class WorkQueue:
    applications: int  # submitted, awaiting review
    access_requests: int  # pending a decision
    draft_contests: int  # set up but not yet published
    unassigned_entries: int  # fewer active judges than their round asks, while judges can still score
    unpublished_rounds: int  # judging closed, results not published
    open_conflicts: int  # judges' declared conflicts not yet resolved
    failed_syncs: int  # failed sync runs since each source's last successful run
    usage_alerts: int = 0  # behaviour monitoring: thresholds crossed today (Shanghai)
    suspended_tokens: int = 0  # API tokens suspended past a daily limit, awaiting an admin's decision
    held_datasets: int = 0  # held at sync for unmasked personal data (待脱敏审核), awaiting review

    @property
    def total(self) -> int:
        return sum(vars(self).values())


def work_queue(now: datetime) -> WorkQueue:
    """Count what waits for the data office at `now`."""
    return WorkQueue(
        applications=_count(select(Application.id).where(Application.status == SUBMITTED)),
        access_requests=_count(select(AccessRequest.id).where(AccessRequest.status == PENDING)),
        draft_contests=_count(select(Contest.id).where(Contest.published_at.is_(None))),
        unassigned_entries=_count(_unassigned_entries(now)),
        unpublished_rounds=_count(
            select(Round.id).where(Round.judging_closes_at <= now, Round.published_at.is_(None))
        ),
        open_conflicts=_count(select(Conflict.id).where(Conflict.status == OPEN)),
        failed_syncs=_count(_failed_syncs()),
        usage_alerts=_count(select(UsageAlert.id).where(UsageAlert.day == clock.day_of(now))),
        suspended_tokens=_count(_suspended_tokens()),
        held_datasets=_count(screen.held_datasets()),
    )


def _suspended_tokens():
    """Select unrevoked API tokens suspended past a daily usage limit (accounts/usage.py)."""
    return select(ApiToken.id).where(ApiToken.suspended_at.is_not(None), ApiToken.revoked_at.is_(None))


def _unassigned_entries(now: datetime):
    """Select entries short of judges in unpublished rounds whose submissions closed and whose judging
    still runs (after it closes, a new judge could not score)."""
    judges = (
        select(func.count(Assignment.id))
        .where(Assignment.entry_id == Entry.id, Assignment.status.in_(ACTIVE))
        .correlate(Entry)
        .scalar_subquery()
    )
    return (
        select(Entry.id)
        .join(Round, Entry.round_id == Round.id)
        .where(
            Entry.status == ENTERED,
            Round.published_at.is_(None),
            Round.submission_closes_at <= now,
            Round.judging_closes_at > now,
            judges < Round.judges_per_entry,
        )
    )


def _failed_syncs():
    """Select failed runs started after the last successful run of the same source (or ever, if none)."""
    success = aliased(SyncRun)
    last_success = (
        select(func.max(success.started_at))
        .where(success.source_id == SyncRun.source_id, success.status == SUCCEEDED)
        .correlate(SyncRun)
        .scalar_subquery()
    )
    return select(SyncRun.id).where(
        SyncRun.status == FAILED, (last_success.is_(None)) | (SyncRun.started_at > last_success)
    )


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
