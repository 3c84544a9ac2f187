"""Fixtures for every area: a migrated database shared by the session and emptied after each test.

The database is SQLite in a temporary folder, or the PostgreSQL database that
DATABASE_URL names (as `.ci/run` sets it). The schema comes from the Alembic
migrations, never from create_all. Each area's own fixtures live in tests/<area>/conftest.py;
factories are plain functions in importable modules (tests/factories.py, tests/<area>_factories.py).
"""

from __future__ import annotations

import contextvars
import os
import uuid

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from testconfig import DATABASE_URL, ON_POSTGRES, app_config, empty_tables

from portal import create_app
from portal.activity import backlog
from portal.catalogue import search_cache
from portal.extensions import db
from portal.seeding import load_regions


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """Migrate an empty database to head once for the whole session."""
    url = _worker_database() if ON_POSTGRES else f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    app = create_app(app_config(url, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        from flask_migrate import upgrade

        if ON_POSTGRES:
            _reset_postgres_schema()
        upgrade(revision="heads")
        db.engine.dispose()
    return url


def _worker_database() -> str:
    """Under pytest-xdist each worker gets its own PostgreSQL database beside DATABASE_URL's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return DATABASE_URL
    base = make_url(DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)



def _reset_postgres_schema() -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build apps on the shared database; extra settings override the test defaults."""
    apps = []

    def factory(**overrides):
        app = create_app({**app_config(database_url, tmp_path / "instance"), **overrides})
        app.test_client_class = IsolatedClient
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        load_regions()
        db.session.commit()
        yield app
        db.session.rollback()
        backlog.drain_all()  # events written behind a request land before the tables are emptied
        empty_tables()
        search_cache.clear()


class IsolatedClient(FlaskClient):
    """A test client whose requests run in their own app context, as in production.

    The test itself holds an app context for database access; without this, requests
    would share its `g` (the signed-in user, the locale) and its database session. After each
    request the activity events it recorded are written, so that a test reads them at once.
    """

    drains_activity = True  # False: leave the events to the backlog's writer, as in production

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if self.drains_activity:
            backlog.drain_all()  # the activity events it recorded are in the database, as a moment later
        return response


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login(client):
    """Sign the test client in as a new user of `role`; return the user."""
    from factories import make_user

    def sign_in(role: str = "developer", **kwargs):
        user = make_user(role=role, **kwargs)
        db.session.commit()
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return user

    return sign_in


@pytest.fixture(scope="session")
def s3_endpoint():
    """An S3-protocol server (moto) on 127.0.0.1 for the whole session: "127.0.0.1:<port>"."""
    from s3server import running_s3_server

    with running_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def empty_database_url(tmp_path):
    """Yield the URL of a brand-new empty database, dropped afterwards."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    base = make_url(DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{base.database}_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


# -- Redis: a database of the jobs and ops tests' own per pytest-xdist worker -------------------------
REDIS_HOST = "redis://127.0.0.1:6379"


def _redis_database() -> int:
    """9 for a lone run; one database per pytest-xdist worker above it, so their queues stay apart."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return 9 + int(worker.removeprefix("gw") or 0) % 6


@pytest.fixture
def redis_url():
    """A Redis database for this test (jobs, queues, leases), emptied before and after it."""
    import redis

    url = f"{REDIS_HOST}/{_redis_database()}"
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    yield url
    conn.flushdb()
    conn.close()


@pytest.fixture
def redis_conn(redis_url):
    from portal.jobs import queue

    return queue.connection(redis_url)
