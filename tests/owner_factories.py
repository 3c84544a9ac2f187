"""Data owners (数源部门) for tests: a `data_owner` user bound to departments, and the things they answer."""

from __future__ import annotations

from catalogue_factories import make_dataset
from factories import make_user

from portal import clock
from portal.accounts.models import User
from portal.catalogue import access
from portal.catalogue.models import CONDITIONAL, AccessRequest, Dataset, Department, DepartmentOwner
from portal.extensions import db
from portal.feedback import data_requests, reports
from portal.feedback.models import DataRequest, ErrorReport


def make_owner(*departments: Department, **kwargs) -> User:
    """A data owner bound to `departments` (bound directly: catalogue/owners.py's rules are tested apart)."""
    user = make_user("data_owner", display_name="数源部门专员", **kwargs)
    for department in departments:
        db.session.add(DepartmentOwner(user_id=user.id, department_id=department.id))
    db.session.flush()
    return user


def make_conditional_dataset(department: Department, **kwargs) -> Dataset:
    return make_dataset(department=department, open_condition=CONDITIONAL, **kwargs)


def make_access_request(dataset: Dataset, developer: User | None = None) -> AccessRequest:
    return access.request_access(
        developer or make_user("developer"), dataset, "用于开发停车诱导小程序，需要实时数据。"
    )


def make_report(dataset: Dataset, kind: str = "wrong_values") -> ErrorReport:
    return reports.file_report(
        dataset, by=make_user(), kind=kind, text="第 3 行数值有误", now=clock.now(), working_days=5
    )


def make_data_request(department: Department | None) -> DataRequest:
    return data_requests.ask(
        by=make_user(),
        title="全市停车场实时空位",
        reason="做停车导航",
        department=department,
        now=clock.now(),
    )
