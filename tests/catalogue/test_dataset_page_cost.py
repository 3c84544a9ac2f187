"""The dataset page rendered anew at a lower cost (issue 20): its public part written in Python by
page_parts.render (the bytes its former templates wrote, kept in tests/catalogue/rows_before/catalogue/),
only the columns it shows read and converted (loading), and the access panel of a visitor not signed in
rendered once per language (dataset_views._anonymous_access)."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from catalogue_factories import make_dataset
from flask import render_template
from jinja2 import ChoiceLoader, FileSystemLoader

from portal.catalogue import dataset_views, loading, page_parts
from portal.catalogue.models import CONDITIONAL, Dataset, Resource
from portal.catalogue.quality import LinkCheck
from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db

BEFORE = Path(__file__).with_name("rows_before")  # the public part's former templates, under catalogue/
RESOURCES = [
    {"format": "CSV", "storage_key": "a/b.csv", "size": 12},
    {"format": "XLSX", "url": "https://example.org/数据表.xlsx"},
    {"format": "PDF", "url": "javascript:alert(1)"},
]


def _former(app, dataset, **view) -> str:
    """The public part as its templates rendered it (page_parts.render before issue 20's last step)."""
    environment = app.jinja_env.overlay(loader=ChoiceLoader([FileSystemLoader(BEFORE), app.jinja_env.loader]))
    shown = page_parts.labels()
    page_parts.add_links(dataset, view["downloadable"])
    return render_template(
        environment.get_template("catalogue/_dataset_body.html"),
        dataset=dataset,
        labels=shown,
        broken=dataset.broken_resource_ids,
        metadata_rows=page_parts.metadata_rows(dataset, shown),
        resource_rows=page_parts.resource_rows(dataset, shown, **view),
        **view,
    )


def _variants(loaded):
    """The loaded dataset in every form its public part shows: with and without a department, licence,
    description (plain, Markdown, none), resources (none, removed only, broken ones) and markup in its
    texts."""
    department = SimpleNamespace(title="南湖区 <局> & '引'", region=SimpleNamespace(name="330402"))
    licence = SimpleNamespace(title="许可 <x>", url="https://example.org/l?a&b")
    active, *others = loaded.resources
    removed = loading.PageResource(**{**vars(others[0]), "state": "removed", "id": 999})
    for n, (notes, resources, broken) in enumerate(
        [
            ("本数据集每月更新", loaded.resources, set()),
            ("**粗体** <script>x</script> & 'q'", loaded.resources, {active.id}),
            ("", [], set()),
            (None, [removed], {999}),
            ("一行\n\n两段", [active, removed], {active.id, 999}),
        ]
    ):
        variant = loading.PageDataset(**vars(loaded))
        variant.department, variant.licence = (department, licence) if n % 2 else (None, None)
        variant.title = "标题 <b>&</b> \"'" if n % 2 else loaded.title
        variant.notes, variant.resources, variant.broken_resource_ids = notes, list(resources), broken
        variant.download_count = 1234567 * n
        variant.metadata_created = None if n == 3 else datetime(2024, 3, 1, 16, 0)
        yield variant


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_public_part_is_what_its_templates_wrote(app, lang):
    made = make_dataset(
        "公厕分布",
        themes=["城建"],
        tags=["厕所 分布", "a&b"],
        resources=RESOURCES,
        extras={"update_frequency": "每月", "data_source": "https://example.org/?a&b"},
    )
    db.session.commit()
    loaded = loading.load_page_dataset(made.id)
    with app.test_request_context(environ_base={"HTTP_COOKIE": f"lang={lang}"}):
        app.preprocess_request()
        for dataset, (downloadable, origins, history) in itertools.product(
            _variants(loaded), itertools.product((False, True), repeat=3)
        ):
            view = {"downloadable": downloadable, "origins": origins, "history": history}
            assert page_parts.render(dataset, **view) == _former(app, dataset, **view)


def test_the_public_part_rendered_anew_costs_few_python_calls(app):
    """Through its templates the part of test_page_parts' dataset cost 1,223 calls; written in one pass
    some 550."""
    from calls import python_calls

    made = make_dataset(
        "公厕分布",
        themes=["城建", "交通"],
        tags=["厕所 分布", "a&b", "B"],
        resources=[{"format": "CSV", "storage_key": "a/b.csv"}, *RESOURCES[1:]],
        extras={"update_frequency": "每月", "data_source": "https://example.org/"},
        download_count=1234567,
    )
    db.session.commit()
    loaded = loading.load_page_dataset(made.id)
    with app.test_request_context():
        app.preprocess_request()

        def render() -> str:
            return page_parts.render(loaded, downloadable=True, origins=False, history=False)

        assert 'data-action="preview"' in render() and "1,234,567" in render()
        assert python_calls(render) < 700


def test_the_page_reads_and_converts_only_the_columns_it_shows(app):
    """Each time read on SQLite is some four Python calls: the page reads its dataset's creation and
    change times, not those of its syncs or withdrawal, nor any of its resources' (mirroring, measuring,
    CKAN's change), which made some 30 calls a page."""
    made = make_dataset(resources=RESOURCES)
    made.withdrawn_at = made.resources[0].mirrored_at = made.resources[0].volume_computed_at = utcnow()
    db.session.add(LinkCheck(resource_id=made.resources[1].id, broken=True, checked_at=utcnow()))
    db.session.commit()
    loaded = loading.load_page_dataset(made.id)
    dataset, resources, _ = loading._raw_statements(db.engine.dialect)
    times = {
        column.key
        for table in (Dataset.__table__, Resource.__table__)
        for column in table.columns
        if isinstance(column.type, UTCDateTime)
    }
    assert times & set(dataset.keys) == {"metadata_created", "metadata_modified"}
    assert not times & set(resources.keys)
    assert loaded.metadata_modified == made.metadata_modified and loaded.metadata_modified.tzinfo
    assert not hasattr(loaded, "withdrawn_at") and not hasattr(loaded.resources[0], "mirrored_at")
    with app.test_request_context():
        app.preprocess_request()
        page = page_parts.render(loaded, downloadable=True, origins=True, history=True)
    assert 'data-broken="1"' in page and "数据表.xlsx" in page


NAMES = ["gongce-fenbu", "公厕 分布", "a&b+c%d?e#f", "x/y;z", "it's <b>"]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_access_panel_of_a_visitor_not_signed_in_is_its_templates(app, lang):
    datasets = [make_dataset(name=name, open_condition=CONDITIONAL) for name in NAMES]
    db.session.commit()
    for root in ("", "/portal", ""):  # each language and script root its own panel
        with app.test_request_context(
            base_url=f"http://localhost{root}/", environ_base={"HTTP_COOKIE": f"lang={lang}"}
        ):
            app.preprocess_request()
            for dataset in datasets:
                panel = dataset_views._anonymous_access(dataset)
                assert panel == render_template("catalogue/_access.html", dataset=dataset, my_request=None)
                assert f'href="{root}/account/sign-in?next={root}/datasets/' in panel


def test_the_access_panel_is_kept_for_visitors_not_signed_in_only(app, client, login):
    """The template cost some 250 Python calls a page; kept, the panel costs its name's quoting."""
    from calls import python_calls

    conditional = make_dataset(name="tiaojian", open_condition=CONDITIONAL)
    open_to_all = make_dataset(name="wutiaojian")
    db.session.commit()
    with app.test_request_context():
        app.preprocess_request()
        assert dataset_views._anonymous_access(open_to_all) is None
        dataset_views._anonymous_access(conditional)
        template = python_calls(
            render_template, "catalogue/_access.html", dataset=conditional, my_request=None
        )
        assert python_calls(dataset_views._anonymous_access, conditional) < min(90, template / 2)
    page = client.get("/datasets/tiaojian").get_data(as_text=True)
    assert 'data-access="sign-in"' in page and "sign-in?next=/datasets/tiaojian" in page
    login("developer")
    page = client.get("/datasets/tiaojian").get_data(as_text=True)
    assert 'data-access="apply"' in page and 'data-access="sign-in"' not in page
