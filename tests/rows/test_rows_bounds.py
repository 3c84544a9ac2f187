"""A rows query never runs past DB_STATEMENT_TIMEOUT_MS: it answers 503 in each API's envelope instead."""

from __future__ import annotations

import hashlib

from catalogue_factories import make_dataset, mirrored
from sqlalchemy import select

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.rows import loader, store
from portal.rows.models import RowTable
from portal.storage import get_storage

ROWS = 30_000


def big_table():
    data = "名称,编号,备注\n" + "".join(f"站点{n},{n},第{n % 97}号线路的一个站点\n" for n in range(ROWS))
    resource = mirrored(make_dataset(), data.encode(), filename="big.csv")
    resource.sha256, resource.mirrored_at = hashlib.sha256(data.encode()).hexdigest(), utcnow()
    db.session.commit()
    loader.load(db.session, resource, source=None, open_stored=get_storage().open, commit=db.session.commit)
    return resource


def test_a_rows_query_past_the_bound_answers_503(make_app, app):
    resource = big_table()
    try:
        slow = {
            "resource_id": resource.ckan_id,
            "q": {"备注": "号线路的一个"},
            "distinct": True,
            "sort": "备注 desc",
        }
        fast_client = app.test_client()
        assert fast_client.post("/api/3/action/datastore_search", json=slow).status_code == 200
        bounded = make_app(DB_STATEMENT_TIMEOUT_MS=1).test_client()
        response = bounded.post("/api/3/action/datastore_search", json=slow)
        assert response.status_code == 503
        assert response.get_json()["error"]["__type"] == "Search Error"
        page = bounded.get(
            f"/api/v1/datasets/{resource.dataset.name}/resources/{resource.ckan_id}/rows",
            query_string={"q": "站点", "sort": "备注 desc", "distinct": "true"},
        )
        assert page.status_code == 503 and page.get_json()["error"]["code"] == 503
    finally:
        db.session.rollback()
        for row_table in db.session.scalars(select(RowTable)):
            store.drop(db.session.connection(), row_table.table_name)
        db.session.commit()
