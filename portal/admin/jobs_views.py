"""The office's jobs page: every recorded job with its state, attempts and last error, and the queues.

The page lives with the office's other pages, above the areas; the jobs layer itself (`portal/jobs/`) lies
below them, so that mail, accounts and the sync can queue work without importing an area above them.
"""

from __future__ import annotations

import redis
from flask import Blueprint, current_app, render_template, request
from sqlalchemy import select

from portal.accounts.models import ADMIN
from portal.accounts.permissions import role_required
from portal.extensions import db
from portal.jobs import queue
from portal.jobs.models import STATES, JobRecord

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")

PER_PAGE = 50


@bp.get("/")
@role_required(ADMIN)
def index():
    state = request.args.get("state", "")[:20]
    query = select(JobRecord).order_by(JobRecord.id.desc())
    if state in STATES:
        query = query.where(JobRecord.state == state)
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    depths, redis_down = {}, False
    try:
        depths = queue.depths()
    except redis.RedisError:
        redis_down = True
    return render_template(
        "jobs/index.html",
        page=page,
        state=state if state in STATES else "",
        states=STATES,
        depths=depths,
        redis_down=redis_down,
        with_redis=bool(current_app.config.get("REDIS_URL")),
    )
