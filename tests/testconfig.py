"""Which database the suite runs on, the settings every test app starts from, and emptying its tables.

Importable from anywhere (tests/ is on pytest's `pythonpath`), also by a test that starts another Python
process with tests/ on its path.
"""

from __future__ import annotations

import os
from pathlib import Path

from portal.extensions import db

DATABASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = DATABASE_URL.startswith("postgres")


def app_config(url: str, instance: Path) -> dict:
    """The settings of a test app on database `url` with its instance folder at `instance`."""
    return {
        "TESTING": True,
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret-key",
        "STORAGE_URL": None,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": "localhost",
        "CATALOGUE_INDEX_REUSE_SECONDS": 0.0,  # tests read the catalogue right after changing it
        "DB_STATEMENT_TIMEOUT_MS": 0,  # a loaded CI machine must not fail tests; search bounds set their own
        "DB_REQUEST_BUDGET_MS": 0,  # likewise
    }


def empty_tables() -> None:
    """Delete every row, as the `app` fixture does after each test."""
    # DELETE, not TRUNCATE: on PostgreSQL, truncating fifty small tables costs far more per test.
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()
