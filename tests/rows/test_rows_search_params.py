"""datastore_search's parameters on the portal: filters, q, distinct, fields, sort, paging, formats, and
CKAN's validation errors for bad input (never a 5xx)."""

from __future__ import annotations

import json

import pytest
from rows_factories import STOPS, TOILETS, stop_records

from portal.rows import tables

RECORDS = [{"_id": n, **r} for n, r in enumerate(stop_records(), start=1)]


def search(client, **params):
    response = client.post(
        "/api/3/action/datastore_search",
        data=json.dumps({"resource_id": STOPS, **params}),
        content_type="application/json",
    )
    return response.status_code, response.get_json()


def test_filters_take_a_value_or_a_list(client, synced):
    status, body = search(client, filters={"线路": "K3路"}, limit=1000)
    assert status == 200 and body["success"]
    assert (
        body["result"]["total"] == len(body["result"]["records"]) == sum(r["线路"] == "K3路" for r in RECORDS)
    )
    assert {r["线路"] for r in body["result"]["records"]} == {"K3路"}
    _, body = search(client, filters={"线路": ["1路", "2路"], "座位数": 3}, limit=1000)
    records = body["result"]["records"]
    assert records and all(r["线路"] in ("1路", "2路") and r["座位数"] == 3 for r in records)


def test_the_resource_its_dataset_and_its_rows_are_found_in_one_statement(
    client, synced, statements, monkeypatch
):
    on_driver = []  # PostgreSQL runs the lookup on the driver's cursor, which the engine's events miss
    monkeypatch.setattr(tables, "_on_driver", _counted(tables._on_driver, on_driver))
    status, body = search(client, limit=5)
    assert status == 200 and len(body["result"]["records"]) == 5
    catalogue = [s for s in statements if any(f" {t} " in s for t in ("resources", "datasets", "row_tables"))]
    assert len(catalogue) + len(on_driver) == 1, (catalogue, on_driver)


def _counted(function, calls: list):
    def counting(*args, **kwargs):
        calls.append(args)
        return function(*args, **kwargs)

    return counting


def test_filters_as_a_json_string_in_a_get(client, synced):
    filters = json.dumps({"座位数": "0"}, ensure_ascii=False)
    body = client.get(
        "/api/3/action/datastore_search", query_string={"resource_id": STOPS, "filters": filters}
    ).get_json()
    assert body["result"]["total"] == sum(r["座位数"] == 0 for r in RECORDS)
    assert all(r["座位数"] == 0 for r in body["result"]["records"])


def test_full_text_q_finds_chinese_by_bigrams(client, synced):
    _, body = search(client, q="南湖", limit=1000)
    names = [r["站点名称"] for r in body["result"]["records"]]
    assert body["result"]["total"] == sum("南湖" in r["站点名称"] for r in RECORDS) and all(
        "南湖" in n for n in names
    )
    _, body = search(client, q="快速公交 南湖")
    assert all("南湖" in r["站点名称"] and r["线路"] == "快速公交" for r in body["result"]["records"])


def test_q_as_an_object_matches_per_field(client, synced):
    _, body = search(client, q={"站点名称": "站点12"}, limit=1000)
    assert sorted(r["_id"] for r in body["result"]["records"]) == [12] + list(range(120, 130))


def test_fields_sort_offset_and_distinct(client, synced):
    _, body = search(client, fields="线路", distinct=True, sort="线路 desc")
    assert body["result"]["records"] == [
        {"线路": x} for x in sorted(set(["1路", "2路", "K3路", "快速公交"]), reverse=True)
    ]
    assert body["result"]["fields"] == [{"id": "线路", "type": "text"}]
    _, body = search(client, fields=["_id", "座位数"], sort="座位数 desc, _id asc", limit=2, offset=1)
    expected = sorted(RECORDS, key=lambda r: (-r["座位数"], r["_id"]))[1:3]
    assert body["result"]["records"] == [{"_id": r["_id"], "座位数": r["座位数"]} for r in expected]


@pytest.mark.parametrize(
    ("records_format", "expected"),
    [
        ("lists", [[1, "秀洲区站点1", "2路"]]),
        ("csv", "1,秀洲区站点1,2路\n"),
        ("tsv", "1\t秀洲区站点1\t2路\n"),
    ],
)
def test_records_formats(client, synced, records_format, expected):
    _, body = search(client, fields="_id,站点名称,线路", limit=1, records_format=records_format)
    assert body["result"]["records"] == expected


def test_limit_defaults_to_100_and_is_capped_at_32000(client, synced):
    _, body = search(client)
    assert body["result"]["limit"] == 100 and len(body["result"]["records"]) == 100
    _, body = search(client, limit=50000)
    assert body["result"]["limit"] == 32000 and body["result"]["records_truncated"] is True
    assert len(body["result"]["records"]) == 250
    _, body = search(client, include_total=False, limit=1)
    assert "total" not in body["result"]


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"filters": {"没有": "x"}}, "filters"),
        ({"filters": "[1]"}, "filters"),
        ({"filters": "{not json"}, "filters"),
        ({"filters": {"座位数": "很多"}}, "filters"),
        ({"filters": {"座位数": "1" * 30}}, "filters"),
        ({"filters": {"座位数": []}}, "filters"),
        ({"filters": {"线路": {"a": 1}}}, "filters"),
        ({"fields": "没有"}, "fields"),
        ({"fields": [1, 2]}, "fields"),
        ({"sort": "没有 asc"}, "sort"),
        ({"sort": "线路 sideways"}, "sort"),
        ({"sort": '"'}, "sort"),
        ({"limit": -1}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "1" * 30}, "limit"),
        ({"offset": -5}, "offset"),
        ({"records_format": "xml"}, "records_format"),
        ({"q": {"没有": "x"}}, "q"),
        ({"q": {"线路": 5}}, "q"),
        ({"q": ["a"]}, "q"),
        ({"distinct": "maybe"}, "distinct"),
        ({"filters": '{"线路": "\\u0000"}'}, "filters"),  # a NUL the raw text does not show
        ({"filters": '{"线路": ["1路", "a\\u0000"]}'}, "filters"),
        ({"q": '{"线路": "\\u0000"}'}, "q"),
    ],
)
def test_bad_input_is_a_ckan_validation_error(client, synced, params, key):
    status, body = search(client, **params)
    assert status == 409, body
    assert body["success"] is False and body["error"]["__type"] == "Validation Error"
    assert key in body["error"]


def test_an_offset_past_32_bits_is_an_empty_page(client, synced):
    """PostgreSQL's INTEGER ends at 2**31 - 1; an offset up to 2**62 is read and answered (an empty page),
    where it was 500 on PostgreSQL."""
    for offset in (2**31, 2**62):
        status, body = search(client, offset=offset, include_total=False)
        assert status == 200, body
        assert body["result"]["records"] == []


def test_a_missing_resource_id_is_a_validation_error(client, synced):
    response = client.post("/api/3/action/datastore_search", json={})
    assert response.status_code == 409
    assert response.get_json()["error"]["resource_id"] == ["Missing value"]


def test_personal_columns_cannot_be_filtered_searched_or_sorted(client, synced):
    for params in (
        {"filters": {"管理员电话": "13812345678"}},
        {"q": {"管理员电话": "138"}},
        {"sort": "管理员电话"},
    ):
        status, body = search(client, resource_id=TOILETS, **params)
        assert status == 409 and "personal" in json.dumps(body["error"], ensure_ascii=False)
    status, body = search(client, resource_id=TOILETS, q="13812345678")
    assert status == 200 and body["result"]["total"] == 0  # full text skips personal columns


def test_datastore_info_describes_the_table(client, synced):
    body = client.get("/api/3/action/datastore_info", query_string={"id": STOPS}).get_json()
    assert body["result"]["meta"]["count"] == 250
    assert [f["id"] for f in body["result"]["fields"]] == ["站点名称", "线路", "座位数", "经度", "启用时间"]
    assert body["result"]["fields"][2]["type"] == "int"


def test_a_total_is_counted_up_to_a_bound_then_estimated_on_postgresql(client, synced, monkeypatch):
    from portal.extensions import db
    from portal.rows import query

    postgresql = db.engine.dialect.name == "postgresql"
    status, body = search(client, limit=1)
    assert status == 200 and (body["result"]["total"], body["result"]["total_was_estimated"]) == (250, False)
    monkeypatch.setattr(query, "COUNT_MAX", 100)
    result = search(client, limit=1)[1]["result"]
    assert (result["total"], result["total_was_estimated"]) == (250, False)  # no conditions: the last _id
    result = search(client, limit=1, q="区站点")[1]["result"]
    # a phrase of two bigrams: PostgreSQL stops counting past the bound and answers its planner's
    # estimate; SQLite counts every row
    assert result["total_was_estimated"] is postgresql
    assert result["total"] == 250 if not postgresql else result["total"] > 100
    # one bigram: PostgreSQL counts its matches in the text index alone, exactly, past the bound too
    result = search(client, limit=1, q="站点")[1]["result"]
    assert (result["total"], result["total_was_estimated"]) == (250, False)
    result = search(client, limit=1, q="南湖 站点")[1]["result"]
    assert (result["total"], result["total_was_estimated"]) == (50, False)
    result = search(client, limit=1, filters={"线路": "K3路"})[1]["result"]
    assert (result["total"], result["total_was_estimated"]) == (
        sum(r["线路"] == "K3路" for r in RECORDS),
        False,
    )


def test_ckans_total_estimation_threshold_is_taken_and_echoed(client, synced):
    from portal.extensions import db

    postgresql = db.engine.dialect.name == "postgresql"
    result = search(client, limit=1, total_estimation_threshold=100_000)[1]["result"]
    assert result["total_estimation_threshold"] == 100_000
    assert (result["total"], result["total_was_estimated"]) == (250, False)
    result = search(client, limit=1, q="站点", total_estimation_threshold=0)[1]["result"]
    assert result["total_was_estimated"] is postgresql and result["total"] > 0
    result = search(client, limit=1, total_estimation_threshold=0)[1]["result"]
    assert (result["total"], result["total_was_estimated"]) == (250, False)  # known exactly, at no cost
    for bad in (-1, "many", [1]):
        status, body = search(client, total_estimation_threshold=bad)
        assert status == 409 and "total_estimation_threshold" in body["error"]


def test_a_text_search_total_holds_on_every_page_and_past_the_last(client, synced):
    expected = sum("秀洲" in r["站点名称"] for r in RECORDS)
    for offset, shown in ((0, 100), (150, expected - 150), (expected + 50, 0)):
        result = search(client, q="秀洲", offset=offset)[1]["result"]
        assert (result["total"], result["total_was_estimated"], len(result["records"])) == (
            expected,
            False,
            shown,
        )
    result = search(client, q="秀洲", filters={"线路": "K3路"}, limit=0)[1]["result"]
    matching = [r for r in RECORDS if "秀洲" in r["站点名称"] and r["线路"] == "K3路"]
    assert (result["total"], result["records"]) == (len(matching), [])


@pytest.mark.parametrize("records_format", ["objects", "lists"])
def test_a_page_and_its_total_read_in_one_statement_hold_on_every_page(
    client, synced, monkeypatch, records_format
):
    """The page carries its total (rows/query.py `_page_and_total`): the count never shows as a cell,
    a page past the last row still tells the total, a search of no match answers 0, and PostgreSQL still
    answers its planner's estimate past COUNT_MAX."""
    from portal.extensions import db
    from portal.rows import query

    def page(**params) -> tuple[list, int, bool]:
        status, body = search(client, records_format=records_format, **params)
        assert status == 200, body
        result = body["result"]
        ids = [r[0] if records_format == "lists" else r["_id"] for r in result["records"]]
        if records_format == "lists":
            assert all(len(r) == len(result["fields"]) for r in result["records"])
        return ids, result["total"], result["total_was_estimated"]

    k3 = [r["_id"] for r in RECORDS if r["线路"] == "K3路"]
    for offset in (0, 55, len(k3), len(k3) + 40, 2**40):
        found = page(filters={"线路": "K3路"}, fields="_id,线路", offset=offset, limit=10)
        assert found == (k3[offset : offset + 10], len(k3), False), offset
    for offset in (0, 245, 250, 400):
        found = page(fields=["_id", "站点名称"], offset=offset, limit=10)
        assert found == ([r["_id"] for r in RECORDS][offset : offset + 10], 250, False), offset
    assert page(filters={"线路": "无此线路"}) == ([], 0, False)
    assert page(filters={"线路": "K3路"}, distinct=True, fields="_id", limit=3) == (k3[:3], len(k3), False)
    monkeypatch.setattr(query, "COUNT_MAX", 10)
    ids, total, estimated = page(filters={"线路": "K3路"}, fields="_id", limit=5)
    assert ids == k3[:5]
    if db.engine.dialect.name == "postgresql":
        assert estimated and total > 10
    else:
        assert (total, estimated) == (len(k3), False)
