"""The fake CKAN answers as the captured CKAN 2.12 does, to ckanapi and to plain HTTP clients."""

from __future__ import annotations

import importlib.util
import json
import re
import time
import uuid
from pathlib import Path

import ckanapi
import pytest
import requests
from ckanserver import FakeCkan, serve

SAMPLES = Path(__file__).resolve().parents[1] / "ckan_samples"  # captured from a real CKAN 2.12
GENERATOR = Path(__file__).resolve().parents[2] / "bench" / "ckan_generator.py"
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}")
TOILETS_RESOURCE = "7f4d56cb-a3c2-4046-8cdc-b5e5132ef7bd"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def make_package(name: str, **fields) -> dict:
    return {"name": name, "title": f"测试数据集 {name}", "notes": "用于测试的数据集。", **fields}


@pytest.fixture
def fake() -> FakeCkan:
    fake = FakeCkan()
    for org in sample("organization_list")["result"]:
        fake.add_organization(org)
    for group in sample("group_list")["result"]:
        fake.add_group(group)
    fake.add_package(sample("package_show")["result"])
    for pkg in sample("package_search")["result"]["results"]:
        fake.add_package(pkg)
    fields = sample("datastore_search_limit0")["result"]["fields"][1:]
    fake.set_datastore(TOILETS_RESOURCE, fields, 658)
    return fake


@pytest.fixture
def url(fake: FakeCkan):
    with serve(fake) as base_url:
        yield base_url


@pytest.fixture
def ckan(url: str):
    with ckanapi.RemoteCKAN(url) as client:
        yield client


def get(url: str, action: str, **params) -> requests.Response:
    return requests.get(f"{url}/api/3/action/{action}", params=params, timeout=10)


def fill(fake: FakeCkan, count: int) -> list[dict]:
    return [fake.add_package(make_package(f"dataset-{i:04d}")) for i in range(count)]


# -- envelopes match the captured answers ---------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("status_show", {}),
        ("package_list", {"limit": 5}),
        ("organization_list", {"all_fields": "true", "include_extras": "true", "limit": 3}),
        ("group_list", {"all_fields": "true", "limit": 3}),
        ("datastore_search", {"resource_id": TOILETS_RESOURCE, "limit": 0}),
    ],
)
def test_answer_has_the_envelope_and_result_keys_of_the_sample(url, action, params):
    captured = sample({"datastore_search": "datastore_search_limit0"}.get(action, action))
    answer = get(url, action, **params)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json;charset=utf-8"
    body = answer.json()
    assert list(body) == list(captured)
    assert body["help"] == f"{url}/api/3/action/help_show?name={action}"
    result, expected = body["result"], captured["result"]
    if isinstance(expected, dict):
        assert set(result) == set(expected)
    elif isinstance(expected[0], dict):
        assert [list(item) for item in result] == [list(item) for item in expected]


def test_package_show_returns_the_stored_dataset_unchanged(ckan):
    expected = sample("package_show")["result"]
    assert ckan.action.package_show(id=expected["id"]) == expected
    assert ckan.action.package_show(id=expected["name"]) == expected


def test_package_search_answers_the_sample_query_like_the_sample(url):
    captured = sample("package_search")["result"]
    answer = get(
        url,
        "package_search",
        fq="metadata_modified:[2025-01-01T00:00:00Z TO *]",
        sort="metadata_modified asc",
        rows=2,
        **{"facet.field": '["organization","groups","res_format"]', "facet.limit": 5},
    ).json()["result"]
    assert list(answer) == list(captured)
    assert answer["results"] == captured["results"]
    assert answer["sort"] == "metadata_modified asc"
    assert answer["count"] == 3  # the package_show sample was modified in 2026
    assert answer["facets"]["organization"] == {"haiyanxian": 1, "jiashanxian": 1, "jx-jyj": 1}
    names = [item["display_name"] for item in answer["search_facets"]["organization"]["items"]]
    assert names == ["海盐县人民政府", "嘉善县人民政府", "嘉兴市教育局"]  # reverse display order


def test_organization_list_sorts_by_title_like_the_sample(ckan):
    captured = sample("organization_list")["result"]
    orgs = ckan.action.organization_list(all_fields=True, include_extras=True, limit=3)
    assert [o["name"] for o in orgs] == [o["name"] for o in captured]
    assert [o["extras"] for o in orgs] == [o["extras"] for o in captured]
    assert "extras" not in ckan.action.organization_list(all_fields=True)[0]
    assert ckan.action.organization_list()[:3] == [o["name"] for o in captured]


def test_datastore_search_with_limit_zero_gives_fields_with_id_and_total(ckan):
    assert (
        ckan.action.datastore_search(resource_id=TOILETS_RESOURCE, limit=0)
        == (sample("datastore_search_limit0")["result"])
    )


def test_not_found_answers_like_the_sample_and_ckanapi_raises_not_found(url, ckan):
    answer = get(url, "package_show", id="no-such-dataset")
    captured = sample("error_not_found")
    assert answer.status_code == 404
    assert answer.json() == {**captured, "help": f"{url}/api/3/action/help_show?name=package_show"}
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="no-such-dataset")


def test_bad_sort_answers_like_the_sample_and_ckanapi_raises_search_query_error(url, ckan):
    answer = get(url, "package_search", sort="bogus")
    assert answer.status_code == 400
    assert answer.json()["error"] == sample("error_search")["error"]
    with pytest.raises(ckanapi.SearchQueryError):
        ckan.action.package_search(sort="bogus")


def test_unknown_resource_in_datastore_search_is_not_found(url, ckan):
    answer = get(url, "datastore_search", resource_id="nope")
    assert answer.status_code == 404
    assert answer.json()["error"]["message"] == 'Not found: Resource "nope" was not found.'
    with pytest.raises(ckanapi.NotFound):
        ckan.action.datastore_search(resource_id="nope", limit=0)


def test_unknown_action_is_a_bare_bad_request_string(url, ckan):
    answer = get(url, "package_bogus")
    assert answer.status_code == 400
    assert answer.json() == "Bad request - Action name not known: package_bogus"
    with pytest.raises(ckanapi.CKANAPIError):
        ckan.action.package_bogus()


def test_invalid_rows_is_a_validation_error(url, ckan):
    answer = get(url, "package_search", rows=-1)
    assert answer.status_code == 409
    assert answer.json()["error"] == {"rows": ["Must be a natural number"], "__type": "Validation Error"}
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_search(rows="many")


def test_unknown_search_parameter_is_a_search_query_error(ckan):
    with pytest.raises(ckanapi.SearchQueryError, match="Invalid search parameters"):
        ckan.action.package_search(row=10)


# -- transports -----------------------------------------------------------------------------------


def test_get_only_client_and_form_posts_get_the_same_answers(url, ckan):
    params = {
        "fq": "metadata_modified:[2025-01-01T00:00:00Z TO *]",
        "sort": "metadata_modified asc",
        "rows": 1,
    }
    by_json = ckan.action.package_search(**params)
    with ckanapi.RemoteCKAN(url, get_only=True) as getter:
        assert getter.action.package_search(**params) == by_json
    by_form = requests.post(f"{url}/api/action/package_search", data=params, timeout=10).json()["result"]
    assert by_form == by_json


def test_calls_record_each_action_with_its_params(fake, ckan):
    ckan.action.package_list(limit=2)
    ckan.action.package_search(q="公厕", rows=1)
    assert fake.calls[-2:] == [("package_list", {"limit": 2}), ("package_search", {"q": "公厕", "rows": 1})]
    assert fake.calls_to("package_list") == [{"limit": 2}]


# -- searching and paging -------------------------------------------------------------------------


def test_rows_above_1000_are_capped_at_1000(ckan):
    fake = FakeCkan()
    fake.add_packages(make_package(f"dataset-{i:04d}") for i in range(1500))
    with serve(fake) as url, ckanapi.RemoteCKAN(url) as client:
        result = client.action.package_search(rows=5000)
    assert result["count"] == 1500
    assert len(result["results"]) == 1000


def test_paging_with_start_and_rows_visits_each_package_once_in_modified_order(fake, ckan):
    fill(fake, 25)
    seen = []
    for start in range(0, 40, 10):
        page = ckan.action.package_search(sort="metadata_modified asc", rows=10, start=start)["results"]
        seen += page
    assert len(seen) == 28 == len({p["id"] for p in seen})
    assert [p["metadata_modified"] for p in seen] == sorted(p["metadata_modified"] for p in seen)


def test_paging_by_id_like_the_ckan_harvester_sees_later_additions(fake, ckan):
    fill(fake, 12)
    first = ckan.action.package_search(sort="id asc", rows=100)["results"]
    assert [p["id"] for p in first] == sorted(p["id"] for p in first)
    added = fake.add_package(make_package("dataset-late"))
    again = ckan.action.package_search(sort="id asc", rows=5, start=0)
    assert again["count"] == 16
    assert added["id"] in {p["id"] for p in ckan.action.package_search(sort="id asc", rows=100)["results"]}


def test_default_sort_is_newest_first(ckan):
    result = ckan.action.package_search()
    assert result["sort"] == "score desc, metadata_modified desc"
    stamps = [p["metadata_modified"] for p in result["results"]]
    assert stamps == sorted(stamps, reverse=True)


def test_fq_range_selects_by_metadata_modified_in_utc(fake, ckan):
    packages = fill(fake, 5)
    third = packages[2]["metadata_modified"]
    since = f"{third}Z"
    found = ckan.action.package_search(fq=f"metadata_modified:[{since} TO *]", sort="metadata_modified asc")
    assert [p["name"] for p in found["results"]] == [p["name"] for p in packages[2:]]
    exclusive = ckan.action.package_search(fq=f"metadata_modified:{{{since} TO *]")
    assert exclusive["count"] == 2
    until = f"{packages[3]['metadata_modified']}Z"
    between = ckan.action.package_search(fq=f"metadata_modified:[{since} TO {until}]")
    assert {p["name"] for p in between["results"]} == {packages[2]["name"], packages[3]["name"]}
    assert ckan.action.package_search(fq=f"metadata_modified:[{until} TO {since}]")["count"] == 0


def test_fq_date_without_zone_is_a_search_error_as_solr_rejects_it(ckan):
    with pytest.raises(ckanapi.SearchError):
        ckan.action.package_search(fq="metadata_modified:[2025-01-01T00:00:00 TO *]")


def test_fq_combines_organization_and_range(ckan):
    fq = "organization:jiashanxian AND metadata_modified:[2025-01-01T00:00:00Z TO *]"
    assert [p["name"] for p in ckan.action.package_search(fq=fq)["results"]] == ["jiashanxian-homestays"]
    assert ckan.action.package_search(fq="+organization:haiyanxian +res_format:CSV")["count"] == 1


def test_q_matches_words_in_title_and_notes(ckan):
    assert [p["name"] for p in ckan.action.package_search(q="公共厕所")["results"]] == [
        "haiyanxian-public-toilets"
    ]
    assert ckan.action.package_search(q="*:*")["count"] == 3
    assert ckan.action.package_search(q="不存在的词")["count"] == 0


# -- catalogue changes ----------------------------------------------------------------------------


def test_update_package_moves_metadata_modified_past_every_stamp(fake, ckan):
    newest = max(p["metadata_modified"] for p in ckan.action.package_search(rows=100)["results"])
    first = fake.update_package("jiashanxian-homestays", title="嘉善县民宿名录（更新）")
    second = fake.update_package("jx-jyj-school-districts-2023", notes="更新说明")
    assert STAMP.fullmatch(first["metadata_modified"])
    assert newest < first["metadata_modified"] < second["metadata_modified"]
    found = ckan.action.package_search(fq=f"metadata_modified:[{first['metadata_modified']}Z TO *]")
    assert {p["name"] for p in found["results"]} == {"jiashanxian-homestays", "jx-jyj-school-districts-2023"}
    assert ckan.action.package_show(id="jiashanxian-homestays")["title"] == "嘉善县民宿名录（更新）"


def test_deleted_package_leaves_search_and_list_and_show_is_denied(fake, ckan):
    fake.delete_package("jiashanxian-homestays")
    assert "jiashanxian-homestays" not in ckan.action.package_list()
    assert ckan.action.package_search(q="民宿")["count"] == 0
    with pytest.raises(ckanapi.NotAuthorized):
        ckan.action.package_show(id="jiashanxian-homestays")


def test_purged_package_is_not_found_and_its_name_can_be_created_again(fake, ckan):
    old = fake.get_package("jiashanxian-homestays")
    fake.purge_package("jiashanxian-homestays")
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id=old["id"])
    assert "jiashanxian-homestays" not in ckan.action.package_list()
    again = fake.add_package(make_package("jiashanxian-homestays"))
    assert again["id"] != old["id"]
    assert ckan.action.package_show(id="jiashanxian-homestays")["id"] == again["id"]


def test_a_shared_name_serves_both_ids_until_one_is_purged(fake, ckan):
    first = fake.get_package("jiashanxian-homestays")
    second = fake.add_package(make_package("jiashanxian-homestays"), share_name=True)
    assert {ckan.action.package_show(id=p["id"])["name"] for p in (first, second)} == {
        "jiashanxian-homestays"
    }
    listed = ckan.action.package_search(q="*:*", fl=["id", "name"], rows=100)["results"]
    assert {first["id"], second["id"]} <= {p["id"] for p in listed if p["name"] == "jiashanxian-homestays"}
    fake.purge_package(second["id"])
    assert ckan.action.package_show(id="jiashanxian-homestays")["id"] == first["id"]


def test_purged_organization_leaves_the_list_and_comes_back_with_a_new_id(fake, ckan):
    name = ckan.action.organization_list()[0]
    old = ckan.action.organization_show(id=name)
    fake.purge_organization(name)
    assert name not in ckan.action.organization_list()
    with pytest.raises(ckanapi.NotFound):
        ckan.action.organization_show(id=old["id"])
    fake.add_organization({"name": name, "title": old["title"]})
    assert ckan.action.organization_show(id=name)["id"] != old["id"]


def test_private_package_is_invisible_to_anonymous_clients(fake, url, ckan):
    pkg = fake.make_private("haiyanxian-public-toilets")
    assert "haiyanxian-public-toilets" not in ckan.action.package_list()
    assert pkg["id"] not in {p["id"] for p in ckan.action.package_search(rows=100)["results"]}
    answer = get(url, "package_show", id=pkg["id"])
    assert answer.status_code == 403
    assert answer.json()["error"] == {
        "__type": "Authorization Error",
        "message": f"Access denied: User  not authorized to read package {pkg['id']}",
    }
    with pytest.raises(ckanapi.NotAuthorized):
        ckan.action.datastore_search(resource_id=TOILETS_RESOURCE, limit=0)


def test_from_dump_loads_packages_and_their_organizations(tmp_path):
    dump = tmp_path / "dump.jsonl"
    packages = [sample("package_show")["result"], *sample("package_search")["result"]["results"]]
    dump.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in packages), encoding="utf-8")
    fake = FakeCkan.from_dump(dump)
    with serve(fake) as url, ckanapi.RemoteCKAN(url) as client:
        assert client.action.package_list() == sorted(p["name"] for p in packages)
        orgs = client.action.organization_list(all_fields=True)
        groups = client.action.group_list()
    assert {o["name"]: o["package_count"] for o in orgs} == {"haiyanxian": 1, "jiashanxian": 1, "jx-jyj": 1}
    assert set(groups) == {"chengjian-zhufang", "jiaoyu-keji", "nongye-nongcun", "wenhua-xiuxian"}


def test_organization_list_with_all_fields_is_capped_at_25(ckan, fake):
    for i in range(30):
        fake.add_organization({"name": f"org-{i:02d}", "title": f"部门{i:02d}"})
    assert len(ckan.action.organization_list(all_fields=True, limit=100)) == 25
    assert len(ckan.action.organization_list(limit=100)) == 36


# -- fault injection ------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "body"), [(500, "html"), (502, "html"), (500, "json")])
def test_injected_failure_answers_once_then_the_server_recovers(fake, url, ckan, status, body):
    fake.fail_next("package_list", status=status, body=body)
    answer = get(url, "package_list")
    assert answer.status_code == status
    fake.fail_next("package_list", status=status, body=body)
    with pytest.raises(ckanapi.CKANAPIError):
        ckan.action.package_list()
    assert len(ckan.action.package_list()) == 3


def test_hang_past_the_client_timeout_raises_a_timeout(fake, ckan):
    fake.hang_next("package_show", seconds=5)
    began = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        ckan.call_action("package_show", {"id": "jiashanxian-homestays"}, requests_kwargs={"timeout": 0.3})
    assert time.monotonic() - began < 2
    assert ckan.action.package_show(id="jiashanxian-homestays")["name"] == "jiashanxian-homestays"


def test_vanished_package_is_listed_but_show_is_not_found(fake, ckan):
    fake.vanish_on_show("jiashanxian-homestays")
    assert "jiashanxian-homestays" in ckan.action.package_list()
    assert ckan.action.package_search(q="民宿")["count"] == 1
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="jiashanxian-homestays")


@pytest.mark.parametrize(
    ("how", "broken"),
    [
        ("resources", lambda p: not isinstance(p["resources"], list)),
        ("name", lambda p: "name" not in p),
        ("extras", lambda p: isinstance(p["extras"], dict)),
    ],
)
def test_malformed_package_is_served_broken_by_show_and_search(fake, ckan, how, broken):
    fake.malform("jiashanxian-homestays", how)
    assert broken(ckan.action.package_show(id="jiashanxian-homestays"))
    found = ckan.action.package_search(q="民宿")["results"]
    assert len(found) == 1 and broken(found[0])
    assert isinstance(fake.get_package("jiashanxian-homestays")["resources"], list)


def test_server_stops_cleanly_even_with_a_request_hanging(fake):
    fake.hang_next("status_show", seconds=30)
    with serve(fake) as url:
        with pytest.raises(requests.exceptions.Timeout):
            requests.get(f"{url}/api/3/action/status_show", timeout=0.2)
        began = time.monotonic()
    assert time.monotonic() - began < 2  # stopping woke the hung handler
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{url}/api/3/action/status_show", timeout=1)
    assert fake.server_errors == []


# -- the benchmark generator ----------------------------------------------------------------------


def test_generated_packages_load_and_look_like_ckan_packages():
    spec = importlib.util.spec_from_file_location("ckan_generator", GENERATOR)
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    packages = list(generator.generate_packages(300, seed=1))
    stamps = [p["metadata_modified"] for p in packages]
    assert stamps == sorted(stamps) and len(set(stamps)) == 300
    assert len({p["id"] for p in packages}) == len({p["name"] for p in packages}) == 300
    assert all(p["name"].isascii() and 1 <= len(p["resources"]) <= 3 for p in packages)
    assert all(uuid.UUID(r["id"]).version == 4 for p in packages for r in p["resources"])
    assert len(generator.organizations()) == 50 and len(generator.groups()) == 10
    fake = FakeCkan()
    fake.add_packages(packages)
    with serve(fake) as url, ckanapi.RemoteCKAN(url) as client:
        assert client.action.package_search()["count"] == 300
        assert len(client.action.organization_list(limit=100)) <= 50
