"""The dataset page's public part rendered from labels translated once per language and links built
without url_for (catalogue/page_parts.py): the same text as the templates' own `_()`, `url_for` and Babel
formats give, for far fewer Python calls (issue 20)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from catalogue_factories import make_dataset
from flask import render_template, render_template_string, url_for
from flask_babel import force_locale
from markupsafe import Markup

from portal.catalogue import loading, page_parts, quality
from portal.catalogue.quality import LinkCheck
from portal.dbtypes import utcnow
from portal.extensions import db

RESOURCES = [
    {"format": "CSV", "storage_key": "a/b.csv"},
    {"format": "XLSX", "url": "https://example.org/数据表.xlsx"},
    {"format": "PDF", "url": "javascript:alert(1)"},
]


@pytest.fixture
def loaded(app):
    made = make_dataset(
        "公厕分布",
        themes=["城建", "交通"],
        tags=["厕所 分布", "a&b", "B"],
        resources=RESOURCES,
        extras={"update_frequency": "每月", "data_source": "https://example.org/"},
        download_count=1234567,
    )
    db.session.commit()
    return loading.load_page_dataset(made.id)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_labels_are_what_the_templates_gettext_shows(app, lang):
    with app.test_request_context(
        headers={"Accept-Language": lang}, environ_base={"HTTP_COOKIE": f"lang={lang}"}
    ):
        app.preprocess_request()
        labels = page_parts.labels()
        assert labels.details == render_template_string('{{ _("Details") }}')
        assert labels.extras["data_source"] == render_template_string('{{ _("Data source") }}')
        assert labels.invalid_reasons["empty"] == render_template_string('{{ _("no records") }}')
        assert labels.reports == render_template_string('{{ _("Problem reports and replies") }}')
        assert isinstance(labels.download, Markup)


def test_labels_follow_the_language_and_cost_few_python_calls(app):
    """Found by the locale, the labels cost 22 calls a lookup (four a page); by the request's catalogue 9."""
    from calls import python_calls

    with app.test_request_context(environ_base={"HTTP_COOKIE": "lang=zh_CN"}):
        app.preprocess_request()
        chinese = page_parts.labels()
        with force_locale("en"):
            assert page_parts.labels().details == "Details" != chinese.details
        assert page_parts.labels() is chinese
        assert python_calls(page_parts.labels) < 15


@pytest.mark.parametrize(
    "moment",
    [datetime(2024, 3, 1, 15, 59), datetime(2024, 3, 1, 16, 0), datetime(2024, 12, 31, 23, 30, tzinfo=UTC)],
)
def test_the_day_filter_is_babels_day_in_the_users_time_zone(app, moment):
    with app.test_request_context():
        babel = render_template_string('{{ m|datetimeformat("yyyy-MM-dd") }}', m=moment)
        assert page_parts.day(moment) == Markup(f'<time datetime="{moment.isoformat()}">{babel}</time>')
        assert page_parts.day(None) == "—"


def test_the_links_are_those_of_url_for(app, loaded):
    with app.test_request_context():
        page_parts.add_links(loaded, downloadable=True)
        assert [t.url for t in loaded.themes] == [
            url_for("catalogue.index", theme=t.name) for t in loaded.themes
        ]
        assert [t.url for t in loaded.tags] == [url_for("catalogue.index", tag=t.name) for t in loaded.tags]
        mirrored, linked, unsafe = loaded.resources
        assert mirrored.download_url == url_for(
            "catalogue.download", name=loaded.name, resource_id=mirrored.ckan_id
        )
        assert mirrored.preview_url == url_for(
            "catalogue.preview", name=loaded.name, resource_id=mirrored.ckan_id
        )
        assert linked.download_url.endswith("/download") and linked.preview_url is None  # no copy to preview
        assert unsafe.download_url is None and unsafe.preview_url is None
        assert loaded.active_resources == loaded.resources


def test_the_loaded_dataset_lists_its_themes_tags_and_broken_resources_as_the_orm_does(app):
    made = make_dataset(themes=["城建", "交通"], tags=["b", "A", "厕所"], resources=RESOURCES)
    dead, gone = made.resources[1:]
    for resource in (dead, gone):
        db.session.add(LinkCheck(resource_id=resource.id, broken=True, checked_at=utcnow()))
    gone.state = "removed"
    db.session.commit()
    loaded = loading.load_page_dataset(made.id)
    assert [(t.name, t.title) for t in loaded.themes] == sorted((t.name, t.title) for t in made.themes)
    assert [t.name for t in loaded.tags] == [t.name for t in sorted(made.tags, key=lambda t: t.name)]
    assert loaded.broken_resource_ids == quality.broken_resource_ids(made.id) == {dead.id}


def test_the_public_part_rendered_anew_costs_few_python_calls(app, loaded):
    """With `_()` per label, url_for per link and macros for numbers and days this part cost 3,310 calls
    (three resources, a theme, two tags, two extras); labels, links and filters cut it to 2,315, the rows
    of its two tables written in Python (page_parts.metadata_rows, resource_rows) to 1,223."""
    from calls import python_calls

    with app.test_request_context():
        app.preprocess_request()

        def render() -> str:
            return page_parts.render(loaded, downloadable=True, origins=False, history=False)

        page = render()
        assert 'data-action="preview"' in page and "1,234,567" in page
        assert python_calls(render) < 1_400


@pytest.mark.parametrize("name", ["gongce-fenbu", "公厕 分布", "a&b+c%d?e#f", "x/y;z"])
def test_the_page_links_are_those_of_url_for(app, name):
    for root in ("", "/portal", ""):  # each script root its own links
        with app.test_request_context(base_url=f"http://localhost{root}/"):
            links = page_parts.page_links(name)
            assert links.stylesheet == url_for("static", filename="css/dataset.css")
            assert links.catalogue == url_for("catalogue.index") == f"{root}/datasets/"
            assert links.rate == url_for("feedback.rate", name=name)
            assert links.new_report == url_for("feedback.new_report", name=name)
            assert links.reports == url_for("feedback.dataset_reports", name=name)
            assert links.comments == url_for("comments.dataset_comments", name=name)


def test_the_page_around_its_public_part_rendered_anew_costs_few_python_calls(app):
    """With `_()` per label and url_for per link, dataset.html around its public part cost 631 calls
    for a visitor without cookies; labels and links cut it to 378."""
    from calls import python_calls

    made = make_dataset("公厕分布")
    db.session.commit()
    with app.test_request_context():
        app.preprocess_request()

        def render() -> str:
            return render_template(
                "catalogue/dataset.html",
                dataset=made,
                body=Markup("<p>body</p>"),
                my_request=None,
                reuses_panel="",
                labels=page_parts.labels(),
                links=page_parts.page_links(made.name),
            )

        page = render()
        assert url_for("feedback.dataset_reports", name=made.name) in page and "<p>body</p>" in page
        assert python_calls(render) < 440


VOLUME_MACRO = """{%- macro volume(item) %}
  {%- if item.volume is none -%}
    <span class="unmeasured" data-volume="unmeasured">{{ _("Unmeasured") }}</span>
  {%- elif item.records is defined -%}
    <span data-volume="{{ item.volume }}">{{ item.volume|thousands }}</span>
    <span class="hint">({{ _("%(records)s records × %(fields)s fields", records=item.records|thousands,
                             fields=item.fields|thousands) }})</span>
  {%- else -%}
    <span data-volume="{{ item.volume }}">{{ item.volume|thousands }}</span>
  {%- endif -%}
{% endmacro %}{{ volume(item) }}"""  # the macro the `volume` filter replaced


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_volume_filter_writes_what_the_macro_wrote(app, lang):
    from calls import python_calls

    items = [
        loading.PageResource(records=1234, fields=12, state="active", invalid_reason=None),
        loading.PageResource(records=None, fields=3, state="active", invalid_reason=None),
        loading.PageDataset(resources=[]),
        loading.PageDataset(),
    ]
    items[3].resources = items[:1]
    with app.test_request_context(environ_base={"HTTP_COOKIE": f"lang={lang}"}):
        app.preprocess_request()
        for item in items:
            assert page_parts.volume(item) == render_template_string(VOLUME_MACRO, item=item)
        assert "14,808" in page_parts.volume(items[0]) and "1,234" in page_parts.volume(items[0])
        assert python_calls(page_parts.volume, items[0]) < 30  # the macro: 98


@pytest.mark.parametrize(
    "value",
    ["https://example.org/a?b=1&c=<2>", " http://example.org/ ", "javascript:alert(1)", "<b>每月</b>", "", 7],
)
def test_the_linked_filter_writes_what_the_macro_wrote(app, value):
    from calls import python_calls

    macro = (
        '{% from "catalogue/_dataset_macros.html" import link_or_text %}'
        "{{ link_or_text(value) if safe_url(value) else value }}"
    )
    with app.test_request_context():
        assert page_parts.linked(value) == render_template_string(macro, value=value)
        assert python_calls(page_parts.linked, value) < 30


@pytest.mark.parametrize("text", [None, "", "许可 <协议>"])
@pytest.mark.parametrize("url", ["https://example.org/a?b=1&c=<2>", "javascript:alert(1)", "ftp://x.org/"])
def test_the_web_link_filter_writes_what_the_macro_wrote(app, url, text):
    from calls import python_calls

    macro = '{% from "catalogue/_dataset_macros.html" import link_or_text %}{{ link_or_text(url, text) }}'
    with app.test_request_context():
        assert page_parts.web_link(url, text) == render_template_string(macro, url=url, text=text)
        assert python_calls(page_parts.web_link, url, text) < 30


# The rows of the details and resources tables as their templates' loops wrote them before page_parts did
# (the resources' first line sets what the template around them set; each file's last line break is not
# the rows').
BEFORE = Path(__file__).with_name("rows_before")
METADATA_ROWS = (BEFORE / "metadata.html").read_text(encoding="utf-8").removesuffix("\n")
RESOURCE_ROWS = (
    (BEFORE / "resources.html").read_text(encoding="utf-8").removesuffix("\n").replace("\n", "", 1)
)


def _varied(loaded, department, licence):
    """The loaded dataset with what its rows show in every form: resources removed, broken, invalid for
    each reason, with and without names, sizes, volumes and descriptions; markup in every text."""
    loaded.department = department
    loaded.licence = licence
    loaded.maintainer, loaded.author = "", "作者 <a>"
    loaded.source_url = "javascript:alert(1)" if licence else "https://example.org/?a=1&b=<2>"
    loaded.extras = {"update_frequency": "每月", "data_source": "https://x.org/?a&b", "k<e>y": "v&l", "n": 7}
    loaded.open_condition = "conditional" if licence else "unconditional"
    loaded.metadata_created = None if licence else datetime(2024, 3, 1, 16, 0)
    resources = []
    cases = [
        {"is_valid": True, "size": 1, "records": 12, "fields": 3},
        {
            "is_valid": False,
            "invalid_reason": "not_machine_readable",
            "size": None,
            "description": "<b>&</b>",
        },
        {"is_valid": False, "invalid_reason": "empty", "size": 1536, "name": ""},
        {"is_valid": False, "invalid_reason": 'odd<&>"', "state": "removed", "mirrored_size": 500},
        {"is_valid": False, "invalid_reason": None, "format": "", "url": ""},
    ]
    for n, case in enumerate(cases):
        resource = loading.PageResource(**{**vars(loaded.resources[n % len(loaded.resources)]), **case})
        resource.id, resource.ckan_id = 1000 + n, f"r{n}/ä b?&"
        resource.download_count = 1234 * n
        resources.append(resource)
    loaded.resources = resources
    loaded.broken_resource_ids = {1001, 1003}
    return loaded


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("variant", [0, 1])
def test_the_rows_are_what_their_templates_wrote(app, loaded, lang, variant):
    """metadata_rows and resource_rows write the bytes the templates' loops wrote, for every user's view."""
    import itertools

    department = SimpleNamespace(title="南湖区 <局>", region=SimpleNamespace(name="330402"))
    licence = SimpleNamespace(title="许可 <x>", url="https://example.org/l?a&b")
    dataset = _varied(loaded, *((department, licence) if variant else (None, None)))
    with app.test_request_context(environ_base={"HTTP_COOKIE": f"lang={lang}"}):
        app.preprocess_request()
        labels = page_parts.labels()
        for downloadable, origins, history in itertools.product((False, True), repeat=3):
            page_parts.add_links(dataset, downloadable)
            view = {"downloadable": downloadable, "origins": origins, "history": history}
            context = {"dataset": dataset, "labels": labels, "broken": dataset.broken_resource_ids, **view}
            assert page_parts.metadata_rows(dataset, labels) == render_template_string(
                METADATA_ROWS, **context
            )
            assert "    " + page_parts.resource_rows(dataset, labels, **view) == render_template_string(
                RESOURCE_ROWS, **context
            )
