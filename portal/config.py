"""Configuration defaults, overridden by environment variables of the same name.

Secrets never live here: SECRET_KEY comes from the environment or from a file that
`create_app` generates once in the instance folder.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

DATABASE_URL = None  # default: SQLite file in the instance folder
STORAGE_URL = None  # default: a folder in the instance folder
CKAN_URL = None
CKAN_API_KEY = None
REDIS_URL = None
SECRET_KEY = None

BABEL_DEFAULT_LOCALE = "zh_CN"
BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
LANGUAGES = {"zh_CN": "中文", "en": "English"}

WTF_CSRF_TIME_LIMIT = 8 * 3600
MAX_CONTENT_LENGTH = 64 * 1024 * 1024
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_HTTPONLY = True

RATELIMIT_ENABLED = True
RATELIMIT_SIGN_IN = "10 per minute"
RATELIMIT_HEADERS_ENABLED = True

PASSWORD_MIN_LENGTH = 10

# While the sync writes, the catalogue changes many times a second: each process rebuilds
# its facet index (catalogue/facet_index.py) at most this often, so counts may lag that much.
CATALOGUE_INDEX_REUSE_SECONDS = 15.0

SYNC_TIMEOUT = 30.0  # seconds per CKAN call
SYNC_RETRIES = 4  # tries after the first, with exponential backoff
SYNC_BACKOFF = 0.5  # seconds, doubled each retry
SYNC_SAFETY_MARGIN = timedelta(minutes=10)  # re-read this much before the watermark
SYNC_MIRROR_MAX_SIZE = 200 * 1024 * 1024
SYNC_WEB_DUMP_FOLDER = str(Path(__file__).resolve().parent.parent / "seeds")  # dumps the web may sync

_ENV_NAMES = ("DATABASE_URL", "STORAGE_URL", "CKAN_URL", "CKAN_API_KEY", "REDIS_URL", "SECRET_KEY")


def from_environment() -> dict:
    """Return the settings that the environment sets."""
    settings = {name: os.environ[name] for name in _ENV_NAMES if os.environ.get(name)}
    if os.environ.get("RATELIMIT_ENABLED", "").lower() in ("0", "false", "no"):
        settings["RATELIMIT_ENABLED"] = False
    return settings
