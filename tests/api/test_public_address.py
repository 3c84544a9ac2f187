"""Absolute links in API answers come from PUBLIC_BASE_URL, never from the request's Host header;
TRUSTED_HOSTS refuses other Hosts with a 400 in the answer's own format."""

from __future__ import annotations

import pytest
from catalogue_factories import make_dataset
from rdflib import Graph

from portal import create_app
from portal.extensions import db

PUBLIC = "https://data.jiaxing.gov.cn"
EVIL = {"Host": "evil.example.com"}


@pytest.fixture
def public(make_app, app):
    make_dataset(name="bus-stops", title="嘉兴市公交站点")
    db.session.commit()
    return make_app(PUBLIC_BASE_URL=PUBLIC, SERVER_NAME=None).test_client()


def links_in(text: str) -> bool:
    return "://evil.example.com" in text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/datasets",
        "/api/v1/datasets/bus-stops",
        "/api/3/action/package_show?id=bus-stops",
        "/api/3/action/package_search",
        "/api/3/action/status_show",
        "/api/3/action/nothing_show",  # an unknown action's answer too
        "/catalog.jsonld",
        "/catalog.ttl",
    ],
)
def test_a_forged_host_never_reaches_an_api_answer(public, path):
    response = public.get(path, headers=EVIL)
    assert response.status_code in (200, 400)
    text = response.get_data(as_text=True)
    assert not links_in(text)


def test_links_are_built_on_the_public_base_url(public):
    dataset = public.get("/api/v1/datasets/bus-stops", headers=EVIL).get_json()
    assert dataset["api_url"] == f"{PUBLIC}/api/v1/datasets/bus-stops"
    status = public.get("/api/3/action/status_show", headers=EVIL).get_json()
    assert status["result"]["site_url"] == PUBLIC
    assert status["help"] == f"{PUBLIC}/api/3/action/help_show?name=status_show"
    package = public.get("/api/3/action/package_show?id=bus-stops", headers=EVIL).get_json()["result"]
    assert all(r["url"].startswith(f"{PUBLIC}/datasets/bus-stops/resources/") for r in package["resources"])


def test_the_dcat_catalogue_is_named_by_the_public_base_url(public):
    graph = Graph().parse(
        data=public.get("/catalog.ttl", headers=EVIL).get_data(as_text=True), format="turtle"
    )
    subjects = {str(s) for s in graph.subjects()}
    assert f"{PUBLIC}/" in subjects
    assert all(not links_in(s) for s in subjects)


def test_without_public_base_url_links_follow_the_host_as_before(make_app, app):
    client = make_app(SERVER_NAME=None).test_client()
    status = client.get("/api/3/action/status_show", headers={"Host": "portal.intranet:8000"}).get_json()
    assert status["result"]["site_url"] == "http://portal.intranet:8000"


def test_trusted_hosts_refuse_other_hosts_in_each_format(make_app, app):
    client = make_app(PUBLIC_BASE_URL=PUBLIC, SERVER_NAME=None, TRUSTED_HOSTS="portal.intranet").test_client()
    assert client.get("/api/v1/themes", headers={"Host": "data.jiaxing.gov.cn"}).status_code == 200
    assert client.get("/api/v1/themes", headers={"Host": "portal.intranet:8000"}).status_code == 200
    refused = client.get("/api/v1/themes", headers=EVIL)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == 400
    ckan = client.get("/api/3/action/status_show", headers=EVIL)
    assert ckan.status_code == 400 and ckan.is_json and not links_in(ckan.get_data(as_text=True))
    page = client.get("/datasets/", headers=EVIL)
    assert page.status_code == 400 and page.mimetype == "text/html"
    assert not links_in(page.get_data(as_text=True))


@pytest.mark.parametrize("base", ["data.jiaxing.gov.cn", "ftp://data.jiaxing.gov.cn", "https://x.cn/portal"])
def test_a_malformed_public_base_url_fails_at_start_up(tmp_path, base):
    with pytest.raises(ValueError, match="PUBLIC_BASE_URL"):
        create_app({"PUBLIC_BASE_URL": base, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})


def test_each_host_and_scheme_is_named_in_its_own_answers_however_many_come(make_app, app, monkeypatch):
    """The address a CKAN answer names in `help` is kept per host, scheme and script root (api/ckan.py
    `_site_url`), up to a bound that starts it again when made-up hosts fill it: never another request's."""
    from portal.api import ckan

    monkeypatch.setattr(ckan, "MAX_SITE_URLS", 2)
    client = make_app(SERVER_NAME=None).test_client()
    bindings = [
        ("a.intranet", "http", ""),
        ("a.intranet", "https", ""),
        ("b.intranet:8000", "http", ""),
        ("a.intranet", "http", "/portal"),
    ]
    for _ in range(2):
        for host, scheme, root in bindings:
            base = f"{scheme}://{host}{root}"  # its Host, scheme and SCRIPT_NAME
            answer = client.get("/api/3/action/status_show", base_url=base).get_json()
            assert answer["result"]["site_url"] == f"{scheme}://{host}{root}"
            assert answer["help"] == f"{scheme}://{host}{root}/api/3/action/help_show?name=status_show"
