"""What a data owner's desk shows: their departments' datasets with downloads and access requests, the error
reports on those datasets and the data requests naming those departments, what waits for them first.

Each list is bounded (`limit`); the full lists are the access-request review and the reports desk, which
filter to the owner's datasets the same way (catalogue/owners.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from portal.catalogue import access, owners, rules
from portal.catalogue.models import PENDING, AccessRequest, Dataset
from portal.extensions import db
from portal.feedback.models import ACKNOWLEDGED, NEW, OPEN, PLANNED, DataRequest, ErrorReport

LIST_LIMIT = 10


@dataclass(frozen=True)
class Summary:
    datasets: int
    downloads: int
    pending_requests: int
    open_reports: int
    open_data_requests: int


def summary(user) -> Summary:
    """Count what the owner holds and what waits for them."""
    mine = owners.owned_dataset_ids(user)
    datasets, downloads = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Dataset.download_count), 0)).where(
            Dataset.id.in_(mine), rules.published()
        )
    ).one()
    pending = select(func.count()).where(AccessRequest.dataset_id.in_(mine), AccessRequest.status == PENDING)
    reports = select(func.count()).where(
        ErrorReport.dataset_id.in_(mine), ErrorReport.state.in_((NEW, ACKNOWLEDGED))
    )
    return Summary(
        datasets=datasets,
        downloads=int(downloads),
        pending_requests=db.session.scalar(pending),
        open_reports=db.session.scalar(reports),
        open_data_requests=db.session.scalar(
            select(func.count()).select_from(
                _data_requests_query(user).where(DataRequest.status.in_((OPEN, PLANNED))).subquery()
            )
        ),
    )


def access_requests(user, limit: int = LIST_LIMIT) -> list[AccessRequest]:
    """The latest access requests for the owner's datasets, pending first."""
    query = access.review_queue(dataset_ids=owners.owned_dataset_ids(user)).limit(limit)
    return list(db.session.scalars(query))


def reports(user, limit: int = LIST_LIMIT) -> list[ErrorReport]:
    """The latest error reports on the owner's datasets, open ones first."""
    query = (
        select(ErrorReport)
        .where(ErrorReport.dataset_id.in_(owners.owned_dataset_ids(user)))
        .options(selectinload(ErrorReport.dataset))
        .order_by(
            case((ErrorReport.state.in_((NEW, ACKNOWLEDGED)), 0), else_=1),
            ErrorReport.created_at.desc(),
            ErrorReport.id.desc(),
        )
        .limit(limit)
    )
    return list(db.session.scalars(query))


def data_requests(user, limit: int = LIST_LIMIT) -> list[DataRequest]:
    """The data requests naming one of the owner's departments, unanswered ones first, then by votes."""
    query = _data_requests_query(user).order_by(
        case((DataRequest.status.in_((OPEN, PLANNED)), 0), else_=1),
        DataRequest.votes.desc(),
        DataRequest.created_at.desc(),
        DataRequest.id.desc(),
    )
    return list(db.session.scalars(query.limit(limit)))


def open_reports_by_dataset(dataset_ids: Iterable[int]) -> dict[int, int]:
    """Return how many open error reports each listed dataset has."""
    ids = list(dataset_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(ErrorReport.dataset_id, func.count())
        .where(ErrorReport.dataset_id.in_(ids), ErrorReport.state.in_((NEW, ACKNOWLEDGED)))
        .group_by(ErrorReport.dataset_id)
    )
    return {dataset_id: n for dataset_id, n in rows}


def _data_requests_query(user):
    return select(DataRequest).where(DataRequest.department_id.in_(owners.department_ids(user)))
