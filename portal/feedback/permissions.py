"""Who may do what with error reports and data requests.

Any signed-in, active user may report a problem. Reports are answered by the city's data office (admins) and
by the data owners (数源部门) of the report's dataset's department; data requests by the office and by the
owners of the department a request names. The office sees everything; an owner only what is theirs.
"""

from __future__ import annotations

from portal.accounts.models import ADMIN, User
from portal.catalogue import owners
from portal.feedback.models import ErrorReport


def _is_admin(user) -> bool:
    return bool(user.is_authenticated and user.role == ADMIN)


def can_file_report(user) -> bool:
    return bool(user.is_authenticated)


def can_answer_report(user, report: ErrorReport | None = None) -> bool:
    """The office answers any report; a data owner those on their departments' datasets.

    Without a report: whether the user answers reports at all (an owner with a department does).
    """
    if _is_admin(user):
        return True
    if report is None:
        return bool(owners.department_ids(user))
    return owners.owns_dataset(user, report.dataset)


def can_see_reports_desk(user) -> bool:
    return can_answer_report(user)


def answerers(report: ErrorReport) -> list[User]:
    """The users told of a new report: active admins and the dataset's department's data owners, but not
    its reporter."""
    return owners.deciders(report.dataset.department_id, besides=report.reporter_id)


def can_answer_request(user, data_request=None) -> bool:
    """The data office answers data requests; a data owner those naming one of their departments."""
    if _is_admin(user):
        return True
    return data_request is not None and owners.owns_department(user, data_request.department_id)


def can_see_owner_desk(user) -> bool:
    """A data owner's desk shows their departments' work; the office has its own pages for all of it."""
    return owners.is_data_owner(user)


def can_comment(user) -> bool:
    """Any signed-in user comments on a published dataset, and reports a comment as abusive."""
    return bool(user.is_authenticated)


def can_moderate_comments(user, dataset=None) -> bool:
    """The office moderates every dataset's comments; a data owner those on their departments' datasets.

    Without a dataset: whether the user moderates comments at all (the queue page).
    """
    if _is_admin(user):
        return True
    if dataset is None:
        return bool(owners.department_ids(user))
    return owners.owns_dataset(user, dataset)


def moderated_departments(user) -> list[int] | None:
    """The departments whose datasets' comments `user` moderates; None for the office (all of them)."""
    return None if _is_admin(user) else sorted(owners.department_ids(user))
