"""Data quality per dataset (issue 17 item 4): timeliness against the declared update frequency, openness
stars, broken resources from the latest link checks, and the per-department rows of /api/v1/quality."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from catalogue_factories import make_dataset, make_department, make_resource

from portal.catalogue import quality
from portal.catalogue.quality import LinkCheck
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
