"""Parts of base.html kept once rendered (portal/layout.py): the same bytes, built once per language."""

from __future__ import annotations

import pytest

PAGES = ["/", "/applications/", "/contest/", "/api/v1/", "/no-such-page"]


def views(app, language: str) -> dict[str, bytes]:
    client = app.test_client()
    client.set_cookie("lang", language)
    return {path: client.get(path).get_data() for path in PAGES}


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_pages_are_the_same_bytes_as_rendered_each_time(app, language):
    app.jinja_env.auto_reload = True  # as in debug: every part rendered every time
    rendered = views(app, language)
    app.jinja_env.auto_reload = False
    assert views(app, language) == rendered
    assert views(app, language) == rendered  # and once the parts are kept


def test_the_header_marks_the_section_of_each_page(client):
    client.get("/")  # the home page's header is kept first
    applications = client.get("/applications/").get_data(as_text=True)
    assert 'href="/applications/" aria-current="page"' in applications
    home = client.get("/").get_data(as_text=True)
    assert 'aria-current="page"' not in home.split("</nav>")[0]


def test_each_language_has_its_own_parts(client):
    assert "数据目录" in client.get("/").get_data(as_text=True)
    client.set_cookie("lang", "en")
    page = client.get("/").get_data(as_text=True)
    assert "Data catalogue" in page and "数据目录" not in page


def test_kept_parts_build_no_links_again(app, client):
    built: list[str] = []
    url_for = app.jinja_env.globals["url_for"]

    def counting(endpoint, **values):
        built.append(endpoint)
        return url_for(endpoint, **values)

    app.jinja_env.globals["url_for"] = counting
    client.get("/no-such-page")
    first = len(built)
    built.clear()
    client.get("/no-such-page")
    assert first - len(built) >= 12  # stylesheet, icon, brand, five sections, sign-in links, footer
    assert not {"static", "catalogue.index", "accounts.sign_up", "api.openapi_document"} & set(built)
    assert {"site.set_language", "site.set_text_size"} <= set(built)  # the switches' forms, not kept
