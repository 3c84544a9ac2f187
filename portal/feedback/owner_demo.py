"""Demo data owners (数源部门) for `init --demo`, made through the same code the office's pages use.

Run after the demo catalogue (and feedback) exist: the two departments with the most to answer (error
reports, then conditional datasets, then datasets) each get one data owner, and the demo developer applies
for a conditional dataset of the first, so its desk has a request waiting. Idempotent.
"""

from __future__ import annotations

from sqlalchemy import func, select

from portal.accounts import actions
from portal.accounts.models import DATA_OWNER, User
from portal.catalogue import access, owners, rules
from portal.catalogue.models import CONDITIONAL, Dataset, Department
from portal.extensions import db
from portal.feedback.models import ErrorReport
from portal.seeding import DEMO_DOMAIN, DemoAccount

OWNERS = 2


def seed_demo_owners() -> list[DemoAccount]:
    """Make the demo's data owners (owner1@…, owner2@…) and return them with their passwords."""
    accounts = []
    for n, department in enumerate(_busiest_departments(), start=1):
        email = f"owner{n}@{DEMO_DOMAIN}"
        if actions.find_by_email(email) is not None:
            accounts.append(DemoAccount(email, DATA_OWNER, None))
            continue
        name = f"{department.title}数据专员"[:60]
        password = actions.generate_password(email=email, name=name)
        user = actions.create_user(email=email, password=password, display_name=name, role=DATA_OWNER)
        owners.set_departments(user, [department], by=None)
        accounts.append(DemoAccount(email, DATA_OWNER, password))
        if n == 1:
            _apply_for_one(department)
    db.session.flush()
    return accounts


def _busiest_departments() -> list[Department]:
    """The departments with the most error reports, then conditional datasets, then datasets."""
    mine = Dataset.department_id == Department.id
    reports = (
        select(func.count(ErrorReport.id))
        .join(Dataset, ErrorReport.dataset_id == Dataset.id)
        .where(mine)
        .scalar_subquery()
    )
    conditional = (
        select(func.count(Dataset.id))
        .where(mine, Dataset.open_condition == CONDITIONAL, rules.published())
        .scalar_subquery()
    )
    published = select(func.count(Dataset.id)).where(mine, rules.published()).scalar_subquery()
    query = (
        select(Department)
        .where(published > 0)
        .order_by(reports.desc(), conditional.desc(), published.desc(), Department.name)
        .limit(OWNERS)
    )
    return list(db.session.scalars(query))


def _apply_for_one(department: Department) -> None:
    """The demo developer applies for a conditional dataset of the department, if it has one."""
    developer = db.session.scalar(select(User).where(User.email == f"developer@{DEMO_DOMAIN}"))
    dataset = db.session.scalar(
        select(Dataset)
        .where(
            Dataset.department_id == department.id, Dataset.open_condition == CONDITIONAL, rules.published()
        )
        .order_by(Dataset.id)
        .limit(1)
    )
    if developer is None or dataset is None or access.latest_request(developer, dataset) is not None:
        return
    access.request_access(developer, dataset, "用于开发嘉兴市民出行服务小程序，展示相关公共数据。")
