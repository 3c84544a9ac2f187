"""The sync follows CKAN when names change hands: records matched by CKAN id, else by name.

Every scenario runs against the fake CKAN over HTTP, incrementally and as a full run, and checks
that nothing failed and that the record's history (downloads, an application, a contest entry and
an access grant) stayed with it.
"""

from __future__ import annotations

import pytest
from application_factories import make_application
from ckanserver import FakeCkan, serve
from contest_factories import make_contest, make_entry, make_round, make_team
from factories import make_user
from sqlalchemy import delete, func, select, update
from sync_factories import GROUPS, ORGS, package, published, sync

from portal.applications.models import application_datasets
from portal.catalogue.models import APPROVED, AccessRequest, Dataset, Department, Resource
from portal.contest.models import entry_datasets
from portal.extensions import db
from portal.sync.models import SyncError, SyncIdentityChange, SyncRun

NEW = "20000000-0000-4000-8000-{:012d}"  # ids CKAN gives what is created again
NEW_RESOURCE = "30000000-0000-4000-8000-{:012d}"
RUNS = pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])


def recreated(n: int, **fields) -> dict:
    """Package n as CKAN holds it after being created again: same name, new ids."""
    resources = [{"id": NEW_RESOURCE.format(n), "name": "站点表", "format": "CSV", "url": ""}]
    return {**package(n, org=ORGS[n % 3]["name"]), "id": NEW.format(n), "resources": resources, **fields}


def give_history(name: str) -> int:
    """Give a synced dataset downloads, an approved application, a contest entry and an access grant."""
    dataset = db.session.scalar(select(Dataset).where(Dataset.name == name))
    dataset.download_count = 42
    make_application(datasets=[dataset], status="approved")
    contest = make_contest()
    entry = make_entry(make_team(contest), make_round(contest))
    placeholder = entry.datasets[0].id  # the factory's own dataset, unknown to CKAN: the claim moves over
    db.session.execute(
        update(entry_datasets).where(entry_datasets.c.entry_id == entry.id).values(dataset_id=dataset.id)
    )
    db.session.execute(delete(Dataset.__table__).where(Dataset.id == placeholder))
    db.session.expire_all()
    developer = make_user("developer")
    db.session.add(
        AccessRequest(user_id=developer.id, dataset_id=dataset.id, purpose="开发应用", status=APPROVED)
    )
    db.session.commit()
    return dataset.id


def assert_history_kept(dataset_id: int) -> None:
    dataset = db.session.get(Dataset, dataset_id)
    claims = (
        dataset.download_count,
        db.session.scalar(select(func.count()).where(application_datasets.c.dataset_id == dataset_id)),
        db.session.scalar(select(func.count()).where(entry_datasets.c.dataset_id == dataset_id)),
        db.session.scalar(
            select(func.count()).where(
                AccessRequest.dataset_id == dataset_id, AccessRequest.status == APPROVED
            )
        ),
    )
    assert claims == (42, 1, 1, 1)


def assert_clean(result: SyncRun) -> None:
    errors = [(e.package, e.stage, e.message) for e in result.errors]
    assert (result.status, result.failed, errors) == ("succeeded", 0, [])


def changes(result: SyncRun) -> list[tuple[str, str, str, str]]:
    rows = db.session.scalars(select(SyncIdentityChange).where(SyncIdentityChange.run_id == result.id))
    return sorted((c.kind, c.name, c.old_ckan_id, c.new_ckan_id) for c in rows)


@RUNS
def test_organization_purged_and_recreated_keeps_its_department_and_datasets(app, fake, ckan_url, full):
    sync(ckan_url, full=True)
    department_id = db.session.scalar(select(Department.id).where(Department.name == "tongxiang-wjj"))
    dataset_id = give_history("dataset-001")  # of tongxiang-wjj
    fake.purge_organization("tongxiang-wjj")
    fake.add_organization({**ORGS[1], "id": "org-tx-2"})
    for n in (1, 4, 7):  # its datasets, moved to the organization created again
        fake.update_package(f"dataset-{n:03d}", owner_org="tongxiang-wjj")
    result = sync(ckan_url, full=full)
    assert_clean(result)
    assert (result.updated, result.created, result.relinked) == (3, 0, 1)
    assert changes(result) == [("organization", "tongxiang-wjj", "org-tx", "org-tx-2")]
    department = db.session.get(Department, department_id)
    assert (department.ckan_id, department.region.name) == ("org-tx-2", "桐乡市")
    assert db.session.scalar(select(func.count()).select_from(Department)) == 3
    assert db.session.get(Dataset, dataset_id).department_id == department_id
    assert len(published()) == 7
    assert_history_kept(dataset_id)


@RUNS
def test_organization_renamed_and_its_old_name_reused_keeps_each_department_with_its_id(
    app, fake, ckan_url, full
):
    sync(ckan_url, full=True)
    department_id = db.session.scalar(select(Department.id).where(Department.name == "haining-jtj"))
    fake.purge_organization("haining-jtj")
    fake.add_organization({**ORGS[0], "name": "haining-jtj-old"})  # the same id, renamed
    fake.add_organization({**ORGS[0], "id": "org-hn-2", "title": "海宁市新设交通局"})
    fake.update_package("dataset-003", owner_org="haining-jtj")  # read first: it meets the old holder
    fake.update_package("dataset-006", owner_org="haining-jtj-old")
    result = sync(ckan_url, full=full)
    assert_clean(result)
    assert (result.relinked, changes(result)) == (0, [])
    departments = {d.ckan_id: (d.id, d.name) for d in db.session.scalars(select(Department))}
    assert departments["org-hn"] == (department_id, "haining-jtj-old")
    assert departments["org-hn-2"][1] == "haining-jtj"
    by_name = dict(db.session.execute(select(Dataset.name, Dataset.department_id)).all())
    assert (by_name["dataset-003"], by_name["dataset-006"]) == (departments["org-hn-2"][0], department_id)


@RUNS
def test_dataset_purged_and_recreated_takes_over_its_record(app, fake, ckan_url, full):
    sync(ckan_url, full=True)
    dataset_id = give_history("dataset-002")
    fake.purge_package("dataset-002")
    fake.add_package(recreated(2))
    result = sync(ckan_url, full=full)
    assert_clean(result)
    assert (result.created, result.relinked) == (0, 1)
    assert changes(result) == [("dataset", "dataset-002", package(2)["id"], NEW.format(2))]
    dataset = db.session.get(Dataset, dataset_id)
    assert (dataset.ckan_id, dataset.name, dataset.state) == (NEW.format(2), "dataset-002", "published")
    resources = {r.ckan_id: r.state for r in dataset.resources}
    assert resources == {package(2)["resources"][0]["id"]: "removed", NEW_RESOURCE.format(2): "active"}
    assert db.session.scalar(select(func.count()).select_from(Dataset)) == 7
    assert_history_kept(dataset_id)


@RUNS
def test_a_withdrawn_dataset_whose_name_comes_back_is_restored_with_its_history(app, fake, ckan_url, full):
    sync(ckan_url, full=True)
    dataset_id = give_history("dataset-005")
    fake.purge_package("dataset-005")
    assert sync(ckan_url, full=True).withdrawn == 1
    fake.add_package(recreated(5))
    result = sync(ckan_url, full=full)
    assert_clean(result)
    assert (result.restored, result.created, result.relinked) == (1, 0, 1)
    assert db.session.get(Dataset, dataset_id).ckan_id == NEW.format(5)
    assert "dataset-005" in published()
    assert_history_kept(dataset_id)


@RUNS
@pytest.mark.parametrize("renamed_read", ["first", "last"])
def test_rename_then_reuse_of_the_old_name_keeps_each_record_with_its_id(
    app, fake, ckan_url, full, renamed_read
):
    sync(ckan_url, full=True)
    dataset_id = give_history("dataset-003")
    fake.update_package("dataset-003", name="dataset-003-renamed")
    fake.add_package(recreated(3, title="新的数据集"))
    if renamed_read == "last":  # CKAN's search returns the newcomer before the renamed dataset
        fake.update_package("dataset-003-renamed", title="改名后的数据集")
    result = sync(ckan_url, full=full)
    assert_clean(result)
    assert (result.created, result.relinked) == (1, 0)
    renamed = db.session.get(Dataset, dataset_id)
    assert (renamed.name, renamed.ckan_id, renamed.state) == (
        "dataset-003-renamed",
        package(3)["id"],
        "published",
    )
    newcomer = db.session.scalar(select(Dataset).where(Dataset.name == "dataset-003"))
    assert (newcomer.ckan_id, newcomer.title, newcomer.download_count) == (NEW.format(3), "新的数据集", 0)
    assert {"dataset-003", "dataset-003-renamed"} <= published()
    assert_history_kept(dataset_id)


@RUNS
@pytest.mark.parametrize("survivor", ["old", "new"])
def test_two_live_datasets_claiming_one_name_publish_neither_until_one_is_gone(
    app, fake, ckan_url, full, survivor
):
    sync(ckan_url, full=True)
    dataset_id = give_history("dataset-004")
    old_id, new_id = package(4)["id"], NEW.format(4)
    fake.add_package(recreated(4), share_name=True)
    clash = sync(ckan_url, full=full)
    assert clash.failed >= 1 and clash.status == "partial"
    reported = [e for e in clash.errors if e.stage == "clash"]
    assert reported and old_id in reported[0].message and new_id in reported[0].message
    assert "dataset-004" not in published()
    assert db.session.get(Dataset, dataset_id).withdrawn_reason == "name_clash"
    assert db.session.scalar(select(Dataset).where(Dataset.ckan_id == new_id)) is None
    assert (clash.created, clash.relinked) == (0, 0)

    fake.purge_package(new_id if survivor == "old" else old_id)
    result = sync(ckan_url, full=full)
    assert_clean(result)
    dataset = db.session.get(Dataset, dataset_id)
    assert (dataset.ckan_id, dataset.state) == (old_id if survivor == "old" else new_id, "published")
    assert result.relinked == (0 if survivor == "old" else 1)
    assert db.session.scalar(select(func.count()).select_from(Dataset)) == 7
    assert_history_kept(dataset_id)


def test_a_clash_whose_both_ids_are_gone_becomes_an_ordinary_withdrawal(app, fake, ckan_url):
    sync(ckan_url, full=True)
    dataset_id = give_history("dataset-004")
    fake.add_package(recreated(4), share_name=True)
    assert sync(ckan_url).status == "partial"
    fake.purge_package(NEW.format(4))
    fake.purge_package(package(4)["id"])
    result = sync(ckan_url)
    assert_clean(result)
    dataset = db.session.get(Dataset, dataset_id)
    assert (dataset.state, dataset.withdrawn_reason) == ("withdrawn", "deleted")
    assert_history_kept(dataset_id)


def moved(fake: FakeCkan, *, rename: bool = False) -> FakeCkan:
    """The same catalogue in another CKAN instance: every id new, names kept (or all new)."""
    other = FakeCkan()
    for org in ORGS:
        other.add_organization(
            {**org, "id": f"moved-{org['id']}", "name": org["name"] + ("-x" if rename else "")}
        )
    for group in GROUPS:
        other.add_group({**group, "id": f"moved-{group['id']}"})
    for n in range(1, 8):
        pkg = recreated(n, organization=ORGS[n % 3]["name"] + ("-x" if rename else ""))
        if rename:
            pkg["name"] = f"moved-{n:03d}"
        other.add_package(pkg)
    return other


def test_a_whole_catalogue_moved_to_new_ids_keeps_every_record_at_one_listing_call(app, fake, ckan_url):
    sync(ckan_url, full=True)
    ids = dict(db.session.execute(select(Dataset.name, Dataset.id)).all())
    departments = dict(db.session.execute(select(Department.name, Department.id)).all())
    dataset_id = give_history("dataset-006")
    target = moved(fake)
    with serve(target) as url:
        result = sync(url, full=True)
    assert_clean(result)
    assert (result.created, result.updated, result.withdrawn, result.relinked) == (0, 7, 0, 10)
    assert dict(db.session.execute(select(Dataset.name, Dataset.id)).all()) == ids
    assert dict(db.session.execute(select(Department.name, Department.id)).all()) == departments
    assert set(db.session.scalars(select(Dataset.ckan_id))) == {NEW.format(n) for n in range(1, 8)}
    assert set(db.session.scalars(select(Department.ckan_id))) == {f"moved-{o['id']}" for o in ORGS}
    assert len(published()) == 7
    assert_history_kept(dataset_id)
    # cheap: one listing of ids answered for every name, and no package was shown one by one
    listings = [c for c in target.calls_to("package_search") if c and c.get("fl")]
    assert (len(listings), target.calls_to("package_show")) == (1, [])


def test_a_catalogue_moved_with_other_names_withdraws_the_old_ones(app, fake, ckan_url):
    sync(ckan_url, full=True)
    dataset_id = give_history("dataset-006")
    with serve(moved(fake, rename=True)) as url:
        result = sync(url, full=True)
    assert_clean(result)
    assert (result.created, result.withdrawn, result.relinked) == (7, 7, 0)
    assert published() == {f"moved-{n:03d}" for n in range(1, 8)}
    assert db.session.get(Dataset, dataset_id).state == "withdrawn"
    assert db.session.scalar(select(func.count()).select_from(Department)) == 6
    assert_history_kept(dataset_id)  # withdrawn, never deleted


def test_names_that_keep_their_ids_cost_no_extra_calls(app, fake, ckan_url):
    sync(ckan_url, full=True)
    fake.update_package("dataset-001", title="改过的标题")
    fake.add_package(package(20))
    before = len(fake.calls)
    result = sync(ckan_url)
    assert_clean(result)
    asked = [action for action, _ in fake.calls[before:]]
    assert "package_show" not in asked
    assert not [c for c in fake.calls_to("package_search") if c and c.get("fl")]


def test_run_page_lists_the_records_that_took_a_new_id(app, fake, ckan_url, client, login):
    sync(ckan_url, full=True)
    fake.purge_package("dataset-002")
    fake.add_package(recreated(2))
    result = sync(ckan_url)
    login("admin")
    html = client.get(f"/admin/sync/runs/{result.id}").get_data(as_text=True)
    assert html.count("data-change=") == 1
    assert package(2)["id"] in html and NEW.format(2) in html
    assert '<li data-counter="relinked"><strong>1</strong>' in html
    assert db.session.scalar(select(func.count()).select_from(SyncError)) == 0
    assert (
        db.session.scalar(select(func.count()).select_from(Resource).where(Resource.state == "removed")) == 1
    )
