"""Data quality per dataset (issue 17 item 4): timeliness against the declared update frequency, openness
stars, broken resources from the latest link checks, and the per-department rows of /api/v1/quality."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from calls import python_calls
from catalogue_factories import make_dataset, make_department, make_resource

from portal.catalogue import changes, quality
from portal.catalogue.models import Dataset
from portal.catalogue.quality import LinkCheck
from portal.dbtypes import utcnow
from portal.extensions import db

NOW = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)


def _dataset(frequency: str | None, age: timedelta, **kwargs):
    extras = {"update_frequency": frequency} if frequency is not None else {}
    return make_dataset(modified=NOW - age, extras=extras, **kwargs)


@pytest.mark.parametrize(
    ("frequency", "days"),
    [("实时", 1), ("每日", 1), ("每周", 7), ("每月", 31), ("每季度", 92), ("每半年", 183), ("每年", 366)],
)
def test_a_dataset_is_overdue_just_past_its_frequency(app, frequency, days):
    on_time = _dataset(frequency, timedelta(days=days))
    late = _dataset(frequency, timedelta(days=days, seconds=1))
    assert not quality.is_overdue(on_time, on_time.resources, NOW)
    assert quality.is_overdue(late, late.resources, NOW)


@pytest.mark.parametrize("frequency", [None, "", "不定期", "每十年"])
def test_other_frequencies_are_never_overdue(app, frequency):
    old = _dataset(frequency, timedelta(days=5000))
    assert not quality.is_overdue(old, old.resources, NOW)


def test_a_resource_updated_later_than_the_metadata_keeps_a_dataset_timely(app):
    dataset = _dataset("每月", timedelta(days=60), resources=())
    fresh = make_resource(dataset, ckan_last_modified=NOW - timedelta(days=3))
    assert quality.latest_update(dataset, [fresh]) == NOW - timedelta(days=3)
    assert not quality.is_overdue(dataset, [fresh], NOW)
    fresh.state = "removed"  # a removed resource's date does not count
    assert quality.is_overdue(dataset, [fresh], NOW)


@pytest.mark.parametrize(
    ("formats", "stars"),
    [
        ((), 0),
        (("PDF",), 1),
        (("",), 0),
        (("PDF", "XLSX"), 2),
        (("XLSX", "CSV"), 3),
        (("json",), 3),
        (("CSV", "JSON-LD"), 4),
        (("TTL",), 4),
    ],
)
def test_openness_stars_are_the_best_active_resources(app, formats, stars):
    dataset = make_dataset(resources=[{"format": f} for f in formats])
    assert quality.openness_stars(dataset.resources) == stars


def test_a_removed_resource_gives_no_stars(app):
    dataset = make_dataset(resources=[{"format": "PDF"}, {"format": "CSV", "state": "removed"}])
    assert quality.openness_stars(dataset.resources) == 1


def _check(resource, broken: bool):
    db.session.add(
        LinkCheck(resource_id=resource.id, checked_at=NOW, status=404 if broken else 200, broken=broken)
    )
    db.session.flush()


def test_broken_counts_only_the_active_resources_whose_latest_check_failed(app):
    dataset = make_dataset(
        resources=[{"format": "CSV"}, {"format": "CSV"}, {"format": "PDF"}, {"format": "CSV"}]
    )
    ok, dead, gone, unchecked = dataset.resources
    _check(ok, False)
    _check(dead, True)
    _check(gone, True)
    gone.state = "removed"
    db.session.flush()
    assert quality.broken_counts() == {dataset.id: 1}
    assert quality.broken_counts([dataset.id]) == {dataset.id: 1}
    assert quality.broken_counts([]) == {}


def test_departments_rows(app):
    transport = make_department(name="jx-transport", title="嘉兴市交通运输局")
    health = make_department(name="jx-health", title="嘉兴市卫生健康委员会")
    late = _dataset("每月", timedelta(days=40), department=transport, resources=[{"format": "CSV"}])
    _dataset("每年", timedelta(days=40), department=transport, resources=[{"format": "PDF"}])
    _dataset(None, timedelta(days=40), department=health, resources=[{"format": "XLSX"}])
    _dataset("每日", timedelta(days=40), department=health, state="withdrawn")  # not counted
    _dataset("每日", timedelta(days=40))  # no department: not counted
    _check(late.resources[0], True)
    # title, description and department filled by every one; update frequency by the transport two
    assert quality.departments(NOW) == [
        {
            "organization": "jx-health",
            "title": "嘉兴市卫生健康委员会",
            "datasets": 1,
            "overdue": 0,
            "broken_resources": 0,
            "mean_openness_stars": 2.0,
            "mean_completeness": round(3 / 9, 4),
        },
        {
            "organization": "jx-transport",
            "title": "嘉兴市交通运输局",
            "datasets": 2,
            "overdue": 1,
            "broken_resources": 1,
            "mean_openness_stars": 2.0,
            "mean_completeness": round(8 / 18, 4),
        },
    ]


def test_counties_add_up_their_departments_and_list_every_region(app):
    nanhu = make_department(name="nh-a", region_code="330402")
    make_department(name="nh-b", region_code="330402")  # no dataset: not a row, adds nothing
    xiuzhou = make_department(name="xz-a", region_code="330411")
    _dataset("每月", timedelta(days=40), department=nanhu, resources=[{"format": "CSV"}])
    _dataset("每月", timedelta(days=3), department=nanhu, resources=[{"format": "PDF"}])
    _dataset(None, timedelta(days=3), department=xiuzhou, resources=[])
    summary = quality.summary(NOW)
    by_code = {c["code"]: c for c in summary["counties"]}
    assert len(by_code) == 8  # the city and its seven counties
    assert (by_code["330402"]["datasets"], by_code["330402"]["overdue"]) == (2, 1)
    assert by_code["330402"]["mean_openness_stars"] == 2.0
    assert by_code["330411"]["mean_openness_stars"] == 0.0
    assert by_code["330421"] == {**by_code["330421"], "datasets": 0, "mean_openness_stars": None}
    assert by_code["330421"]["mean_completeness"] is None
    assert summary["total"]["datasets"] == 3 and summary["total"]["overdue"] == 1
    assert [d["organization"] for d in summary["departments"]] == ["nh-a", "xz-a"]


def _full(**overrides) -> dict:
    values = {
        "title": "公交线路",
        "notes": "嘉兴市公交线路。",
        "tags": ["公交"],
        "extras": {"update_frequency": "每月", "spatial_coverage": "嘉兴市", "temporal_coverage": "2025"},
    }
    return {**values, **overrides}


def test_a_dataset_filling_every_field_is_complete(app):
    dataset = make_dataset(department=make_department(), **_full())
    dataset.licence_id, dataset.maintainer = None, "王工"
    assert quality.completeness(dataset) == round(8 / 9, 4)  # no licence
    from portal.catalogue.models import Licence

    db.session.add(Licence(id="cc-by", title="CC BY"))
    dataset.licence_id = "cc-by"
    assert quality.completeness(dataset) == 1.0
    assert [f.key for f in quality.COMPLETENESS_FIELDS if not f.is_filled(dataset)] == []


@pytest.mark.parametrize(
    ("key", "overrides"),
    [
        ("description", {"notes": "  "}),
        ("tags", {"tags": []}),
        ("update_frequency", {"extras": {"spatial_coverage": "嘉兴市", "temporal_coverage": "2025"}}),
        ("spatial", {"extras": {"update_frequency": "每月", "temporal_coverage": "2025"}}),
        ("temporal", {"extras": {"update_frequency": "每月", "spatial_coverage": "嘉兴市"}}),
    ],
)
def test_each_missing_field_counts_against_completeness(app, key, overrides):
    dataset = make_dataset(department=make_department(), **_full(**overrides))
    dataset.maintainer = "王工"
    missing = {f.key for f in quality.COMPLETENESS_FIELDS if not f.is_filled(dataset)}
    assert missing == {"licence", key}
    assert quality.completeness(dataset) == round(7 / 9, 4)


def test_a_title_that_only_repeats_the_ckan_name_and_no_contact_are_missing(app):
    dataset = make_dataset("bus-lines", name="bus-lines")
    missing = {f.key for f in quality.COMPLETENESS_FIELDS if not f.is_filled(dataset)}
    assert {"title", "contact", "department"} <= missing
    dataset.extras = {"contact_point": "0573-12345678"}
    assert quality.COMPLETENESS_FIELDS[6].is_filled(dataset)


def test_broken_resource_ids_name_the_active_resources_whose_latest_check_failed(app):
    dataset = make_dataset(resources=[{"format": "CSV"}, {"format": "PDF"}, {"format": "XLSX"}])
    ok, dead, gone = dataset.resources
    _check(ok, False)
    _check(dead, True)
    _check(gone, True)
    gone.state = "removed"
    db.session.flush()
    assert quality.broken_resource_ids(dataset.id) == {dead.id}
    assert [b["resource"] for b in quality.broken_resources(10)] == [dead.ckan_id]


def test_a_dataset_page_asks_its_broken_resources_with_a_statement_built_once(app):
    """Every dataset page rendered asks it: building its statement anew cost a third of running it."""
    dataset = make_dataset(resources=[{"format": "CSV"}])
    db.session.commit()
    quality.broken_resource_ids(dataset.id)

    def built_anew() -> set[int]:
        statement = quality._BROKEN_OF_DATASET.where(LinkCheck.resource_id > 0)  # the same, rebuilt
        return set(db.session.scalars(statement, {"dataset_id": dataset.id}))

    built_anew()
    assert python_calls(lambda: quality.broken_resource_ids(dataset.id)) < python_calls(built_anew)


# -- The summary at scale (issue 20 / issue 17 item 4): measured once per catalogue generation ----------


def _reference(now: datetime) -> dict[int, quality.Tally]:
    """The tallies as the per-dataset functions give them on loaded datasets (what /api/v1/datasets shows)."""
    broken = quality.broken_counts()
    rows: dict[int, quality.Tally] = {}
    for d in db.session.scalars(db.select(Dataset).where(Dataset.department_id.is_not(None))):
        if d.state != "published":
            continue
        rows.setdefault(d.department_id, quality.Tally()).add(
            quality.Tally(
                datasets=1,
                overdue=int(quality.is_overdue(d, d.resources, now)),
                broken_resources=broken.get(d.id, 0),
                openness_stars=quality.openness_stars(d.resources),
                fields_filled=quality.fields_filled(d),
                fields_expected=len(quality.COMPLETENESS_FIELDS),
            )
        )
    return rows


def _varied_catalogue():
    """Overdue by metadata, timely by a resource, overdue despite a removed resource's date, no frequency,
    withdrawn; stars from mixed-case, removed and missing formats; one broken link, one sound."""
    transport, health = make_department(name="jx-transport"), make_department(name="jx-health")
    resources = [{"format": "csv"}, {"format": "PDF"}, {"format": "TTL", "state": "removed"}]
    late = _dataset("每月", timedelta(days=40), department=transport, tags=["公交"], resources=resources)
    recent = [{"format": "XLSX", "ckan_last_modified": NOW - timedelta(days=d)} for d in (2, 9)]
    _dataset("每周", timedelta(days=20), department=transport, resources=recent)
    removed = [{"format": "JSON", "state": "removed", "ckan_last_modified": NOW}]
    full = _full(extras={"update_frequency": "每日", "spatial": "嘉兴市"})
    make_dataset(modified=NOW - timedelta(hours=30), department=health, resources=removed, **full)
    _dataset(None, timedelta(days=900), department=health, resources=[])
    _dataset("每年", timedelta(days=10), department=health, state="withdrawn")
    _check(late.resources[0], True)
    _check(late.resources[1], False)
    db.session.commit()
    return late


def test_the_measured_tallies_equal_the_per_dataset_figures_at_any_time(app):
    _varied_catalogue()
    measured = quality.measure()
    for now in (NOW, NOW - timedelta(days=30), NOW + timedelta(days=3), NOW + timedelta(days=400)):
        assert {d: s.at(now) for d, s in measured.items()} == _reference(now)
    assert sum(t.overdue for t in _reference(NOW).values()) == 2  # the monthly and the daily one


def test_a_cached_summary_is_measured_once_and_stays_exact_as_time_passes(app, monkeypatch):
    _varied_catalogue()
    measured = []
    monkeypatch.setattr(quality, "measure", lambda real=quality.measure: measured.append(1) or real())
    early, later = NOW - timedelta(days=30), NOW + timedelta(days=400)
    assert quality.summary(early)["total"]["overdue"] == 0
    assert quality.summary(NOW)["total"]["overdue"] == 2
    assert quality.summary(later)["total"]["overdue"] == 3  # the weekly one too, with no new measure
    assert len(measured) == 1
    for now in (early, NOW, later):
        assert quality.tallies(now) == _reference(now) == quality.tallies(now, cached=False)


def test_a_cached_summary_is_fresh_after_any_write_that_moves_the_change_time(app):
    late = _varied_catalogue()
    before = quality.summary(NOW)["total"]
    assert (before["datasets"], before["broken_resources"]) == (4, 1)
    # the link check's way: a resource's health changed, and its dataset is touched
    sound = db.update(LinkCheck).where(LinkCheck.resource_id == late.resources[1].id)
    db.session.execute(sound.values(broken=True))
    assert quality.summary(NOW)["total"]["broken_resources"] == 1  # not yet said: the cache holds
    changes.touch(db.session.connection(), [late.id], utcnow())
    db.session.commit()
    assert quality.summary(NOW)["total"]["broken_resources"] == 2
    # the sync's way: a dataset withdrawn, its change time marked
    late.state = "withdrawn"
    changes.mark(late, utcnow())
    db.session.commit()
    after = quality.summary(NOW)["total"]
    assert (after["datasets"], after["broken_resources"], after["overdue"]) == (3, 0, 1)
    assert quality.tallies(NOW) == _reference(NOW)


def test_a_renamed_department_shows_at_once_though_its_tallies_are_cached(app):
    late = _varied_catalogue()
    assert "jx-transport" in [d["organization"] for d in quality.departments(NOW)]
    late.department.name = "jx-traffic"  # no dataset is written
    db.session.commit()
    assert [d["organization"] for d in quality.departments(NOW)] == ["jx-health", "jx-traffic"]
