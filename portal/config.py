"""Configuration defaults: every UPPERCASE name here is a setting.

The environment variable of the same name overrides each one, parsed by the type of its default
(`portal/environment.py`: booleans, numbers, seconds for durations, JSON for mappings); a default
of None is text unless annotated (`NAME: int | None = None`). Add a row to the README's
configuration table with every new setting (a test checks it). Secrets never live here: SECRET_KEY
comes from the environment or from a file that `create_app` generates once in the instance folder.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

from portal import environment

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
REMEMBER_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_DURATION = timedelta(days=14)  # how long "keep me signed in" lasts
# Behind TLS set PREFERRED_URL_SCHEME=https: cookies turn Secure, answers carry Strict-Transport-Security.
PREFERRED_URL_SCHEME = "http"
HSTS_MAX_AGE = 365 * 24 * 3600  # seconds browsers keep to HTTPS after seeing the header
# Reverse proxies in front of the app whose X-Forwarded-For and X-Forwarded-Proto are trusted (werkzeug's
# ProxyFix); 0 trusts none. Behind one nginx set 1, or every client shares the proxy's address.
PROXY_COUNT = 0
# The address the public reaches the portal at, e.g. https://data.jiaxing.gov.cn: absolute links in API
# answers (serializers, DCAT, the CKAN API's help and site_url) use it, never the request's Host header.
PUBLIC_BASE_URL: str | None = None
# Host names the app answers to, comma-separated (Flask's TRUSTED_HOSTS); others get 400. None: any Host.
TRUSTED_HOSTS: str | None = None

RATELIMIT_ENABLED = True
RATELIMIT_SIGN_IN = "10 per minute"  # per client address
RATELIMIT_SIGN_IN_ACCOUNT = "5 per minute;20 per hour"  # failed password guesses per account, from anywhere
RATELIMIT_SIGN_UP = "10 per hour"  # per client address
RATELIMIT_PASSWORD_RESET = "10 per hour"  # "forgot password" requests per client address
RATELIMIT_PASSWORD_RESET_ACCOUNT = "3 per hour"  # reset emails asked for one email address, from anywhere
RATELIMIT_HEADERS_ENABLED = True
# API budgets (portal/api/auth.py), shared by /api/v1 and /api/3: requests, and rows (datasets asked for).
API_RATELIMIT_ANONYMOUS = "60 per minute"  # requests per IP address without a token
API_RATELIMIT_ANONYMOUS_ROWS = "6000 per minute"  # 60 pages of 100 rows
API_RATELIMIT_TOKEN = "20000 per minute"  # requests per token holder (user)
API_RATELIMIT_TOKEN_ROWS = "30000 per minute"
API_TOKENS_PER_USER = 10  # active (unrevoked) API tokens a user may hold at once
# Behaviour monitoring (portal/accounts/usage.py), per user and token and Shanghai day (0: no threshold).
# Past an alert threshold the office sees an alert on /admin/monitoring/; past a limit the token is
# suspended until an admin lifts it. Downloads, row-API calls, rows returned, bytes downloaded.
USAGE_ALERT_DOWNLOADS = 500
USAGE_ALERT_ROW_CALLS = 20_000
USAGE_ALERT_ROWS = 2_000_000
USAGE_ALERT_BYTES = 5 * 1024**3
USAGE_LIMIT_DOWNLOADS = 5_000
USAGE_LIMIT_ROW_CALLS = 200_000
USAGE_LIMIT_ROWS = 20_000_000
USAGE_LIMIT_BYTES = 50 * 1024**3

PASSWORD_MIN_LENGTH = 10
PASSWORD_RESET_MAX_AGE = timedelta(hours=1)  # how long a reset link works (once)

# Email (portal/mail.py): through this SMTP server when set, else written as .eml files to instance/mail/.
MAIL_SERVER: str | None = None
MAIL_PORT = 25
MAIL_USE_TLS = False  # STARTTLS after connecting (port 587)
MAIL_USE_SSL = False  # TLS from the start (port 465)
MAIL_USERNAME: str | None = None
MAIL_PASSWORD: str | None = None
MAIL_SENDER = "嘉兴市公共数据开放平台 <no-reply@localhost>"  # the From of every message
MAIL_TIMEOUT = 10.0  # seconds per SMTP connection

# While the sync writes, the catalogue changes many times a second: each process rebuilds
# its facet index (catalogue/facet_index.py) at most this often, so counts may lag that much.
CATALOGUE_INDEX_REUSE_SECONDS = 15.0

SYNC_TIMEOUT = 30.0  # seconds per CKAN call
SYNC_RETRIES = 4  # tries after the first, with exponential backoff
SYNC_BACKOFF = 0.5  # seconds, doubled each retry
SYNC_SAFETY_MARGIN = timedelta(minutes=10)  # re-read this much before the watermark
SYNC_MIRROR_MAX_SIZE = 200 * 1024 * 1024
SYNC_WEB_DUMP_FOLDER = str(Path(__file__).resolve().parent.parent / "seeds")  # dumps the web may sync
SYNC_IN_BACKGROUND = True  # a sync started from the web runs in a thread; False runs it in the request
SYNC_HEALTH_TIMEOUT = 5.0  # seconds per call of the admin's sync health check (no retries)
# Datasets CKAN has not graded (no data_level extra, 未分级): "open" (published as their open condition
# says), "conditional" (only as conditional open, like level 2) or "withheld" (never published).
UNGRADED_DATASETS = "open"
# The audit log (portal/audit/) keeps rows this many days; `flask --app wsgi audit prune` removes older ones.
AUDIT_RETENTION_DAYS = 1095
# The row store (portal/rows/): a sync loads the rows of structured resources (DataStore tables, mirrored
# CSV, XLSX, JSON) so that datastore_search and /api/v1/…/rows answer from them; an export streams at most
# ROWS_EXPORT_MAX_RECORDS rows.
ROWS_LOAD_AT_SYNC = True
ROWS_EXPORT_MAX_RECORDS = 100_000

# Background jobs (portal/jobs/): with REDIS_URL set they run in `flask --app wsgi worker` processes, else
# in-process. A failed attempt is tried again after each of these delays in seconds, then fails for good.
JOB_RETRY_INTERVALS: tuple[int, ...] = (30, 120, 600)
# What `flask --app wsgi scheduler` enqueues and when: name -> {"job", "cron" (in the scheduler's local
# time zone; the deploy/ units set Asia/Shanghai), "params"}. Several schedulers may run: one leads.
JOB_SCHEDULES = {
    "ckan-sync": {"job": "sync.scheduled", "cron": "5 * * * *"},
    "ckan-sync-full": {"job": "sync.scheduled", "cron": "30 2 * * *", "params": {"full": True}},
    "metrics-rollup": {"job": "metrics.rollup", "cron": "20 * * * *"},
    "metrics-purge-events": {"job": "metrics.purge_events", "cron": "40 3 * * *"},
    # link health (catalogue/linkcheck.py): every linked resource and mirrored copy, after the nightly sync
    "catalogue-link-check": {"job": "catalogue.check_links", "cron": "0 4 * * *"},
}
# Operations (portal/ops/): this node's name in /healthz, the logs and the metrics (default: the host
# name); the client networks /metrics answers (others get 404); logs as JSON lines with a request id.
NODE_NAME: str | None = None
METRICS_ALLOWED_NETWORKS: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
LOG_JSON = True

# Fetches of URLs that come from outside (resource mirrors, the sync health check, link checks) reach
# public addresses only, CKAN_URL's host, and these: host names, ".domain" suffixes, IPs or CIDR networks
# of the city's intranet (comma-separated in the environment). See portal/outbound.py.
OUTBOUND_ALLOWED_HOSTS: tuple[str, ...] = ()

# The longest one SQL statement may run while serving a web request (0: unbounded); past it the
# request answers 503. The CLI, the sync and background jobs are not bounded. See portal/dbtimeout.py.
DB_STATEMENT_TIMEOUT_MS = 2000
# All the SQL of one web request together, counted from its start (0: unbounded): each statement may
# run the smaller of DB_STATEMENT_TIMEOUT_MS and what is left of this.
DB_REQUEST_BUDGET_MS = 4000
# Expensive searches (a catalogue search whose text match is not cached, CKAN's package_search with a
# query) running at once across all the app's processes; one more is answered 503 with Retry-After
# (0: no cap). Shared through Redis with REDIS_URL (a slot expires after SEARCH_SLOT_SECONDS if its
# process dies), else through lock files in the instance folder. See portal/searchslots.py. One keeps
# a core for the pages on a small host; raise it with the cores.
SEARCH_CONCURRENCY = 1
SEARCH_SLOT_SECONDS = 30
# How long a plain search (a few words, see searchslots.PLAIN_UNITS) waits for a slot before it is
# refused; a long query is refused at once. 0: none waits.
SEARCH_SLOT_WAIT_MS = 1000

SITE_TITLE = "嘉兴市公共数据开放平台"  # the catalogue's title in the CKAN and DCAT APIs
DCAT_PAGE_SIZE = 200  # datasets per page of /catalog.jsonld and /catalog.ttl
EVENT_RETENTION_DAYS = 400  # activity events older than this are purged by `metrics purge-events`
# Activity events (portal/activity/backlog.py) are written behind the requests, in batches: each process
# writes what waits once ACTIVITY_BATCH_SIZE events wait or ACTIVITY_FLUSH_MS after the first, and the rest
# when it exits cleanly; past ACTIVITY_BACKLOG_MAX waiting (a slow database) new events are dropped and
# counted on /metrics (portal_activity_events_dropped_total).
ACTIVITY_BATCH_SIZE = 200
ACTIVITY_FLUSH_MS = 1000
ACTIVITY_BACKLOG_MAX = 10_000

APPLICATION_MAX_SCREENSHOTS = 6
APPLICATION_IMAGE_MAX_SIZE = 5 * 1024 * 1024
APPLICATION_PDF_MAX_SIZE = 20 * 1024 * 1024
APPLICATION_IMAGE_MAX_PIXELS = 25_000_000  # decoding a thumbnail holds the whole image in memory
# Days after a quarter ends during which a team may still file an application for it. Unset: late filings
# (补报) are always accepted, marked late and counted apart from the quarter's quota; 0 refuses any late filing.
APPLICATION_LATE_GRACE_DAYS: int | None = None
# Error reports (数据纠错): a reply is due within this many working days; a screenshot is at most this big.
REPORT_REPLY_WORKING_DAYS = 5
REPORT_SCREENSHOT_MAX_BYTES = 2 * 1024**2
# Comments on datasets (feedback/comments.py): an author is new, their comments held for a moderator, while
# their account is younger than COMMENT_NEW_ACCOUNT_DAYS or they have fewer than COMMENT_TRUSTED_AFTER
# approved comments; a shown comment is hidden for review at COMMENT_HIDE_AFTER_REPORTS reports of abuse.
COMMENT_NEW_ACCOUNT_DAYS = 7
COMMENT_TRUSTED_AFTER = 1
COMMENT_HIDE_AFTER_REPORTS = 3
CONTEST_ATTACHMENT_MAX_SIZES = {
    "pdf": 20 * 1024**2,
    "pptx": 50 * 1024**2,
    "docx": 20 * 1024**2,
    "xlsx": 20 * 1024**2,
    "zip": 50 * 1024**2,
    "mp4": 60 * 1024**2,
    "png": 10 * 1024**2,
    "jpg": 10 * 1024**2,
    "webp": 10 * 1024**2,
}


def from_environment() -> dict:
    """Return the settings that the environment sets, typed; raise ConfigError for a bad value."""
    return environment.settings_from(os.environ, sys.modules[__name__])
