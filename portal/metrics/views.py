"""Statistics of open data volume and use."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("metrics", __name__, url_prefix="/stats")


@bp.get("/")
def index():
    return render_template("metrics/index.html")
