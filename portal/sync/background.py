"""Carry out a started sync run in a thread of this process: the in-process way of the job "sync.run".

`portal/jobs/queue.py` starts such threads itself when no REDIS_URL is set; this module keeps the
same for callers that hold a started run and want it carried out beside them. Either way the run
goes through `portal/sync/jobs.py`, which also runs what follows every sync.
"""

from __future__ import annotations

import threading

from flask import Flask

from portal.extensions import db
from portal.sync import jobs

carry_out = jobs.carry_out


def launch(app: Flask, run_id: int, location: str, full: bool, mirror: bool) -> threading.Thread:
    """Carry out the started run `run_id` in a daemon thread with its own app context and session."""
    thread = threading.Thread(
        target=_work, args=(app, run_id, location, full, mirror), name=f"sync-run-{run_id}", daemon=True
    )
    thread.start()
    return thread


def _work(app: Flask, run_id: int, location: str, full: bool, mirror: bool) -> None:
    with app.app_context():
        try:
            jobs.run_started(run_id, location, full, mirror)
        except Exception:  # nobody waits for this thread: run_started logged it
            pass
        finally:
            db.session.remove()
