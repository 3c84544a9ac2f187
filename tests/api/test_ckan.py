"""The CKAN-compatible Action API, read with `ckanapi` over real HTTP on 127.0.0.1.

Data comes in either from a dump (`publish`) or from the fake CKAN through the real sync, and
goes out through /api/3/action as `ckanapi` and ckanext-harvest's CKAN harvester read it.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import ckanapi
import pytest
import requests
from api_factories import package, publish, withdraw
from ckanserver import FakeCkan, serve
from factories import make_user
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal.accounts import tokens
from portal.api import ckan_search
from portal.catalogue.models import Dataset
from portal.extensions import db
from portal.sync import remote, run

SAMPLES = Path(__file__).resolve().parents[1] / "ckan_samples"  # captured from a real CKAN 2.12


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text("utf-8"))


@pytest.fixture
def portal_url(app):
    with serve(app) as url:
        yield url


@pytest.fixture
def portal(portal_url):
    return ckanapi.RemoteCKAN(portal_url, user_agent="ckanapi-test")


def month(m: int) -> str:
    return f"2025-{m:02d}-01T00:00:00.000001"


@pytest.fixture
def catalogue(app, tmp_path):
    publish(
        tmp_path,
        [
            package(1, title="海宁市公交站点", formats=("CSV", "XLSX"), modified=month(1)),
            package(2, title="嘉兴市交通运输行政许可", org="jx-jtysj", tags=("许可",), formats=("JSON",),
                    modified=month(2)),
            package(3, title="南湖区医疗机构名录", org="nh-wjj", groups=("ylws",), tags=("医院",),
                    condition="有条件开放", modified=month(3)),
            package(4, title="海宁市停车场", tags=("停车",), formats=("API",), modified=month(4)),
        ],
    )  # fmt: skip


def names(results: list[dict]) -> list[str]:
    return [r["name"] for r in results]


def test_status_show_answers_in_ckans_envelope(portal_url, app):
    response = requests.get(f"{portal_url}/api/3/action/status_show", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=utf-8"
    body = response.json()
    assert list(body) == ["help", "success", "result"]
    # Links name the configured server (SERVER_NAME, "localhost" in the tests), not the Host requested.
    assert body["help"] == "http://localhost/api/3/action/help_show?name=status_show"
    assert set(body["result"]) == set(sample("status_show.json")["result"])
    assert body["result"]["site_url"] == "http://localhost"


def test_package_show_has_ckans_package_shape(portal, catalogue):
    shown = portal.action.package_show(id="api-dataset-001")
    expected = sample("package_show.json")["result"]
    assert set(shown) == set(expected) - {"creator_user_id"}  # we do not know CKAN's users
    assert set(shown["organization"]) == set(expected["organization"]) - {"created"}
    assert set(shown["resources"][0]) == set(expected["resources"][0])
    assert set(shown["tags"][0]) == set(expected["tags"][0])
    assert set(shown["groups"][0]) == set(expected["groups"][0])
    assert (shown["private"], shown["state"], shown["num_resources"], shown["num_tags"]) == (
        False,
        "active",
        2,
        2,
    )
    assert shown["metadata_modified"] == "2025-01-01T00:00:00.000001"  # UTC without a time zone, as CKAN
    assert all(uuid.UUID(r["id"]) for r in shown["resources"])
    assert shown["resources"][0]["url"].endswith(
        f"/datasets/api-dataset-001/resources/{shown['resources'][0]['id']}/download"
    )
    assert {"key": "open_condition", "value": "无条件开放"} in shown["extras"]


def test_package_show_finds_a_dataset_by_id_or_name(portal, catalogue):
    by_id = portal.action.package_show(id=package(2)["id"])
    by_name = portal.call_action("package_show", {"name_or_id": "api-dataset-002"})
    assert by_id == by_name
    assert by_id["organization"]["name"] == "jx-jtysj"


def test_unknown_package_is_ckans_not_found(portal, portal_url, catalogue):
    with pytest.raises(ckanapi.NotFound):
        portal.action.package_show(id="no-such-dataset")
    response = requests.get(f"{portal_url}/api/3/action/package_show?id=no-such-dataset", timeout=5)
    expected = sample("error_not_found.json")
    assert response.status_code == 404
    body = response.json()
    assert list(body) == list(expected)
    assert body["error"] == expected["error"]


def test_withdrawn_dataset_is_not_found_listed_or_searched(portal, catalogue):
    withdraw("api-dataset-003")
    with pytest.raises(ckanapi.NotFound):
        portal.action.package_show(id="api-dataset-003")
    assert "api-dataset-003" not in portal.action.package_list()
    assert "api-dataset-003" not in names(portal.action.package_search(rows=100)["results"])


def test_unknown_action_answers_ckans_bad_request(portal, portal_url, app):
    response = requests.post(f"{portal_url}/api/3/action/package_create", json={"name": "x"}, timeout=5)
    assert response.status_code == 400
    assert response.json() == "Bad request - Action name not known: package_create"
    with pytest.raises(ckanapi.CKANAPIError):
        portal.action.package_delete(id="x")


def test_bad_sort_is_ckans_search_query_error(portal, portal_url, catalogue):
    with pytest.raises(ckanapi.SearchQueryError):
        portal.action.package_search(sort="bogus")
    response = requests.get(f"{portal_url}/api/3/action/package_search?sort=bogus", timeout=5)
    assert response.status_code == 400
    assert response.json()["error"] == sample("error_search.json")["error"]


@pytest.mark.parametrize("params", [{"rows": -1}, {"rows": "many"}, {"start": -5}])
def test_bad_paging_is_a_validation_error(portal, catalogue, params):
    with pytest.raises(ckanapi.ValidationError):
        portal.action.package_search(**params)


def test_unsupported_query_is_a_search_error(portal, catalogue):
    with pytest.raises(ckanapi.SearchError):
        portal.action.package_search(fq="metadata_modified:[yesterday TO *]")
    with pytest.raises(ckanapi.SearchError):
        portal.action.package_search(q="(unbalanced")


SOLR_BITS = [
    "organization:", "groups:", "tags:", "res_format:", "metadata_modified:", "metadata_created:", "id:",
    "name:", "extras_spatial:", "open_condition:", "text:", "title:", "[", "]", "{", "}", "(", ")", "TO", "*",
    "*:*", "NOW-1DAY", "NOW/DAY", "2025-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "OR", "AND", "NOT",
    "&&", "||", "-", "+", "!", '"', "\\", ":", "交通", "hn-jtysj", "许可",
]  # fmt: skip
solr_text = st.lists(st.sampled_from(SOLR_BITS) | st.text(max_size=4), max_size=8).map(" ".join)


def test_any_query_gets_an_answer_never_a_crash(client, catalogue):
    @settings(max_examples=150, deadline=None, database=None)
    @given(
        q=solr_text,
        fq=solr_text,
        sort=st.sampled_from(["id asc", "name desc", "score desc"]) | st.text(max_size=12),
    )
    def run(q, fq, sort):
        response = client.post(
            "/api/3/action/package_search", json={"q": q, "fq": fq, "sort": sort, "rows": 2}
        )
        assert response.status_code in (200, 400, 409), response.get_data(as_text=True)[:500]
        body = response.get_json()
        if isinstance(body, str):  # CKAN's answer to a request it cannot even read
            assert (response.status_code, body.split(" - ")[0]) == (400, "Bad request")
        else:
            assert body["success"] is (response.status_code == 200)

    run()


def test_search_gives_10_rows_by_default_and_caps_rows(portal, app, tmp_path, monkeypatch):
    publish(tmp_path, [package(n) for n in range(1, 13)])
    assert len(portal.action.package_search()["results"]) == 10
    monkeypatch.setattr(ckan_search, "ROWS_MAX", 5)
    page = portal.action.package_search(rows=1000)
    assert (page["count"], len(page["results"])) == (12, 5)


def test_a_harvester_pages_by_id_until_an_empty_page(portal, app, tmp_path):
    publish(tmp_path, [package(n, modified="2025-05-05T05:05:05.000000") for n in range(1, 231)])
    harvested, start = [], 0
    while True:  # ckanext-harvest's CKAN harvester: rows=100, sort=id asc, start until empty
        page = portal.action.package_search(rows=100, start=start, sort="id asc")["results"]
        if not page:
            break
        harvested.extend(page)
        start += 100
    ids = [p["id"] for p in harvested]
    assert len(ids) == len(set(ids)) == 230
    assert ids == sorted(ids)
    assert all(p["tags"] and "name" in p["tags"][0] for p in harvested)
    assert all(p["name"].isascii() for p in harvested)


@pytest.mark.parametrize(
    "fq, expected",
    [
        ("organization:jx-jtysj", {2}),
        ("groups:ylws", {3}),
        ("tags:站点", {1}),
        ('tags:"许可"', {2}),
        ("res_format:JSON", {2}),
        ("organization:jx-jtysj OR organization:nh-wjj", {2, 3}),
        ("organization:(jx-jtysj OR nh-wjj)", {2, 3}),
        ("-organization:hn-jtysj", {2, 3}),
        ("metadata_modified:[2025-02-01T00:00:00Z TO *]", {2, 3, 4}),
        ("metadata_modified:[2025-02-01T00:00:00Z TO 2025-03-01T00:00:00.000001Z]", {2, 3}),
        ("metadata_modified:{2025-02-01T00:00:00.000001Z TO *}", {3, 4}),
        ("organization:hn-jtysj metadata_modified:[2025-03-01T00:00:00Z TO *]", {4}),
        ("open_condition:有条件开放", {3}),
        ("extras_update_frequency:每月", {1, 2, 3, 4}),
        ("capacity:public +name:api-dataset-004", {4}),
    ],
)
def test_fq_filters_like_solr(portal, catalogue, fq, expected):
    results = portal.action.package_search(fq=fq, rows=100)["results"]
    assert {int(r["name"].rsplit("-", 1)[1]) for r in results} == expected


def test_fq_list_narrows_as_fq_does(portal, catalogue):
    results = portal.action.package_search(fq_list=["groups:jtcx", "organization:hn-jtysj"], rows=100)[
        "results"
    ]
    assert set(names(results)) == {"api-dataset-001", "api-dataset-004"}


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("metadata_modified asc", [1, 2, 3, 4]),
        ("metadata_modified desc", [4, 3, 2, 1]),
        ("name desc", [4, 3, 2, 1]),
        ("name asc", [1, 2, 3, 4]),
        ("id asc", [1, 2, 3, 4]),
        ("score desc, metadata_modified desc", [4, 3, 2, 1]),
    ],
)
def test_sorts(portal, catalogue, sort, expected):
    page = portal.action.package_search(sort=sort)
    assert [int(n.rsplit("-", 1)[1]) for n in names(page["results"])] == expected
    assert page["sort"] == sort


def test_free_text_ranks_title_matches_first(portal, catalogue):
    page = portal.action.package_search(q="交通")
    assert names(page["results"])[0] == "api-dataset-002"  # 交通运输 in the title
    assert set(names(portal.action.package_search(q="停车")["results"])) == {"api-dataset-004"}


def test_facets_count_what_matched(portal, catalogue):
    page = portal.action.package_search(**{"facet.field": '["organization", "groups", "res_format"]'})
    assert page["facets"]["organization"] == {"hn-jtysj": 2, "jx-jtysj": 1, "nh-wjj": 1}
    assert page["facets"]["groups"] == {"jtcx": 3, "ylws": 1}
    assert page["facets"]["res_format"] == {"CSV": 2, "API": 1, "JSON": 1, "XLSX": 1}
    titles = {i["name"]: i["display_name"] for i in page["search_facets"]["organization"]["items"]}
    assert titles["nh-wjj"] == "南湖区卫生健康局"


def test_package_list_pages_by_name(portal, catalogue):
    assert portal.action.package_list() == [f"api-dataset-00{n}" for n in range(1, 5)]
    assert portal.action.package_list(limit=2, offset=1) == ["api-dataset-002", "api-dataset-003"]


def test_organization_list_gives_names_or_all_fields_with_region_code(portal, catalogue):
    assert sorted(portal.action.organization_list()) == ["hn-jtysj", "jx-jtysj", "nh-wjj"]
    orgs = portal.action.organization_list(
        all_fields=True, include_extras=True, sort="name asc", limit=2, offset=1
    )
    assert [o["name"] for o in orgs] == ["jx-jtysj", "nh-wjj"]
    assert orgs[1]["package_count"] == 1
    assert orgs[1]["extras"] == [{"key": "region_code", "value": "330402"}]
    assert set(orgs[0]) == set(sample("organization_list.json")["result"][0]) - {"created"}


def test_group_list_gives_names_or_all_fields(portal, catalogue):
    assert sorted(portal.action.group_list()) == ["jtcx", "ylws"]
    groups = {g["name"]: g for g in portal.action.group_list(all_fields=True)}
    assert (groups["jtcx"]["title"], groups["jtcx"]["package_count"]) == ("交通出行", 3)
    assert set(groups["jtcx"]) == set(sample("group_list.json")["result"][0]) - {"created"}


def test_get_post_json_and_post_form_give_the_same_answer(portal_url, catalogue):
    url = f"{portal_url}/api/3/action/package_search"
    params = {"fq": "organization:hn-jtysj", "rows": "1", "sort": "name asc"}
    answers = [
        requests.get(url, params=params, timeout=5).json(),
        requests.post(url, json=params, timeout=5).json(),
        requests.post(url, data=params, timeout=5).json(),
        requests.get(url.replace("/api/3/", "/api/"), params=params, timeout=5).json(),
    ]
    assert all(a == answers[0] for a in answers)
    assert names(answers[0]["result"]["results"]) == ["api-dataset-001"]


def test_extras_leave_out_ckans_core_keys(portal, catalogue):
    dataset = db.session.scalar(select(Dataset).where(Dataset.name == "api-dataset-001"))
    dataset.extras = {"url": "https://elsewhere.example/", "name": "冲突", "数据来源": "海宁市交通运输局"}
    db.session.commit()
    extras = portal.action.package_show(id="api-dataset-001")["extras"]
    assert extras == [
        {"key": "open_condition", "value": "无条件开放"},
        {"key": "数据来源", "value": "海宁市交通运输局"},
    ]


def test_an_invalid_token_is_refused(portal_url, catalogue):
    user = make_user()
    token, plain = tokens.create_token(user, "令牌")
    tokens.revoke(token, by=user)
    db.session.commit()
    with pytest.raises(ckanapi.NotAuthorized):
        ckanapi.RemoteCKAN(portal_url, apikey=plain).action.package_list()


def test_a_valid_token_is_accepted_as_ckanapi_sends_it(portal_url, catalogue):
    user = make_user()
    _, plain = tokens.create_token(user, "令牌")
    db.session.commit()
    assert len(ckanapi.RemoteCKAN(portal_url, apikey=plain).action.package_list()) == 4


# -- round trip: CKAN -> sync -> portal -> CKAN-compatible API ---------------------------------

ORGANIZATIONS = [
    {"id": "5f1e0c6a-3b1d-4c55-9a0e-000000000001", "name": "haining-jtj", "title": "海宁市交通运输局",
     "extras": [{"key": "region_code", "value": "330481"}]},
    {"id": "5f1e0c6a-3b1d-4c55-9a0e-000000000002", "name": "jx-wjw", "title": "嘉兴市卫生健康委员会"},
]  # fmt: skip
THEMES = [
    {"id": "9a0b7c6d-1e2f-4a3b-8c4d-000000000001", "name": "jtcx", "title": "交通出行"},
    {"id": "9a0b7c6d-1e2f-4a3b-8c4d-000000000002", "name": "ylws", "title": "医疗卫生"},
]
CORE = ("id", "name", "title", "notes", "license_id", "license_title", "author", "maintainer",
        "metadata_created", "metadata_modified")  # fmt: skip


def original(n: int) -> dict:
    return {
        "id": str(uuid.UUID(int=n, version=4)),
        "name": f"round-trip-{n:03d}",
        "title": f"往返数据集{n}：“引号”与<尖括号>",
        "notes": f"说明{n}",
        "author": "数据管理处",
        "maintainer": "数据管理处",
        "license_id": "cc-by" if n % 2 else "other-open",
        "metadata_created": f"2024-06-{n % 28 + 1:02d}T01:02:03.456789",
        "metadata_modified": f"2025-07-{n % 28 + 1:02d}T04:05:06.{n:06d}",
        "organization": ORGANIZATIONS[n % 2]["name"],
        "groups": [{"name": THEMES[n % 2]["name"]}],
        "tags": [{"name": "往返"}, {"name": f"标签{n}"}],
        "extras": [
            {"key": "open_condition", "value": "有条件开放" if n % 3 == 0 else "无条件开放"},
            {"key": "spatial_coverage", "value": "嘉兴市"},
        ],
        "resources": [
            {"id": str(uuid.UUID(int=1000 + n * 10 + i, version=4)), "name": f"资源{i}", "format": fmt,
             "description": f"{fmt} 文件", "size": 100 * (i + 1), "url": f"https://data.example/{n}/{i}"}
            for i, fmt in enumerate(("CSV", "XLSX"))
        ],
    }  # fmt: skip


@pytest.fixture
def fake() -> FakeCkan:
    fake = FakeCkan()
    for org in ORGANIZATIONS:
        fake.add_organization(org)
    for theme in THEMES:
        fake.add_group(theme)
    for n in range(1, 13):
        fake.add_package(original(n))
    return fake


def core(pkg: dict) -> dict:
    return {
        **{key: pkg.get(key) for key in CORE},
        "organization": {k: pkg["organization"][k] for k in ("id", "name", "title")},
        "groups": sorted((g["id"], g["name"], g["title"]) for g in pkg["groups"]),
        "tags": sorted(t["name"] for t in pkg["tags"]),
        "extras": sorted((e["key"], e["value"]) for e in pkg["extras"]),
        "resources": [
            (r["id"], r["name"], r["format"], r["description"], r["size"]) for r in pkg["resources"]
        ],
    }


def test_a_catalogue_synced_in_reads_back_out_the_same(app, fake, portal):
    with serve(fake) as ckan_url:
        result = run.sync(
            remote.CkanSource(ckan_url, timeout=5, retries=0, backoff=0), run.Settings(full=True)
        )
    assert (result.status, result.created) == ("succeeded", 12)
    harvested = portal.action.package_search(rows=100, sort="id asc")["results"]
    assert len(harvested) == 12
    for pkg in harvested:
        assert core(pkg) == core(fake.get_package(pkg["id"]))
        assert portal.action.package_show(id=pkg["name"]) == pkg


def test_the_portals_own_sync_client_reads_this_api(app, catalogue, portal_url):
    """Our API as a source for `portal.sync`: package_search paging, organization_list, package_list."""
    source = remote.CkanSource(portal_url, timeout=5, retries=0, backoff=0)
    assert source.count(None) == 4
    assert {p["name"] for p in source.packages(None)} == {f"api-dataset-00{n}" for n in range(1, 5)}
    assert source.package_names() == {f"api-dataset-00{n}" for n in range(1, 5)}
    assert source.organizations()["nh-wjj"]["extras"] == [{"key": "region_code", "value": "330402"}]
    assert source.counts_by_organization() == {"hn-jtysj": 2, "jx-jtysj": 1, "nh-wjj": 1}
