"""What a sync run's record says to the data office, in plain words.

A run keeps one technical message (English, for whoever maintains the portal). The page leads with what
happened and what to do, in the reader's language; the technical message stays available beneath it.
The run and its launcher write their failure messages with the prefixes below, so that a failure's kind
can be told back from the record.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.sync.models import FAILED, PARTIAL, RUNNING, SUCCEEDED, SyncRun

SOURCE_UNAVAILABLE = "source unavailable"
LOCK_LOST = "stopped"
INTERRUPTED = "interrupted before it finished"
NOT_BEGUN = "could not begin"

_FAILURES = (  # message prefix, what happened and what to do
    (
        SOURCE_UNAVAILABLE,
        _l(
            "The source could not be reached or read. Check the CKAN address or the dump file and the "
            "network, then start the sync again."
        ),
    ),
    (
        LOCK_LOST,
        _l(
            "The sync stopped because it went quiet for too long; its process may have been stopped. "
            "Start the sync again."
        ),
    ),
    (
        INTERRUPTED,
        _l(
            "The sync was interrupted before it finished: the server restarted or its process was "
            "stopped. Start the sync again."
        ),
    ),
    (NOT_BEGUN, _l("The sync could not begin: its source or its settings could not be opened.")),
)
_UNEXPECTED = _l(
    "An unexpected error stopped the sync. Start it again; if it fails again, give the technical detail "
    "below to whoever maintains the portal."
)


@dataclass(frozen=True)
class Outcome:
    """How a run turned out: its state, a headline, the reason in plain words, and the technical detail."""

    state: str  # running | succeeded | partial | failed
    headline: str
    reason: str
    detail: str
    finished: bool
    clean: bool  # finished without any error: the only state that may say "no errors"


def describe(run: SyncRun, *, errors: int) -> Outcome:
    """Describe `run`, which has `errors` recorded errors (datasets and resources)."""
    detail = run.message or ""
    if run.status == RUNNING:
        return Outcome(
            RUNNING,
            _l("The sync is running"),
            _l(
                "So far %(seen)d datasets read, %(created)d created, %(updated)d updated, %(failed)d failed. "
                "The figures grow as the run goes on.",
                seen=run.seen,
                created=run.created,
                updated=run.updated,
                failed=run.failed,
            ),
            "",
            False,
            False,
        )
    if run.status == FAILED:
        reason = next((text for prefix, text in _FAILURES if detail.startswith(prefix)), _UNEXPECTED)
        return Outcome(FAILED, _l("The sync failed"), reason, detail, True, False)
    if run.status == PARTIAL:
        reason = _l(
            "%(failed)d datasets could not be taken; they are listed below. The watermark stays, so the "
            "next sync reads them again.",
            failed=run.failed,
        )
        return Outcome(PARTIAL, _l("The sync finished with errors"), reason, detail, True, False)
    if errors:
        reason = _l(
            "Every dataset was taken, but %(count)d resource problems were noted below; the next full sync "
            "retries them.",
            count=errors,
        )
        return Outcome(SUCCEEDED, _l("The sync finished"), reason, detail, True, False)
    return Outcome(
        SUCCEEDED,
        _l("The sync finished"),
        _l("Every dataset and resource this run read was taken."),
        "",
        True,
        True,
    )
