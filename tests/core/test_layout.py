"""base.html rendered cheaply (portal/layout.py): kept parts, and the anonymous visitor's shell, send the
bytes the full template renders each time."""

from __future__ import annotations

import re

import pytest
from flask import flash, redirect, render_template
from jinja2 import DictLoader
from markupsafe import Markup, escape

from portal import layout
from portal.extensions import db

PAGES = ["/", "/applications/", "/contest/", "/api/v1/", "/no-such-page", "/stats/", "/datasets/"]
MINIMAL = (
    '{% extends "base.html" %}{% block title %}{{ title }}{% endblock %}'
    "{% block content %}<h1>{{ title }}</h1>"
    "{% for item in items %}<li>{{ item }}</li>{% endfor %}{% endblock %}"
)
QUERY = "/bench/minimal?a=1&b=<x>\"&c='中'"  # the switches' next: escaped, with its query


def add_routes(app) -> None:
    template = app.jinja_env.from_string(MINIMAL)

    @app.get("/bench/minimal")
    def minimal():
        return render_template(template, title="<基准>", items=["数据集 1", "<b>2</b>"])

    @app.get("/bench/flash")
    def flashing():
        flash("a <b>message</b> for you", "info")
        return redirect("/bench/minimal?from=flash")


def views(app, language: str, size: str, user=None) -> dict[str, bytes]:
    """Each page as this visitor sees it (the CSRF token, signed with the time, left out)."""
    seen = {}
    for path in [*PAGES, "/bench/minimal", QUERY, "/bench/flash"]:
        client = app.test_client()
        client.set_cookie("lang", language)
        if size == "large":
            client.set_cookie("text_size", "large")
        if user is not None:
            with client.session_transaction() as session:
                session["_user_id"], session["_fresh"] = user.get_id(), True
        page = client.get(path, follow_redirects=True).get_data(as_text=True)
        seen[path] = re.sub(r'(name="csrf_token" value=)"[^"]+"', r"\1", page)
    return seen


@pytest.mark.parametrize("who", ["anonymous", "developer", "admin"])
@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("size", ["normal", "large"])
def test_pages_are_the_same_bytes_as_rendered_each_time(app, who, language, size):
    from factories import make_user

    add_routes(app)
    user = None if who == "anonymous" else make_user(role=who)
    db.session.commit()
    app.jinja_env.auto_reload = True  # as in debug: no shell, every part rendered every time
    rendered = views(app, language, size, user)
    app.jinja_env.auto_reload = False
    assert views(app, language, size, user) == rendered  # shells and parts made
    assert views(app, language, size, user) == rendered  # and once they are kept
    if who == "anonymous":
        assert app.jinja_env.layout_shells.kept  # the anonymous pages came from shells
    else:
        assert not app.jinja_env.layout_shells.kept  # a signed-in visitor's page never makes one
    minimal = rendered["/bench/minimal"]
    assert "&lt;基准&gt; · " in minimal and "<li>&lt;b&gt;2&lt;/b&gt;</li>" in minimal
    assert minimal.count('name="next" value="/bench/minimal"') == 2
    query = 'name="next" value="/bench/minimal?a=1&amp;b=&lt;x&gt;&#34;&amp;c=&#39;中&#39;"'
    assert rendered[QUERY].count(query) == 2
    flashed = rendered["/bench/flash"]
    assert (
        flashed.count('value="/bench/minimal?from=flash"') == 2
        and "a &lt;b&gt;message&lt;/b&gt; for you" in flashed
    )
    assert ('class="text-large"' in minimal) == (size == "large")
    assert ('lang="zh-CN"' in minimal.split(">", 2)[1]) == (language == "zh_CN")
    if user is not None:
        assert user.display_name in minimal and 'name="csrf_token"' in minimal
    else:
        assert 'name="csrf_token"' not in minimal and "/account/sign-in" in minimal


def test_the_header_marks_the_section_of_each_page(client):
    client.get("/")  # the home page's header is kept first
    applications = client.get("/applications/").get_data(as_text=True)
    assert 'href="/applications/" aria-current="page"' in applications
    home = client.get("/").get_data(as_text=True)
    assert 'aria-current="page"' not in home.split("</nav>")[0]
    assert 'href="/datasets/" aria-current="page"' in client.get("/datasets/").get_data(as_text=True)


def test_each_language_has_its_own_parts(client):
    assert "数据目录" in client.get("/").get_data(as_text=True)
    client.set_cookie("lang", "en")
    page = client.get("/").get_data(as_text=True)
    assert "Data catalogue" in page and "数据目录" not in page


def test_a_flashed_message_is_shown_once_to_an_anonymous_visitor(app, client):
    add_routes(app)
    client.get("/bench/minimal")  # its shell is kept
    page = client.get("/bench/flash", follow_redirects=True).get_data(as_text=True)
    assert page.count("a &lt;b&gt;message&lt;/b&gt; for you") == 1
    assert "message" not in client.get("/bench/minimal?from=flash").get_data(as_text=True)


def test_kept_parts_and_shells_build_no_links_again(app, client, login):
    built: list[str] = []
    url_for = app.jinja_env.globals["url_for"]

    def counting(endpoint, **values):
        built.append(endpoint)
        return url_for(endpoint, **values)

    app.jinja_env.globals["url_for"] = counting  # seen by templates loaded before, as Jinja's globals are
    client.get("/no-such-page")
    first = len(built)
    built.clear()
    client.get("/no-such-page")
    assert first - len(built) >= 14  # stylesheet, icon, brand, five sections, sign-in, switches, footer
    assert not {"static", "catalogue.index", "site.set_language", "api.openapi_document"} & set(built)
    login()  # the full template: the switches' forms are built, the parts kept
    client.get("/no-such-page")
    built.clear()
    client.get("/no-such-page")
    assert {"site.set_language", "site.set_text_size", "accounts.sign_out"} <= set(built)
    assert not {"static", "catalogue.index", "api.openapi_document"} & set(built)


def test_a_shell_is_made_once_per_language_size_and_section(app):
    add_routes(app)
    client = app.test_client()
    for path in ("/bench/minimal", QUERY, "/bench/minimal?page=2"):
        client.get(path)
    assert len(app.jinja_env.layout_shells.kept) == 1  # one section: the query is the slot's alone
    client.get("/applications/")
    client.set_cookie("text_size", "large")
    client.get("/bench/minimal")
    client.set_cookie("lang", "en")
    client.get("/bench/minimal")
    assert len(app.jinja_env.layout_shells.kept) == 4


def test_a_shell_refuses_what_may_differ_between_visitors(app):
    """A layout that showed, outside its slot, something of the request or a name not known to be the
    same for every anonymous visitor would show one visitor's to the next: making its shell fails."""

    @app.get("/shell")
    def page():
        return render_template(
            app.jinja_env.from_string('{% extends "base.html" %}{% block content %}{% endblock %}')
        )

    for base, refused in [
        ('<p>{{ request.args.get("q") }}</p>{% block content %}{% endblock %}', "request.args"),
        ("<p>{{ visitor_name }}</p>{% block content %}{% endblock %}", "visitor_name"),
    ]:
        app.jinja_env.loader = DictLoader({"base.html": base})
        app.jinja_env.cache.clear()
        with pytest.raises(layout.LayoutShellError, match=re.escape(refused)):
            app.test_client().get("/shell")
        assert not app.jinja_env.layout_shells.kept
    app.jinja_env.loader = DictLoader(
        {"base.html": "<p>{{ _('Menu') }}</p>{% block content %}{% endblock %}"}
    )
    app.jinja_env.cache.clear()
    assert app.test_client().get("/shell").get_data(as_text=True) == "<p>菜单</p>"  # what it may read
    assert app.jinja_env.layout_shells.kept


def test_contexts_hold_the_globals_as_jinja_copies_them(app):
    template = app.jinja_env.from_string("{{ x }}")
    app.jinja_env.globals["added_later"] = 1
    context = template.new_context({"x": 2, "url_for": "mine"})
    expected = {**app.jinja_env.globals, "x": 2, "url_for": "mine"}
    assert dict(context.parent) == expected and context.globals_keys == set(app.jinja_env.globals)
    assert app.jinja_env.from_string("{% set y = 3 %}{{ y }}", globals={"g": 1}).render() == "3"
    assert app.jinja_env.from_string("{{ g }}", globals={"g": 1}).render() == "1"  # a template's own


class _Html:
    def __html__(self) -> str:
        return "<i>kept</i>"


class _Text(str):
    """A subclass of str: escaped through markupsafe's own path."""


class _Safe(Markup):
    """A subclass of Markup: made a plain Markup by markupsafe's own path."""


@pytest.mark.parametrize(
    "value",
    [
        "<a href='x'>&\"中</a>",
        "",
        Markup("<b>safe</b>"),
        _Safe("<s>"),
        _Text("<t>"),
        _Html(),
        5,
        2.5,
        None,
        ["<l>"],
    ],
)
def test_templates_escape_as_markupsafe_does(app, value):
    made = layout.template_escape(value)
    assert made == escape(value) and type(made) is Markup
    template = app.jinja_env.from_string("{{ value }}")
    assert template.root_render_func.__globals__["escape"] is layout.template_escape
    assert template.render(value=value) == str(escape(value))
