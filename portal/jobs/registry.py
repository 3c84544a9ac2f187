"""Every kind of background job, declared once: its name, the function that does it, its queue and limits.

Functions are named by their dotted path, not imported: RQ stores that path with each job, and this
low layer then depends on no area. An area adds a job by adding a line here and a function that
takes its parameters as keywords (JSON values) and builds its collaborators from the app's config.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module


@dataclass(frozen=True)
class Kind:
    target: str  # "package.module:function"
    queue: str = "default"
    timeout: int = 3600  # seconds one attempt may run before the worker stops it
    retries: bool = True  # False: a failure is final (e.g. a job whose effect is not idempotent)

    def function(self):
        module, name = self.target.split(":")
        return getattr(import_module(module), name)


QUEUES = ("sync", "default")  # a worker serves them in this order

KINDS: dict[str, Kind] = {
    "sync.run": Kind("portal.sync.jobs:run_started", queue="sync", timeout=6 * 3600),
    "sync.scheduled": Kind("portal.sync.jobs:run_scheduled", queue="sync", timeout=6 * 3600),
    "metrics.rollup": Kind("portal.metrics.jobs:roll_up"),
    "metrics.purge_events": Kind("portal.metrics.jobs:purge_events"),
    "mail.send": Kind("portal.mail:send_job", timeout=120),
    "accounts.reset_mail": Kind("portal.accounts.jobs:send_reset_link", timeout=120),
    "catalogue.check_links": Kind("portal.catalogue.linkcheck:run_job", timeout=3 * 3600),
}


class UnknownJob(LookupError):
    """No job of that name is declared."""


def kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownJob(f"no job named {name!r}") from None
