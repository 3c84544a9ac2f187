"""What a load balancer asks: is this node alive, and is it ready (database, storage, Redis)?

Each check answers a state ("ok", "down", "behind", "not configured") with a detail. The node is
ready when the database is at the newest migration and the storage answers; Redis being down only
delays jobs (and spreads rate limits), so it is reported but does not take the node out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

OK, DOWN, BEHIND, NOT_CONFIGURED = "ok", "down", "behind", "not configured"
PROBE_KEY = "ops/readiness-probe"


@dataclass
class Check:
    state: str
    detail: str = ""
    required: bool = True

    @property
    def passing(self) -> bool:
        return self.state in (OK, NOT_CONFIGURED) or not self.required

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v != ""}


@lru_cache(maxsize=4)
def _heads(migrations: str) -> tuple[str, ...]:
    return tuple(sorted(ScriptDirectory(migrations).get_heads()))


def database(connection, migrations: str) -> Check:
    """The database answers and stands at the newest revision of `migrations` (a folder)."""
    try:
        current = tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
    except Exception as exc:  # any driver error means: not ready
        return Check(DOWN, f"{type(exc).__name__}: {str(exc)[:200]}")
    wanted = _heads(migrations)
    if current != wanted:
        return Check(BEHIND, f"at {', '.join(current) or 'nothing'}, newest is {', '.join(wanted)}")
    return Check(OK, f"at {', '.join(current)}")


def storage(store) -> Check:
    """The storage answers a lookup (a folder that exists, a bucket that answers)."""
    try:
        store.exists(PROBE_KEY)
    except Exception as exc:
        return Check(DOWN, f"{type(exc).__name__}: {str(exc)[:200]}")
    return Check(OK)


def redis(conn) -> Check:
    """Redis answers; when it does not, jobs wait and the site goes on serving."""
    if conn is None:
        return Check(NOT_CONFIGURED, "jobs run in-process", required=False)
    try:
        conn.ping()
    except Exception as exc:
        return Check(DOWN, f"jobs are delayed: {type(exc).__name__}: {str(exc)[:160]}", required=False)
    return Check(OK, required=False)


def readiness(checks: dict[str, Check]) -> tuple[bool, dict]:
    """Whether every required check passes, and the checks as JSON."""
    return all(c.passing for c in checks.values()), {name: c.as_dict() for name, c in checks.items()}
