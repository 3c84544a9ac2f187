"""Link health (issue 17 item 4): check each linked resource's URL and keep the latest result in link_checks.

A check asks HEAD first and, when the server will not answer HEAD well (an error status, 405/501), a ranged
GET of the first byte. Every request goes through the SSRF guard (portal/outbound.py): an internal address is
never contacted and counts as broken for the public. Checks run in a thread pool with at most `per_host`
at a time against one host and a timeout each; only the main thread writes to the database.

A mirrored resource is served from storage, not from its link, so its check re-reads the stored copy instead:
missing, unreadable or no longer matching its SHA-256 counts as broken (status None, the reason in `error`).
A dataset whose resources changed between broken and working is touched (catalogue/changes.py), so the
cached dataset page and result cards show the "broken" badge at once.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import requests
from sqlalchemy import select

from portal import clock, outbound
from portal.catalogue import changes
from portal.catalogue.models import Resource
from portal.catalogue.quality import LinkCheck
from portal.extensions import db
from portal.storage import ObjectNotFound, Storage, StorageError

CHUNK = 1 << 20  # bytes read at a time from a stored copy


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


def check_copy(store: Storage, resource: Resource) -> Result:
    """Re-read the mirrored copy of `resource` to its end; compare it with its SHA-256 when one is kept."""
    digest = hashlib.sha256()
    try:
        with store.open(resource.storage_key) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
    except ObjectNotFound:
        return Result(None, True, "mirrored copy missing")
    except (StorageError, OSError, ValueError) as exc:
        return Result(None, True, f"mirrored copy unreadable: {type(exc).__name__}"[:200])
    if resource.sha256 and digest.hexdigest() != resource.sha256:
        return Result(None, True, "mirrored copy changed: SHA-256 differs")
    return Result(None, False)


def check(
    resources: Iterable[Resource], *, guard: outbound.Guard, now: datetime, timeout: float = 10.0,
    per_host: int = 2, workers: int = 8, store: Storage | None = None,
) -> dict[int, Result]:  # fmt: skip
    """Check the http(s) links of `resources` (with `store`, the mirrored ones' stored copies instead);
    store each result as its LinkCheck, touch the datasets whose broken resources changed; return the
    results by resource id."""
    resources = list(resources)
    copies = {r.id: check_copy(store, r) for r in resources if store is not None and r.storage_key}
    targets = [
        (r.id, r.url)
        for r in resources
        if r.id not in copies and urlsplit(r.url or "").scheme in outbound.SCHEMES
    ]
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
    results.update(copies)
    _touch_changed(resources, results)
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


def _touch_changed(resources: list[Resource], results: dict[int, Result]) -> None:
    """Touch the datasets of the resources whose broken flag differs from their previous check's."""
    before: dict[int, bool] = {}
    ids = list(results)
    for start in range(0, len(ids), 1000):
        part = ids[start : start + 1000]
        query = select(LinkCheck.resource_id, LinkCheck.broken).where(LinkCheck.resource_id.in_(part))
        before.update(db.session.execute(query).all())
    dataset_of = {r.id: r.dataset_id for r in resources}
    changed = {dataset_of[i] for i, r in results.items() if before.get(i, False) != r.broken}
    changes.touch(db.session.connection(), sorted(changed), clock.now())


def run_job() -> str:
    """The job "catalogue.check_links": check the links of the published datasets' active resources."""
    from flask import current_app

    from portal.catalogue import rules
    from portal.catalogue.models import Dataset
    from portal.storage import get_storage

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
    results = check(list(db.session.scalars(query)), guard=guard, now=clock.now(), store=get_storage())
    db.session.commit()
    return f"{len(results)} links checked, {sum(r.broken for r in results.values())} broken"
