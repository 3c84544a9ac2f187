"""County teams' innovation applications: the public showcase and the team workspace."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from portal.accounts.models import ADMIN, COUNTY_MEMBER
from portal.accounts.permissions import role_required

bp = Blueprint("applications", __name__, url_prefix="/applications")


@bp.get("/")
def index():
    return render_template("applications/index.html")


@bp.get("/team")
@role_required(ADMIN, COUNTY_MEMBER)
def team():
    return render_template("applications/team.html", region=current_user.region)
