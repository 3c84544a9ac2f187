"""What recording a page view costs a request (issue 20): the visitor cookie as Werkzeug writes it."""

from __future__ import annotations

import cProfile
import pstats
import time

from flask import Response
from sqlalchemy import func, select
from werkzeug.http import dump_cookie

from portal.activity import backlog, events
from portal.activity.models import ActivityEvent
from portal.extensions import db


def test_the_visitor_cookie_is_the_one_set_cookie_writes():
    now = time.time()
    expected = dump_cookie(
        events.VISITOR_COOKIE, "ab" * 16, max_age=events.VISITOR_COOKIE_AGE, httponly=True, samesite="Lax"
    )
    if int(time.time()) == int(now):  # Werkzeug's expiry is the same second's
        assert events.visitor_cookie("ab" * 16, now) == expected
    later = events.visitor_cookie("cd" * 16, now + 5)
    assert "Max-Age=31536000" in later and later != events.visitor_cookie("cd" * 16, now)


def test_a_page_view_and_its_cookie_cost_few_calls(app):
    app.extensions[events.BACKLOG].interval = 600  # its writer started by the first view, then waiting
    for _ in range(2):  # the second as a busy process sees it
        with app.app_context(), app.test_request_context("/", headers={"User-Agent": "Mozilla/5.0"}):
            app.preprocess_request()
            response = Response("<p>页面</p>", mimetype="text/html")
            profile = cProfile.Profile()
            profile.runcall(events._after_request, response)
    calls = sum(stats[1] for stats in pstats.Stats(profile).stats.values())
    assert response.headers["Set-Cookie"].startswith(f"{events.VISITOR_COOKIE}=")
    backlog.drain_all()
    assert db.session.scalar(select(func.count()).select_from(ActivityEvent)) == 2  # both page views
    assert calls < 130  # Flask's proxies at each use and set_cookie took about 190
