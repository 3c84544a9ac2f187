"""The catalogue page: search box, facets, chips, sorts, pager, empty state, highlights.

Assertions read the page's structure (data attributes, links), not its wording, so they
hold in Chinese and in English alike.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from catalogue_factories import make_dataset, make_department, make_theme
from flask import url_for
from markupsafe import escape
from sqlalchemy import func, select

from portal.activity.models import ActivityEvent
from portal.catalogue.models import CONDITIONAL, WITHDRAWN
from portal.extensions import db

FACET = re.compile(
    r'data-facet="(\w+)" data-value="([^"]*)"[^>]*>\s*<span class="facet-label">[^<]*</span>\s*'
    r'<span class="facet-count">(\d+)</span>'
)


def get(client, query: str = "") -> str:
    response = client.get(f"/datasets/{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def cards(html: str) -> list[str]:
    return re.findall(r'class="dataset-card" data-dataset="([^"]+)"', html)


def facet_counts(html: str) -> dict[tuple[str, str], int]:
    return {(facet, unescape(value)): int(n) for facet, value, n in FACET.findall(html)}


def link_params(html: str, attribute: str) -> dict[str, list[str]]:
    """The query parameters of the first link carrying `attribute`."""
    href = re.search(rf'<a [^>]*href="([^"]*)"[^>]*{attribute}|<a [^>]*{attribute}[^>]*href="([^"]*)"', html)
    assert href, attribute
    return parse_qs(urlsplit(unescape(href.group(1) or href.group(2))).query)


@pytest.fixture
def catalogue(app):
    """Four published datasets (and one withdrawn) in two counties."""
    nanhu = make_department(region_code="330402", title="南湖区交通运输局", name="nh-jt")
    haining = make_department(region_code="330481", title="海宁市卫生健康局", name="hn-wj")
    traffic, medical = make_theme("交通出行", name="jtcx"), make_theme("医疗卫生", name="ylws")
    make_dataset(
        title="南湖区公交线路",
        name="bus-routes",
        department=nanhu,
        themes=[traffic],
        tags=["公交"],
        resources=[{"format": "CSV"}, {"format": "JSON"}],
        download_count=30,
        modified=datetime(2026, 3, 1, tzinfo=UTC),
    )
    make_dataset(
        title="南湖区交通运输执法",
        name="transport-penalties",
        department=nanhu,
        themes=[traffic],
        resources=[{"format": "XLSX"}],
        download_count=5,
        modified=datetime(2026, 5, 1, tzinfo=UTC),
    )
    make_dataset(
        title="海宁市医院名录",
        name="hospitals",
        department=haining,
        themes=[medical],
        tags=["医院"],
        open_condition=CONDITIONAL,
        download_count=80,
        modified=datetime(2026, 1, 1, tzinfo=UTC),
    )
    make_dataset(
        title="海宁市公交卡充值点",
        name="bus-cards",
        department=haining,
        themes=[traffic, medical],
        tags=["公交"],
        resources=[{"format": "API"}],
        modified=datetime(2026, 4, 1, tzinfo=UTC),
    )
    make_dataset(title="南湖区旧公交站", name="old-stops", department=nanhu, state=WITHDRAWN)
    db.session.commit()


def test_page_lists_published_datasets_with_facets_and_counts(client, catalogue):
    html = get(client)
    assert cards(html) == ["transport-penalties", "bus-cards", "bus-routes", "hospitals"]
    assert 'data-total="4"' in html
    counts = facet_counts(html)
    assert counts[("department", "nh-jt")] == 2 and counts[("department", "hn-wj")] == 2
    assert counts[("region", "330402")] == 2 and counts[("region", "330481")] == 2
    assert counts[("theme", "jtcx")] == 3 and counts[("theme", "ylws")] == 2
    assert counts[("format", "CSV")] == 2 and counts[("format", "API")] == 1
    assert counts[("open_condition", "conditional")] == 1 and counts[("open_condition", "unconditional")] == 3
    assert counts[("tag", "公交")] == 2 and counts[("tag", "医院")] == 1


def test_filters_come_from_the_url_and_combine(client, catalogue):
    assert cards(get(client, "?region=330481")) == ["bus-cards", "hospitals"]
    assert cards(get(client, "?theme=jtcx&theme=ylws&region=330402")) == ["transport-penalties", "bus-routes"]
    assert cards(get(client, "?format=csv&condition=conditional")) == ["hospitals"]
    assert cards(get(client, "?q=公交&tag=公交&department=hn-wj")) == ["bus-cards"]


def test_a_facet_link_adds_its_value_and_a_selected_one_removes_it(client, catalogue):
    html = get(client, "?q=公交&theme=jtcx")
    assert link_params(html, 'data-facet="region" data-value="330481"') == {
        "q": ["公交"],
        "theme": ["jtcx"],
        "region": ["330481"],
    }
    assert link_params(html, 'data-facet="theme" data-value="jtcx"') == {"q": ["公交"]}
    assert link_params(html, 'data-facet="theme" data-value="ylws"') == {
        "q": ["公交"],
        "theme": ["jtcx", "ylws"],
    }


def test_selected_filters_and_words_show_as_removable_chips(client, catalogue):
    html = get(client, "?q=公交&department=nh-jt&sort=name")
    assert link_params(html, 'data-remove="department"') == {"q": ["公交"], "sort": ["name"]}
    assert link_params(html, 'data-remove="q"') == {"department": ["nh-jt"], "sort": ["name"]}
    assert 'class="chip-clear"' in html


def test_the_search_box_keeps_the_filters_and_the_sort(client, catalogue):
    html = get(client, "?q=公交&tag=公交&sort=downloads")
    assert 'name="q" value="公交"' in html
    assert '<input type="hidden" name="tag" value="公交">' in html
    assert '<input type="hidden" name="sort" value="downloads">' in html


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("updated", ["transport-penalties", "bus-cards", "bus-routes", "hospitals"]),
        ("downloads", ["hospitals", "bus-routes", "transport-penalties", "bus-cards"]),
    ],
)
def test_sort_orders(client, catalogue, sort, expected):
    html = get(client, f"?sort={sort}")
    assert cards(html) == expected
    assert re.search(rf'data-sort="{sort}" aria-current="true"', html)


def test_name_sort_orders_by_title(client, app):
    for title in ("马家浜遗址", "八里店公园", "大桥镇名录"):  # 八 < 大 < 马 in any collation
        make_dataset(title=title)
    db.session.commit()
    html = get(client, "?sort=name")
    assert re.findall(r'class="dataset-title"><a [^>]*>([^<]+)</a>', html) == [
        "八里店公园",
        "大桥镇名录",
        "马家浜遗址",
    ]


def test_relevance_puts_title_matches_first(client, app):
    make_dataset(title="医院名录", name="in-notes", notes="公交 " * 10)
    make_dataset(title="公交线路", name="in-title", notes="")
    db.session.commit()
    assert cards(get(client, "?q=公交")) == ["in-title", "in-notes"]


def test_pager_pages_through_the_results_keeping_the_search(client, app):
    theme = make_theme("交通出行", name="jtcx")
    for n in range(25):
        make_dataset(
            title=f"公交数据{n:02d}",
            name=f"bus-{n:02d}",
            themes=[theme],
            modified=datetime(2026, 1, 1 + n, tzinfo=UTC),
        )
    db.session.commit()
    first = get(client, "?q=公交&theme=jtcx")
    assert len(cards(first)) == 20
    assert link_params(first, 'rel="next"') == {"q": ["公交"], "theme": ["jtcx"], "page": ["2"]}
    second = get(client, "?q=公交&theme=jtcx&page=2")
    assert cards(second) == [f"bus-{n:02d}" for n in range(4, -1, -1)]
    assert link_params(second, 'rel="prev"')["page"] == ["1"]


def test_pager_links_are_those_url_for_builds(client, app):
    theme = make_theme("交通 出行&", name="jt cx&")
    for n in range(45):
        make_dataset(title=f"公交数据{n:02d}", themes=[theme], tags=["a+b"])
    db.session.commit()
    params = {"q": ["公交 数据"], "theme": ["jt cx&"], "tag": ["a+b"], "sort": ["name"]}
    html = get(client, "?q=公交+数据&theme=jt+cx%26&tag=a%2Bb&sort=name&page=2")
    with app.test_request_context("/datasets/"):
        for rel, page in (("prev", 1), ("next", 3)):
            expected = url_for("catalogue.index", page=page, **params)
            assert f'href="{escape(expected)}" rel="{rel}"' in html


def test_empty_state_suggests_clearing_filters_broader_words_and_popular_themes(client, catalogue):
    html = get(client, "?q=火星基地&region=330402")
    assert cards(html) == [] and 'data-total="0"' in html
    assert link_params(html, 'data-suggest="clear"') == {"q": ["火星基地"]}
    assert link_params(html, 'data-suggest="words"') == {"region": ["330402"]}
    assert link_params(html, 'data-suggest="theme"') == {"theme": ["jtcx"]}


def test_a_page_past_the_end_offers_the_first_page(client, catalogue):
    html = get(client, "?page=999999&region=330402")
    assert cards(html) == []
    assert 'data-total="2"' in html
    assert 'href="/datasets/?region=330402"' in html


@pytest.mark.parametrize(
    "query",
    [
        "?page=abc",
        "?page=-1",
        "?page=0",
        "?page=999999",
        "?page=1e9",
        "?page=99999999999999999999999",
        "?sort=unknown",
        "?sort=",
        "?q=" + "交通" * 5000,
        "?q=%22%27*%3A()-%25_%5C",
        "?q=%00%01",
        "?department=%3Cscript%3E&region=x&theme=&format=%25&condition=maybe&tag=" + "标" * 500,
        "?q=%F0%9F%9A%8C",
    ],
)
def test_bad_parameters_never_error(client, catalogue, query):
    get(client, query)


def test_highlights_escape_hostile_titles_and_notes(client, app):
    make_dataset(title="<script>alert(1)</script>交通", name="hostile-1", notes="<b onclick=x()>交通</b>")
    make_dataset(title="<img src=x onerror=alert(1)>", name="hostile-2", notes="")
    db.session.commit()
    searched = get(client, "?q=交通")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<mark>交通</mark>" in searched
    assert "<script>alert(1)" not in searched and "<b onclick" not in searched
    listed = get(client)
    assert "&lt;img src=x onerror=alert(1)&gt;" in listed
    assert "<img src=x" not in listed


def test_cards_show_department_county_formats_condition_and_link_to_the_dataset(client, catalogue):
    html = get(client, "?q=医院")
    card = html[html.index('data-dataset="hospitals"') :]
    assert 'href="/datasets/hospitals"' in card
    assert "海宁市卫生健康局" in card and "海宁市" in card
    assert 'data-condition="conditional"' in card and 'data-format="CSV"' in card
    assert 'data-downloads="80"' in card and 'datetime="2026-01-01' in card


def test_page_styles_come_from_the_stylesheet_not_inline(client, catalogue):
    html = get(client, "?q=公交")
    assert "/static/css/catalogue.css" in html
    assert " style=" not in html and "<style" not in html


def test_a_search_with_words_is_recorded_as_activity(client, catalogue):
    get(client)
    get(client, "?region=330402")
    assert db.session.scalar(select(func.count()).where(ActivityEvent.kind == "search")) == 0
    get(client, "?q=公交")
    assert db.session.scalar(select(func.count()).where(ActivityEvent.kind == "search")) == 1


def test_control_characters_in_the_words_are_not_echoed(client, catalogue):
    """A NUL, an escape or a line break in q is a space: the page that repeats the words carries none."""
    html = get(client, "?q=%E5%85%AC%00%E4%BA%A4%1B%5B31m%0D%0A%7F")
    assert not any(ch in html for ch in "\x00\x1b\r\x7f")
    assert 'value="公 交 [31m"' in html


def test_the_page_reads_in_english_on_request(client, catalogue):
    client.set_cookie("lang", "en", domain="localhost")
    assert "datasets found" in get(client, "?q=公交")


@pytest.mark.parametrize("value", ["交通 运输", "a&b=c", "50%+/x?#", "'()*!$,;:@", "é~_.-"])
def test_links_built_without_url_for_are_those_of_url_for(app, value):
    """The page builds its many links by hand for speed; they must be url_for's, byte for byte."""
    from flask import url_for

    from portal.catalogue import search, views

    query = search.normalise(search.SearchQuery(q=value, tags=(value, "公交"), sort="name"))
    with app.test_request_context("/datasets/"):
        links = views._Links(query)
        assert links.toggle("theme", value) == url_for(
            "catalogue.index", q=value, theme=value, tag=[value, "公交"], sort="name"
        )
        assert links.toggle("tag", value) == url_for("catalogue.index", q=value, tag="公交", sort="name")
        assert links.without_filters() == url_for("catalogue.index", q=value, sort="name")
        assert links.without_text() == url_for("catalogue.index", tag=[value, "公交"], sort="name")
        dataset_url = views._dataset_urls()
        for name in (value, "bus-routes"):
            assert dataset_url(type("D", (), {"name": name})) == url_for("catalogue.dataset", name=name)


def test_card_dates_are_the_day_in_the_portals_time_zone_as_babel_gives_it(app):
    from flask_babel import format_date

    from portal.i18n import local_date

    with app.test_request_context("/"):
        for moment in (datetime(2026, 11, 25, 15, 59, tzinfo=UTC), datetime(2026, 11, 25, 16, 0, tzinfo=UTC)):
            assert local_date(moment) == format_date(moment, "yyyy-MM-dd")
        assert local_date(datetime(2026, 11, 25, 16, 0, tzinfo=UTC)) == "2026-11-26"
