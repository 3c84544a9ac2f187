"""The extensions as the portal sets them up: CSRF looks exemptions up only where it checks (issue 20)."""

from __future__ import annotations

import cProfile
import pstats


def test_a_form_post_without_a_token_is_refused_and_an_exempt_view_is_not(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    assert client.post("/account/sign-in", data={"email": "a@example.com"}).status_code == 400
    assert client.post("/language", data={"lang": "en", "next": "/"}).status_code == 302  # exempt


def test_a_get_costs_the_csrf_check_few_calls(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    (hook,) = [f for f in app.before_request_funcs[None] if f.__qualname__.startswith("CSRFProtect.")]
    with app.test_request_context("/datasets/"):
        profile = cProfile.Profile()
        profile.runcall(hook)
    calls = sum(stats[1] for stats in pstats.Stats(profile).stats.values())
    assert calls < 15  # the exemption looked up first took about 37
