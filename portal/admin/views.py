"""The city data office's pages: accounts and population figures."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from portal import names, refusals
from portal.accounts import actions
from portal.accounts.forms import RoleForm
from portal.accounts.models import ADMIN, DATA_OWNER, ROLES, User, role_labels
from portal.accounts.permissions import role_required
from portal.admin import queue
from portal.admin.forms import DepartmentsForm, NewAccountForm, PopulationForm
from portal.audit import log as audit_log
from portal.audit import web as audit_web
from portal.catalogue import owners
from portal.catalogue.models import Department
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.regions import population
from portal.regions.models import Population, Region

bp = Blueprint("admin", __name__, url_prefix="/admin")

USERS_PER_PAGE = 50


@bp.get("/")
@role_required(ADMIN)
def index():
    return render_template("admin/index.html", queue=queue.work_queue(utcnow()))


@bp.get("/users")
@role_required(ADMIN)
def users():
    q = request.args.get("q", "").replace("\x00", "").strip()[:100]  # PostgreSQL refuses a NUL in a parameter
    role = request.args.get("role", "")
    query = select(User).order_by(User.role, User.email)
    if q:
        # autoescape: % and _ in q are the letters typed, not LIKE wildcards
        email = User.email.contains(q.lower(), autoescape=True)
        query = query.where(or_(email, User.display_name.contains(q, autoescape=True)))
    if role in ROLES:
        query = query.where(User.role == role)
    page = db.paginate(query, per_page=USERS_PER_PAGE, error_out=False)
    departments = owners.departments_by_user(u.id for u in page.items if u.role == DATA_OWNER)
    return render_template(
        "admin/users.html",
        page=page,
        q=q,
        role=role,
        roles=role_labels(),
        role_form=_role_form(),
        departments=departments,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(ADMIN)
def new_user():
    form = _with_choices(NewAccountForm())
    form.departments.choices = _department_choices()
    if form.validate_on_submit():
        password = actions.generate_password(email=form.email.data, name=form.display_name.data)
        try:
            user = actions.create_user(
                email=form.email.data,
                password=password,
                display_name=form.display_name.data,
                role=form.role.data,
                region=db.session.get(Region, form.region_id.data) if form.region_id.data else None,
                organization=form.organization.data or "",
            )
            owners.set_departments(user, _departments(form.departments.data), by=current_user)
        except (actions.AccountError, owners.OwnerError) as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            return render_template("admin/password_once.html", user=user, password=password)
    status = 400 if form.is_submitted() else 200
    return render_template("admin/new_user.html", form=form), status


@bp.post("/users/<int:user_id>/role")
@role_required(ADMIN)
def set_role(user_id: int):
    user = db.get_or_404(User, user_id)
    form = _role_form()
    if not form.validate_on_submit():
        abort(400)
    region = db.session.get(Region, form.region_id.data) if form.region_id.data else None
    then = url_for("admin.users", q=user.email)
    if form.role.data == DATA_OWNER and not owners.departments_of(user):  # a new owner: choose departments
        then = url_for("admin.user_departments", user_id=user.id)

    def run():
        actions.set_role(user, form.role.data, region, by=current_user)
        if user.role != DATA_OWNER:
            owners.set_departments(user, [], by=current_user)  # bindings go with the role

    return refusals.act(
        run,
        then=then,
        done=_("The role of %(email)s is saved.", email=user.email),
        refused=url_for("admin.users", q=user.email),
    )


@bp.route("/users/<int:user_id>/departments", methods=["GET", "POST"])
@role_required(ADMIN)
def user_departments(user_id: int):
    """Bind a data owner to the departments whose requests and reports they answer."""
    user = db.get_or_404(User, user_id)
    if user.role != DATA_OWNER:
        abort(404)
    form = DepartmentsForm()
    form.departments.choices = _department_choices()
    if not form.is_submitted():
        form.departments.data = [d.id for d in owners.departments_of(user)]
    if form.validate_on_submit():
        try:
            owners.set_departments(user, _departments(form.departments.data), by=current_user)
        except owners.OwnerError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The departments of %(email)s are saved.", email=user.email), "success")
            return redirect(url_for("admin.users", q=user.email))
    status = 400 if form.is_submitted() else 200
    return render_template("admin/user_departments.html", user=user, form=form), status


@bp.post("/users/<int:user_id>/active")
@role_required(ADMIN)
def set_active(user_id: int):
    user = db.get_or_404(User, user_id)
    active = request.form.get("active") == "1"
    message = _("%(email)s can sign in again.") if active else _("%(email)s is deactivated.")
    return refusals.act(
        lambda: actions.set_active(user, active, by=current_user),
        then=url_for("admin.users", q=user.email),
        done=message % {"email": user.email},
    )


@bp.post("/users/<int:user_id>/reset-password")
@role_required(ADMIN)
def reset_password(user_id: int):
    user = db.get_or_404(User, user_id)
    password = actions.reset_password(user)
    audit_log.record(db.session, "user.password_reset", actor=current_user, object_type="user",
                     object_id=user.id, client=audit_web.client())  # fmt: skip (never the password)
    db.session.commit()
    return render_template("admin/password_once.html", user=user, password=password)


@bp.route("/regions", methods=["GET", "POST"])
@role_required(ADMIN)
def regions():
    all_regions = population.regions()
    form = PopulationForm()
    form.region_id.choices = [(r.id, names.local_region_name(r.name)) for r in all_regions]
    if form.validate_on_submit():
        region = db.get_or_404(Region, form.region_id.data)
        before = population_of(region, form.year.data)
        try:
            population.set_population(
                region,
                year=form.year.data,
                population=form.population.data,
                source=form.source.data,
                by=current_user,
            )
        except population.PopulationError as exc:
            form.form_errors.append(str(exc))
        else:
            audit_log.record(
                db.session,
                "population.changed",
                actor=current_user,
                object_type="region",
                object_id=f"{region.code}/{form.year.data}",
                before=before,
                after=population_of(region, form.year.data),
                client=audit_web.client(),
            )
            db.session.commit()
            flash(
                _("The %(year)d figure of %(region)s is saved.", year=form.year.data, region=region.name),
                "success",
            )
            return redirect(url_for("admin.regions"))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "admin/regions.html", regions=all_regions, years=population.years(), form=form
    ), status


def population_of(region: Region, year: int) -> dict | None:
    """A county's population figure of a year as the audit log keeps it, or None."""
    query = select(Population).where(Population.region_id == region.id, Population.year == year)
    row = db.session.scalar(query)
    return None if row is None else {"population": row.population, "source": row.source}


def _with_choices(form):
    labels = role_labels()
    form.role.choices = [(r, labels[r]) for r in ROLES]
    form.region_id.choices = [(0, "—")] + [
        (r.id, names.local_region_name(r.name)) for r in population.counties()
    ]
    return form


def _department_choices() -> list[tuple[int, str]]:
    departments = db.session.scalars(select(Department).order_by(Department.title, Department.id))
    return [(d.id, d.title) for d in departments]


def _departments(ids: list[int] | None) -> list[Department]:
    """The departments a form chose (its choices were checked against the existing ones)."""
    if not ids:
        return []
    return list(db.session.scalars(select(Department).where(Department.id.in_(ids))))


def _role_form() -> RoleForm:
    return _with_choices(RoleForm())
