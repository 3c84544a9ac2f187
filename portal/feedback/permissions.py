"""Who may do what with error reports.

Any signed-in, active user may report a problem. Reports are answered by the city's data office (admins).
Hook for data owners: when the governance area gives users a data-owner role over departments, widen
`can_answer_report` (and `answerers`) to the owners of the report's dataset's department.
"""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.models import ADMIN, User
from portal.extensions import db
from portal.feedback.models import ErrorReport


def can_file_report(user) -> bool:
    return bool(user.is_authenticated)


def can_answer_report(user, report: ErrorReport | None = None) -> bool:
    return bool(user.is_authenticated and user.role == ADMIN)


def can_see_reports_desk(user) -> bool:
    return can_answer_report(user)


def answerers(report: ErrorReport) -> list[User]:
    """The users told of a new report: active admins (and, later, the dataset's data owners)."""
    return list(db.session.scalars(select(User).where(User.role == ADMIN, User.active.is_(True))))


def can_answer_request(user, data_request=None) -> bool:
    """The data office answers data requests (data owners of the named department, once that role exists)."""
    return bool(user.is_authenticated and user.role == ADMIN)
