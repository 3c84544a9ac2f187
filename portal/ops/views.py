"""/healthz (alive), /readyz (ready for traffic) and /metrics (Prometheus), outside /api/v1 and the site."""

from __future__ import annotations

import ipaddress

from flask import Blueprint, Response, abort, current_app, jsonify, request

from portal import storage
from portal.dbtypes import utcnow
from portal.extensions import db, limiter
from portal.jobs import queue
from portal.ops import health, telemetry

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    return jsonify(status="ok", node=current_app.config["NODE_NAME"])


@bp.get("/readyz")
@limiter.exempt
def readyz():
    conn = queue.redis_from_config()
    checks = {
        "database": health.database(db.session.connection(), current_app.extensions["migrate"].directory),
        "storage": health.storage(storage.get_storage()),
        "redis": health.redis(conn),
    }
    db.session.rollback()
    ready, shown = health.readiness(checks)
    body = jsonify(ready=ready, node=current_app.config["NODE_NAME"], checks=shown)
    return body, 200 if ready else 503


@bp.get("/metrics")
@limiter.exempt
def metrics():
    if not _allowed(request.remote_addr, current_app.config["METRICS_ALLOWED_NETWORKS"]):
        abort(404)
    depths, redis_up = {}, None
    if current_app.config.get("REDIS_URL"):
        try:
            depths, redis_up = queue.depths(), True
        except Exception:  # Redis down: jobs are delayed, the rest still reports
            redis_up = False
    state = telemetry.cluster_state(db.session, now=utcnow(), queue_depths=depths, redis_up=redis_up)
    text = telemetry.exposition(lambda: state)
    db.session.rollback()
    return Response(text, mimetype="text/plain; version=0.0.4")


def _allowed(address: str | None, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in networks)
