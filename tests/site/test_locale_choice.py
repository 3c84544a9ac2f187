"""The language and text size read from the request's cookies (portal/site/views.py)."""

from __future__ import annotations

from calls import python_calls

from portal.site.views import large_text, select_locale


def test_the_language_cookie_chooses_a_known_language(app):
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert select_locale() == "en"
    for cookie in ("lang=xx", "lang=", "other=en"):
        with app.test_request_context("/", headers={"Cookie": cookie}):
            assert select_locale() == app.config["BABEL_DEFAULT_LOCALE"]


def test_outside_a_request_the_default_language_and_text_size(app):
    with app.app_context():
        assert select_locale() == app.config["BABEL_DEFAULT_LOCALE"]
        assert large_text() is False


def test_the_text_size_cookie_asks_for_large_text(app):
    with app.test_request_context("/", headers={"Cookie": "text_size=large"}):
        assert large_text() is True
    with app.test_request_context("/", headers={"Cookie": "text_size=huge"}):
        assert large_text() is False


def test_the_choices_cost_few_calls(app):
    with app.test_request_context("/"):
        assert python_calls(select_locale) <= 10  # 20 through Flask's proxies
        assert python_calls(large_text) <= 8  # 12 through them
