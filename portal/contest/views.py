"""The data-open innovation contest."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("contest", __name__, url_prefix="/contest")


@bp.get("/")
def index():
    return render_template("contest/index.html")
