"""The catalogue's page caches never show a stale or someone else's page.

The catalogue page caches its facets (data and HTML) per catalogue generation and the
dataset page caches its public part per dataset version (search_cache). These tests
change what a cached page shows, through the real sync where the sync is what changes
it, and check the next request shows the change.
"""

from __future__ import annotations

import io
import re

import pytest
from catalogue_factories import make_dataset, make_resource
from ckanserver import FakeCkan, serve
from sync_factories import fake_ckan, package

from portal.catalogue.models import APPROVED, CONDITIONAL, AccessRequest
from portal.extensions import db
from portal.storage import get_storage
from portal.sync import remote, run


@pytest.fixture
def fake() -> FakeCkan:
    return fake_ckan(3)


def sync(url: str, *, full: bool = False):
    result = run.sync(remote.CkanSource(url, timeout=5, retries=1, backoff=0), run.Settings(full=full))
    assert result.failed == 0
    return result


def page(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status
    return response.get_data(as_text=True)


def facet_count(html: str, facet: str, value: str) -> int | None:
    found = re.search(
        rf'data-facet="{facet}" data-value="{value}"[^>]*>\s*<span class="facet-label">[^<]*</span>\s*'
        r'<span class="facet-count">(\d+)</span>',
        html,
    )
    return int(found.group(1)) if found else None


def test_the_dataset_page_shows_what_the_sync_changed_at_once(app, client, fake):
    with serve(fake) as url:
        sync(url)
        before = page(client, "/datasets/dataset-001")
        assert "交通运输数据集1" in before and "新增的资源" not in before
        resources = [
            *package(1)["resources"],
            {"id": "r-new", "name": "新增的资源", "format": "XLSX", "url": ""},
        ]
        fake.update_package(
            "dataset-001", title="公交站点（已更新）", resources=resources, groups=[{"name": "ylws"}]
        )
        sync(url)
        after = page(client, "/datasets/dataset-001")
        assert "公交站点（已更新）" in after and "交通运输数据集1" not in after
        assert 'data-resource="r-new"' in after and "医疗卫生" in after
        fake.delete_package("dataset-001")
        sync(url, full=True)
        gone = page(client, "/datasets/dataset-001", 410)
        assert 'data-testid="withdrawn"' in gone and 'data-resource="' not in gone


def test_the_catalogue_facets_show_what_the_sync_changed_at_once(app, client, fake):
    with serve(fake) as url:
        sync(url)
        assert facet_count(page(client, "/datasets/"), "theme", "jtcx") == 3
        assert facet_count(page(client, "/datasets/?theme=jtcx"), "theme", "jtcx") == 3
        fake.add_package(package(9))
        fake.update_package("dataset-002", groups=[{"name": "ylws"}])
        sync(url)
        html = page(client, "/datasets/")
        assert facet_count(html, "theme", "jtcx") == 3 and facet_count(html, "theme", "ylws") == 1
        assert re.search(r'data-dataset="dataset-002".*?badge theme">医疗卫生<', html, re.S)
        assert facet_count(page(client, "/datasets/?theme=jtcx"), "theme", "jtcx") == 3
        assert 'data-dataset="dataset-009"' in html


def test_the_count_and_chips_above_the_results_show_what_the_sync_changed_at_once(app, client, fake):
    with serve(fake) as url:
        sync(url)
        assert 'data-total="3"' in page(client, "/datasets/?theme=jtcx&page=2")
        fake.add_package(package(9))
        sync(url)
        html = page(client, "/datasets/?theme=jtcx")  # another page of the same search: the same fragments
        assert 'data-total="4"' in html and 'data-remove="theme"' in html
        client.set_cookie("lang", "en", domain="localhost")
        assert "4 datasets found" in page(client, "/datasets/?theme=jtcx")


def test_a_download_shows_in_the_counts_of_the_next_page(client):
    dataset = make_dataset(resources=[], index=False)
    resource = make_resource(dataset, name="表")
    resource.storage_key = f"resources/{dataset.ckan_id}/{resource.ckan_id}/t.csv"
    get_storage().put(resource.storage_key, io.BytesIO(b"a,b\n1,2\n"))
    db.session.commit()
    assert 'data-count="0"' in page(client, f"/datasets/{dataset.name}")
    assert 'data-downloads="0"' in page(client, "/datasets/")
    assert client.get(f"/datasets/{dataset.name}/resources/{resource.ckan_id}/download").status_code == 200
    html = page(client, f"/datasets/{dataset.name}")
    assert '<td class="num" data-count="1">1</td>' in html and '<strong data-count="1">' in html
    assert 'data-downloads="1"' in page(client, "/datasets/")


def test_result_cards_are_highlighted_for_their_own_search(client):
    make_dataset(title="公交站点分布", index=True)
    db.session.commit()
    assert "<mark>公交</mark>" in page(client, "/datasets/?q=公交")
    assert "<mark>站点</mark>" in page(client, "/datasets/?q=站点")
    assert "<mark>" not in page(client, "/datasets/")


def test_each_visitor_sees_the_actions_of_their_own_rights(client, login):
    dataset = make_dataset(open_condition=CONDITIONAL, index=False)
    db.session.commit()
    anonymous = page(client, f"/datasets/{dataset.name}")
    assert 'data-action="apply"' in anonymous and 'data-action="download"' not in anonymous
    developer = login("developer")
    db.session.add(
        AccessRequest(user_id=developer.id, dataset_id=dataset.id, purpose="开发应用", status=APPROVED)
    )
    db.session.commit()
    approved = page(client, f"/datasets/{dataset.name}")
    assert 'data-action="download"' in approved and 'data-action="apply"' not in approved
    stranger = client.application.test_client()  # another visitor, not signed in
    again = page(stranger, f"/datasets/{dataset.name}")
    assert 'data-action="apply"' in again and 'data-action="download"' not in again


def test_each_language_gets_its_own_page(client):
    dataset = make_dataset(index=False)
    db.session.commit()
    assert "数据容量" in page(client, f"/datasets/{dataset.name}")
    client.set_cookie("lang", "en", domain="localhost")
    english = page(client, f"/datasets/{dataset.name}")
    assert "Data volume" in english and "数据容量" not in english
    assert "Format" in page(client, "/datasets/")


def test_admins_see_removed_resources_the_public_does_not(client, login):
    dataset = make_dataset(resources=[{"format": "CSV"}, {"format": "CSV", "state": "removed"}], index=False)
    db.session.commit()
    removed = dataset.resources[1].ckan_id
    assert f'data-resource="{removed}"' not in page(client, f"/datasets/{dataset.name}")
    login("admin")
    assert f'data-resource="{removed}"' in page(client, f"/datasets/{dataset.name}")


def test_withdrawals_of_one_run_each_show_at_once_in_totals_and_facets(app, client, fake):
    with serve(fake) as url:
        sync(url)
        assert 'data-total="3"' in page(client, "/datasets/")
        fake.delete_package("dataset-001")
        fake.delete_package("dataset-002")
        sync(url, full=True)
        html = page(client, "/datasets/")
        assert 'data-total="1"' in html and facet_count(html, "theme", "jtcx") == 1


def test_a_change_to_an_unchanged_datasets_files_moves_its_version(app):
    from sqlalchemy import select

    from portal.catalogue.models import Dataset, Resource
    from portal.dbtypes import utcnow
    from portal.sync.write import Writer

    dataset = make_dataset(index=False)
    db.session.commit()
    writer = Writer(organizations={}, seed_codes={})
    old = {
        r.ckan_id: dict(
            db.session.execute(select(Resource.__table__).where(Resource.id == r.id)).one()._mapping
        )
        for r in dataset.resources
    }
    row = next(iter(old.values()))
    same = {k: v for k, v in row.items() if k not in ("id", "dataset_id")}
    assert writer.save_resources(dataset.id, [{**same, "volume_computed_at": utcnow()}], old) is False
    assert writer.save_resources(dataset.id, [{**same, "records": 7, "fields": 3}], old) is True
    before = dataset.last_synced_at
    writer.touch(dataset.id, utcnow())
    db.session.commit()
    db.session.refresh(dataset)
    assert dataset.last_synced_at > before
    assert db.session.get(Dataset, dataset.id).last_synced_at == dataset.last_synced_at


def test_a_rating_shows_on_the_card_and_page_of_the_next_request(client, login):
    dataset = make_dataset(resources=[])
    db.session.commit()
    assert "data-rating-count" not in page(client, "/datasets/")
    assert 'data-rating-count="0"' in page(client, f"/datasets/{dataset.name}")
    login("developer")
    assert client.post(f"/datasets/{dataset.name}/rating", data={"stars": "5"}).status_code == 302
    assert 'data-rating-mean="5.0" data-rating-count="1"' in page(client, "/datasets/")
    assert 'data-rating-mean="5.0" data-rating-count="1"' in page(client, f"/datasets/{dataset.name}")
