"""For views: the keyed hash of the requesting client's address, as the audit log keeps it."""

from __future__ import annotations

from flask import current_app, request

from portal.audit import log


def client() -> str:
    return log.client_hash(request.remote_addr, current_app.config["SECRET_KEY"])
