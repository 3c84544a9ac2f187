"""Data owners (数源部门): users with the `data_owner` role, each bound to one or more departments.

A data owner decides the access requests for their departments' datasets and answers the error reports and
data requests that concern them; the office (admins) sees everything and may step in. The binding lives here,
in the catalogue, because departments do: the accounts area below knows only the role. Functions add and
flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, delete, false, func, select

from portal.accounts.models import ADMIN, DATA_OWNER, User
from portal.audit import log as audit_log
from portal.catalogue import rules
from portal.catalogue.models import AccessRequest, Dataset, Department, DepartmentOwner
from portal.extensions import db
from portal.refusals import Refusal

MAX_DEPARTMENTS = 200  # more than the city has; bounds what one form may ask to bind


class OwnerError(Refusal):
    """A data owner's binding broke a rule; the message is shown to the office."""


def is_data_owner(user) -> bool:
    return bool(user.is_authenticated and user.role == DATA_OWNER and user.active)


def department_ids(user) -> set[int]:
    """Return the ids of the departments the user answers for (none unless an active data owner)."""
    if not is_data_owner(user):
        return set()
    return set(
        db.session.scalars(select(DepartmentOwner.department_id).where(DepartmentOwner.user_id == user.id))
    )


def owns_department(user, department_id: int | None) -> bool:
    """Tell whether the user is an active data owner of the department."""
    if department_id is None or not is_data_owner(user):
        return False
    bound = select(DepartmentOwner.user_id).where(
        DepartmentOwner.user_id == user.id, DepartmentOwner.department_id == department_id
    )
    return db.session.scalar(bound) is not None


def owns_dataset(user, dataset: Dataset) -> bool:
    """Tell whether the user is a data owner of the dataset's department."""
    return owns_department(user, dataset.department_id)


def departments_of(user: User) -> list[Department]:
    """Return the departments bound to the user, by title (whatever the user's role now is)."""
    return list(
        db.session.scalars(
            select(Department)
            .join(DepartmentOwner, DepartmentOwner.department_id == Department.id)
            .where(DepartmentOwner.user_id == user.id)
            .order_by(Department.title, Department.id)
        )
    )


def departments_by_user(user_ids: Iterable[int]) -> dict[int, list[Department]]:
    """Return each listed user's departments (users without any are left out)."""
    ids = list(user_ids)
    found: dict[int, list[Department]] = {}
    if not ids:
        return found
    rows = db.session.execute(
        select(DepartmentOwner.user_id, Department)
        .join(Department, DepartmentOwner.department_id == Department.id)
        .where(DepartmentOwner.user_id.in_(ids))
        .order_by(Department.title, Department.id)
    )
    for user_id, department in rows:
        found.setdefault(user_id, []).append(department)
    return found


def owners_of(department_id: int | None) -> list[User]:
    """Return the active data owners of a department: who is told of its new reports and requests."""
    if department_id is None:
        return []
    return list(
        db.session.scalars(
            select(User)
            .join(DepartmentOwner, DepartmentOwner.user_id == User.id)
            .where(
                DepartmentOwner.department_id == department_id,
                User.role == DATA_OWNER,
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    )


def deciders(department_id: int | None, *, besides: int | None = None) -> list[User]:
    """Return who decides what is filed about a department: the active admins, then its data owners.

    Whoever filed it (`besides`, a user id) is left out: an admin or owner who files is not told of it.
    """
    office = select(User).where(User.role == ADMIN, User.active.is_(True)).order_by(User.id)
    found = {user.id: user for user in [*db.session.scalars(office), *owners_of(department_id)]}
    found.pop(besides, None)
    return list(found.values())


def set_departments(user: User, departments: Iterable[Department], *, by: User | None) -> None:
    """Bind the user to exactly these departments, auditing the change (before and after, by name).

    A data owner needs at least one department; any other role holds none, so calling this with no
    departments after a role change away from data owner removes the old bindings. `by` is None when
    the shell does it (the audit row then has no actor).
    """
    wanted = {d.id: d for d in departments}
    if len(wanted) > MAX_DEPARTMENTS:
        raise OwnerError(_l("Choose at most %(max)d departments.", max=MAX_DEPARTMENTS))
    if user.role == DATA_OWNER and not wanted:
        raise OwnerError(_l("A data owner must be bound to at least one department."))
    if user.role != DATA_OWNER and wanted:
        raise OwnerError(_l("Only data owners are bound to departments."))
    current = {d.id: d for d in departments_of(user)}
    if current.keys() == wanted.keys():
        return
    db.session.execute(
        delete(DepartmentOwner)
        .where(DepartmentOwner.user_id == user.id, DepartmentOwner.department_id.not_in(list(wanted)))
        .execution_options(synchronize_session=False)
    )
    for department_id in wanted.keys() - current.keys():
        db.session.add(DepartmentOwner(user_id=user.id, department_id=department_id))
    db.session.flush()
    audit_log.record(
        db.session,
        "user.departments_changed",
        actor=by,
        object_type="user",
        object_id=user.id,
        before={"departments": sorted(d.name for d in current.values())},
        after={"departments": sorted(d.name for d in wanted.values())},
    )


def owned_dataset_ids(user) -> Select:
    """Select the ids of the datasets of the user's departments (empty for anyone but a data owner)."""
    owned = select(DepartmentOwner.department_id).where(DepartmentOwner.user_id == user.id)
    query = select(Dataset.id).where(Dataset.department_id.in_(owned))
    return query if is_data_owner(user) else query.where(false())


def datasets_of(user) -> Select:
    """Select the published datasets of the user's departments, most downloaded first."""
    return (
        select(Dataset)
        .where(Dataset.id.in_(owned_dataset_ids(user)), rules.published())
        .order_by(Dataset.download_count.desc(), Dataset.title, Dataset.id)
    )


def request_counts(dataset_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Return, per dataset, how many access requests it has in each status."""
    ids = list(dataset_ids)
    counts: dict[int, dict[str, int]] = {}
    if not ids:
        return counts
    rows = db.session.execute(
        select(AccessRequest.dataset_id, AccessRequest.status, func.count())
        .where(AccessRequest.dataset_id.in_(ids))
        .group_by(AccessRequest.dataset_id, AccessRequest.status)
    )
    for dataset_id, status, n in rows:
        counts.setdefault(dataset_id, {})[status] = n
    return counts
