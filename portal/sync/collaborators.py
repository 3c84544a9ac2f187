"""What a sync works with, built from the app's config: settings, the source, the outbound guard, the fetcher.

Every entry point (the CLI, the web, the worker, the scheduler) builds them here, so they agree.
"""

from __future__ import annotations

from flask import current_app

from portal import outbound
from portal.sync import mirror, remote, run


class NoSource(remote.SourceUnavailable):
    """Neither a source was named nor CKAN_URL set."""


def settings_from_config(*, full: bool, mirror: bool, started_by_id: int | None = None) -> run.Settings:
    config = current_app.config
    return run.Settings(
        full=full,
        mirror=mirror,
        mirror_max_size=config["SYNC_MIRROR_MAX_SIZE"],
        safety_margin=config["SYNC_SAFETY_MARGIN"],
        started_by_id=started_by_id,
        rows=config["ROWS_LOAD_AT_SYNC"],
        ungraded=config["UNGRADED_DATASETS"],
    )


def guard_from_config() -> outbound.Guard:
    """The outbound guard: public addresses, CKAN_URL's host and OUTBOUND_ALLOWED_HOSTS."""
    config = current_app.config
    return outbound.Guard.from_settings(
        config.get("OUTBOUND_ALLOWED_HOSTS") or (), also_urls=[config.get("CKAN_URL")]
    )


def fetcher_from_config() -> mirror.Fetcher:
    """The mirror's fetcher, behind the configured outbound guard."""
    config = current_app.config
    return mirror.Fetcher(
        guard=guard_from_config(),
        timeout=config["SYNC_TIMEOUT"],
        retries=config["SYNC_RETRIES"],
        backoff=config["SYNC_BACKOFF"],
    )


def source_from_config(location: str | None, *, timeout: float | None = None, retries: int | None = None):
    """Open the source named by `location`, or CKAN_URL, behind the outbound guard; raise NoSource when
    there is none and remote.SourceUnavailable when it cannot be opened. `timeout` and `retries`
    override the sync's settings."""
    config = current_app.config
    location = location or config.get("CKAN_URL")
    if not location:
        raise NoSource("no source: pass --source URL|FILE or set CKAN_URL")
    return remote.open_source(
        location,
        api_key=config.get("CKAN_API_KEY"),
        timeout=config["SYNC_TIMEOUT"] if timeout is None else timeout,
        retries=config["SYNC_RETRIES"] if retries is None else retries,
        backoff=config["SYNC_BACKOFF"],
        guard=guard_from_config(),
    )
