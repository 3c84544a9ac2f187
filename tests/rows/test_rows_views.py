"""The dataset page's table of a loaded resource: server-side paging, search and sort, masked, and who may
see it."""

from __future__ import annotations

import pytest
from rows_factories import CONDITIONAL_TABLE, STOPS, TOILETS, stop_records

TABLE = f"/datasets/rows-dataset-1/resources/{STOPS}/table"
RECORDS = [{"_id": n, **r} for n, r in enumerate(stop_records(), start=1)]


def cells(html: str, column: int) -> list[str]:
    import re

    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r"<td>(.*?)</td>", row)[column] for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_the_table_pages_through_every_row(client, synced):
    html = client.get(TABLE).get_data(as_text=True)
    assert 'data-testid="rows-table"' in html and "250" in html
    assert cells(html, 0) == [r["站点名称"] for r in RECORDS[:50]]
    html = client.get(TABLE, query_string={"page": 5}).get_data(as_text=True)
    assert cells(html, 0) == [r["站点名称"] for r in RECORDS[200:250]]
    assert 'rel="next"' not in html and 'rel="prev"' in html


def test_search_and_sort_run_on_the_server(client, synced):
    html = client.get(TABLE, query_string={"q": "南湖", "sort": "座位数", "order": "desc"}).get_data(
        as_text=True
    )
    expected = sorted((r for r in RECORDS if "南湖" in r["站点名称"]), key=lambda r: (-r["座位数"], r["_id"]))
    assert cells(html, 0) == [r["站点名称"] for r in expected]
    assert 'aria-sort="descending"' in html


@pytest.mark.parametrize(
    "params", [{"sort": "没有这一列"}, {"page": "abc"}, {"page": "99999999999999999999"}, {"q": "x" * 2000}]
)
def test_odd_input_shows_the_table_anyway(client, synced, params):
    assert client.get(TABLE, query_string=params).status_code == 200


def test_personal_columns_are_masked_and_not_sortable(client, synced):
    html = client.get(f"/datasets/rows-dataset-2/resources/{TOILETS}/table").get_data(as_text=True)
    assert "138****5678" in html and "13812345678" not in html
    assert "sort=%E7%AE%A1%E7%90%86%E5%91%98%E7%94%B5%E8%AF%9D" not in html  # 管理员电话 has no sort link


def test_a_resource_without_loaded_rows_has_no_table(client, synced):
    assert client.get(f"/datasets/rows-dataset-1/resources/{TOILETS}/table").status_code == 404
    assert client.get(f"/datasets/nothing/resources/{STOPS}/table").status_code == 404


@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 302), ("developer", 403), ("county_member", 403), ("judge", 403), ("admin", 200)],
)
def test_a_conditional_table_follows_the_download_rule(client, login, synced, role, status):
    if role:
        login(role)
    response = client.get(f"/datasets/rows-dataset-3/resources/{CONDITIONAL_TABLE}/table")
    assert response.status_code == status


def test_the_preview_links_to_the_table(client, synced):
    html = client.get(f"/datasets/rows-dataset-1/resources/{STOPS}/preview").get_data(as_text=True)
    assert f'href="{TABLE}"' in html
