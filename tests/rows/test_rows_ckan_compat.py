"""ckanapi's datastore_search against the fake CKAN and against the portal: the same answers."""

from __future__ import annotations

import ckanapi
import pytest
from rows_factories import CONDITIONAL_TABLE, PUBLIC_TABLES, STOPS, TOILETS
from sqlalchemy import select

from portal.catalogue import masking
from portal.catalogue.models import Resource
from portal.extensions import db
from portal.rows.models import READY, RowTable


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
