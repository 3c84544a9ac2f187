"""Templates' `_()` shows what Jinja's newstyle gettext shows, at a fraction of its calls (issue 20)."""

from __future__ import annotations

from calls import python_calls
from flask import render_template_string
from flask_babel import force_locale


def test_messages_are_translated_escaped_and_formatted_as_jinja_does(app):
    with app.test_request_context("/"):
        page = render_template_string('{{ _("Data catalogue") }}|{{ _("%(n)d unread notifications", n=3) }}')
        assert page == "数据目录|3 条未读通知"
        assert render_template_string('{{ _("Sign in %(x)s", x="<b>") }}') == "Sign in &lt;b&gt;"
        assert render_template_string('{{ _("100%%") }}') == "100%"  # always %-formatted, as newstyle is
        shown = app.jinja_env.from_string('{{ _("Menu").__class__.__name__ }}').render()
        assert shown == "Markup"  # Markup, so that a page's later |e leaves it alone


def test_text_templates_get_plain_text(app):
    template = app.jinja_env.from_string(
        '{% autoescape false %}{{ _("Sign in %(x)s", x="<b>") }}{% endautoescape %}'
    )
    with app.test_request_context("/"):
        assert template.render() == "Sign in <b>"


def test_a_kept_message_follows_the_locale(app):
    with app.test_request_context("/"):
        assert render_template_string('{{ _("Data catalogue") }}') == "数据目录"
        with force_locale("en"):
            assert render_template_string('{{ _("Data catalogue") }}') == "Data catalogue"
        assert render_template_string('{{ _("Data catalogue") }}') == "数据目录"


def test_sixteen_messages_cost_few_calls(app):
    template = app.jinja_env.from_string('{{ _("Data catalogue") }}' * 16)
    with app.test_request_context("/"):
        template.render()  # the request's translations found, the messages kept
        calls = python_calls(template.render)
    assert calls < 16 * 35  # Jinja's alias and newstyle gettext took about 75 calls a message, 37 at first


def test_a_full_store_of_kept_messages_starts_again_instead_of_keeping_nothing_new(app, monkeypatch):
    """A process that made many apps (as a test run does) filled the store once and then kept no
    message of a later app: every message paid the full price again."""
    from portal import i18n

    monkeypatch.setattr(i18n, "MAX_FORMATTED", 3)
    monkeypatch.setattr(i18n, "_FORMATTED", {("another app's catalogue", n, True): "x" for n in range(3)})
    test_sixteen_messages_cost_few_calls(app)
    assert len(i18n._FORMATTED) <= 3
