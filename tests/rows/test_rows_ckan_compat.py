"""ckanapi's datastore_search against the fake CKAN and against the portal: the same answers."""

from __future__ import annotations

import json

import ckanapi
import orjson
import pytest
from rows_factories import (
    CONDITIONAL_TABLE,
    PUBLIC_TABLES,
    STOP_FIELDS,
    STOPS,
    TOILETS,
    stop_records,
    sync_rows,
)
from sqlalchemy import select

from portal.api import ckan
from portal.catalogue import masking
from portal.catalogue.models import Resource
from portal.extensions import db
from portal.rows import loader
from portal.rows.models import READY, RowTable
from portal.sync import remote


def every_record(ckan, resource_id: str, page: int) -> tuple[list, list, int]:
    """Page through a table in _id order as a harvester would."""
    records, offset = [], 0
    while True:
        answer = ckan.action.datastore_search(resource_id=resource_id, limit=page, offset=offset)
        records += answer["records"]
        if len(answer["records"]) < page:
            return records, answer["fields"], answer["total"]
        offset += page


def masked(records: list[dict], fields: list[dict]) -> list[dict]:
    """CKAN's records as the portal shows them: personal columns masked (catalogue/masking.py)."""
    kinds = {f["id"]: masking.column_kind(f["id"]) for f in fields if f["id"] != "_id"}
    return [
        {
            k: masking.mask_cell(v, kinds[k]) if isinstance(v, str) and kinds.get(k) else v
            for k, v in r.items()
        }
        for r in records
    ]


def test_every_public_table_answers_as_the_city_ckan_does(synced, portal, city_ckan):
    assert synced.status == "succeeded", [e.message for e in synced.errors]
    for rid in PUBLIC_TABLES:
        for page in (100, 33, 1000, 1):
            ours, (records, fields, total) = (
                every_record(portal, rid, page),
                every_record(city_ckan, rid, page),
            )
            assert ours == (masked(records, fields), fields, total), rid


def test_the_limit_zero_answer_has_ckans_shape(synced, portal, city_ckan):
    ours = portal.action.datastore_search(resource_id=STOPS, limit=0)
    theirs = city_ckan.action.datastore_search(resource_id=STOPS, limit=0)
    assert ours["fields"] == theirs["fields"]
    assert ours["total"] == theirs["total"] == 250
    assert ours["records"] == theirs["records"] == []
    assert ours["fields"][0] == {"id": "_id", "type": "int"}
    assert {"include_total", "limit", "records_format", "resource_id", "_links"} <= set(ours)


def test_loading_puts_every_row_in_the_store_and_the_volume_is_read_from_it(synced):
    stops = db.session.scalar(select(Resource).where(Resource.ckan_id == STOPS))
    row_table = db.session.scalar(select(RowTable).where(RowTable.resource_id == stops.id))
    assert (row_table.status, row_table.records, row_table.fields) == (READY, 250, 5)
    assert (stops.records, stops.fields, stops.volume) == (250, 5, 1250)


def test_personal_columns_are_masked(synced, portal):
    answer = portal.action.datastore_search(resource_id=TOILETS)
    phones = [r["管理员电话"] for r in answer["records"]]
    assert phones == ["138****5678", "139****4321", None]


def test_an_unknown_resource_is_not_found(synced, portal):
    with pytest.raises(ckanapi.NotFound):
        portal.action.datastore_search(resource_id="no-such-resource")


def test_a_conditional_table_is_refused_without_a_grant(synced, portal):
    with pytest.raises(ckanapi.NotAuthorized):
        portal.action.datastore_search(resource_id=CONDITIONAL_TABLE)


def test_the_sync_run_page_shows_the_loads(client, login, synced):
    login("admin")
    html = client.get(f"/admin/sync/runs/{synced.id}").get_data(as_text=True)
    assert 'data-testid="row-loads"' in html
    assert "公交站点" in html and "250 / 250" in html


def test_a_datastore_load_cut_short_resumes_from_the_rows_it_has(synced, fake, ckan_url, portal, city_ckan):
    stops = db.session.scalar(select(Resource).where(Resource.ckan_id == STOPS))
    row_table = db.session.scalar(select(RowTable).where(RowTable.resource_id == stops.id))
    row_table.checksum = "an older table"  # as if CKAN's table changed since
    db.session.commit()
    commits = []

    def dying_commit():
        db.session.commit()
        commits.append(1)
        if len(commits) == 3:  # the new table, then two batches of 60
            raise KeyboardInterrupt

    source = remote.CkanSource(ckan_url, timeout=5, retries=1, backoff=0)
    with pytest.raises(KeyboardInterrupt):
        loader.load(db.session, stops, source=source, open_stored=None, commit=dying_commit, batch=60)
    assert (row_table.status, row_table.records) == ("loading", 120)
    reads = len(fake.calls_to("datastore_search"))
    loader.load(db.session, stops, source=source, open_stored=None, commit=db.session.commit, batch=60)
    assert (row_table.status, row_table.records) == (READY, 250)
    offsets = [params.get("offset") for params in fake.calls_to("datastore_search")[reads:]]
    assert offsets and str(offsets[0]) == "120"  # it read on from the rows it had
    assert every_record(portal, STOPS, 100) == every_record(city_ckan, STOPS, 100)


def test_a_changed_datastore_table_is_loaded_again_on_the_next_full_sync(synced, fake, ckan_url, portal):
    fake.set_datastore(STOPS, STOP_FIELDS, 260, stop_records(260))
    sync_rows(ckan_url)
    assert portal.action.datastore_search(resource_id=STOPS, limit=0)["total"] == 260


def test_an_answer_is_utf8_json_in_ckans_key_order(client, synced):
    """The answer as json.dumps(ensure_ascii=False) wrote it, keys in the same order, whatever encoder
    writes it (api/ckan.py `encode`: orjson, json for what orjson refuses)."""
    response = client.get("/api/3/action/datastore_search", query_string={"resource_id": STOPS, "limit": 3})
    assert response.status_code == 200
    assert response.content_type == ckan.JSON_TYPE
    text = response.get_data(as_text=True)
    assert "\\u" not in text and any(ord(c) > 127 for c in text)  # Chinese written as itself
    body = json.loads(text)
    assert list(body) == ["help", "success", "result"]
    assert list(body["result"])[:5] == [
        "include_next_page",
        "include_total",
        "limit",
        "records_format",
        "resource_id",
    ]
    assert list(body["result"]["records"][0]) == ["_id", *[f["id"] for f in STOP_FIELDS]]


@pytest.mark.parametrize("payload", [{"total": 2**70, "站点": "南湖"}, {1: "键不是字符串"}])
def test_what_orjson_refuses_is_written_by_json(payload):
    assert ckan.encode(payload) == json.dumps(payload, ensure_ascii=False)


def test_ordinary_answers_are_written_by_orjson():
    payload = {"records": [{"_id": 1, "经度": 120.123456, "座位数": 3, "空": None, "有": True}], "total": 1}
    assert ckan.encode(payload) == orjson.dumps(payload)
    assert json.loads(ckan.encode(payload)) == payload
