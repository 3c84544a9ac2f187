"""Flask extensions, created unbound and bound to the app in `create_app`."""

from __future__ import annotations

import sqlite3

from flask import abort, has_request_context, request
from flask.globals import _cv_request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase

from portal import inputs

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class _SQLAlchemy(SQLAlchemy):
    """Flask-SQLAlchemy whose `paginate` reads ?page= and ?per_page= through portal.inputs:
    its own reading takes any length of digits, and a page past 64 bits overflows the OFFSET."""

    def paginate(self, select, *, page=None, per_page=None, error_out=True, **kwargs):
        if has_request_context():
            page = _page_argument("page", page, 1, error_out)
            per_page = _page_argument("per_page", per_page, 20, error_out)
        return super().paginate(select, page=page, per_page=per_page, error_out=error_out, **kwargs)


def _page_argument(name: str, given: int | None, default: int, error_out: bool) -> int:
    if given is not None:
        return given
    try:
        return inputs.optional_number(request.args.get(name), default, minimum=1, maximum=MAX_PAGE_ARGUMENT)
    except inputs.BadInput:
        if error_out:
            abort(404)
        return default


class _CSRFProtect(CSRFProtect):
    """Flask-WTF's CSRF protection, which looks a view's exemption up only for the methods it checks:
    Flask-WTF looked it up first, on every GET too (about 35 calls per page view, issue 20)."""

    def protect(self, apply_exemptions=False):
        # the request and its app from the request's context variable: Flask's proxies cost three calls
        # at each use (issue 20); without a request, Flask-WTF's says what is wrong
        context = _cv_request.get(None)
        if context is None or context.request.method in context.app.config["WTF_CSRF_METHODS"]:
            super().protect(apply_exemptions)


MAX_PAGE_ARGUMENT = 10**12  # times at most a few hundred per page: far from OFFSET's 64 bits

# Objects stay readable after commit: a request or a sync commits and goes on using them,
# and reloading every row after each commit would double the queries.
db = _SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = _CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)


# SQLite reads the first this many bytes of the database file through a memory map instead of a read()
# per page: the row store's searches read index and table pages all over a large file (a 1,000,000-row
# table is ~300 MB), and each read() was a system call and a copy into the connection's small page cache
# (about a tenth of a search's CPU). The map is shared with the OS page cache and every connection, so
# it costs address space, not memory.
SQLITE_MMAP_BYTES = 256 * 1024 * 1024


def set_sqlite_memory_map(session, size: int = SQLITE_MMAP_BYTES) -> None:
    """Set the memory map of `session`'s SQLite connection (nothing on PostgreSQL). A sync turns it off
    for its run: it reads few pages twice, and the mapped pages of a large file count in its resident
    memory (280 of 489 MB at 100,000 datasets), as a read()'s copies in the page cache do not."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA mmap_size={int(size)}")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """Turn on foreign keys, write-ahead logging and memory-mapped reads for every SQLite connection."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: no fsync per commit
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.close()
