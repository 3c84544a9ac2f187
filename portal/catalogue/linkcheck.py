"""Link health (issue 17 item 4): check each linked resource's URL and keep the latest result in link_checks.

A check asks HEAD first and, when the server will not answer HEAD well (an error status, 405/501), a ranged
GET of the first byte. Every request goes through the SSRF guard (portal/outbound.py): an internal address is
never contacted and counts as broken for the public. Checks run in a thread pool with at most `per_host`
at a time against one host and a timeout each; only the main thread writes to the database.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import requests

from portal import outbound
from portal.catalogue.models import Resource
from portal.catalogue.quality import LinkCheck
from portal.extensions import db


@dataclass(frozen=True)
class Result:
    status: int | None
    broken: bool
    error: str = ""


def check_url(s: requests.Session, url: str, *, guard: outbound.Guard, timeout: float) -> Result:
    """Check one URL through `s`, a session of outbound.session(guard)."""
    try:
        guard.check_url(url)
        head = s.head(url, allow_redirects=True, timeout=timeout)
        head.close()
        if head.status_code < 400:
            return Result(head.status_code, False)
        response = outbound.get(s, url, timeout=timeout, headers={"Range": "bytes=0-0"})
        response.close()
        return Result(response.status_code, response.status_code >= 400)
    except outbound.Refused as exc:
        return Result(None, True, f"refused: {exc}"[:200])
    except requests.Timeout:
        return Result(None, True, "timed out")
    except (requests.RequestException, OSError) as exc:
        return Result(None, True, type(exc).__name__[:200])


def check(
    resources: Iterable[Resource], *, guard: outbound.Guard, now: datetime, timeout: float = 10.0,
    per_host: int = 2, workers: int = 8,
) -> dict[int, Result]:  # fmt: skip
    """Check the http(s) links of `resources`; store each result as its LinkCheck; return them by id."""
    targets = [(r.id, r.url) for r in resources if urlsplit(r.url or "").scheme in outbound.SCHEMES]
    slots: dict[str, threading.BoundedSemaphore] = defaultdict(lambda: threading.BoundedSemaphore(per_host))
    for _, url in targets:
        slots[(urlsplit(url).hostname or "").lower()]  # made here, before the threads share the dict
    local = threading.local()

    def one(url: str) -> Result:
        if not hasattr(local, "session"):
            local.session = outbound.session(guard)
        with slots[(urlsplit(url).hostname or "").lower()]:
            return check_url(local.session, url, guard=guard, timeout=timeout)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = dict(zip([i for i, _ in targets], pool.map(one, [u for _, u in targets]), strict=True))
    for resource_id, result in results.items():
        db.session.merge(
            LinkCheck(
                resource_id=resource_id,
                checked_at=now,
                status=result.status,
                broken=result.broken,
                error=result.error,
            )
        )
    db.session.flush()
    return results


def run_job() -> str:
    """The job "catalogue.check_links": check the links of the published datasets' active resources."""
    from flask import current_app
    from sqlalchemy import select

    from portal import clock
    from portal.catalogue import rules
    from portal.catalogue.models import Dataset

    config = current_app.config
    guard = outbound.Guard.from_settings(
        config.get("OUTBOUND_ALLOWED_HOSTS") or (), also_urls=[config.get("CKAN_URL")]
    )
    query = (
        select(Resource)
        .join(Dataset, Dataset.id == Resource.dataset_id)
        .where(rules.published(), Resource.state == "active")
        .order_by(Resource.id)
    )
    results = check(list(db.session.scalars(query)), guard=guard, now=clock.now())
    db.session.commit()
    return f"{len(results)} links checked, {sum(r.broken for r in results.values())} broken"
