"""Chinese full-text search of the catalogue, with facets, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from catalogue_factories import make_dataset, make_department, make_theme
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup
from sqlalchemy import func, select

from portal.catalogue import search, search_index, terms
from portal.catalogue.models import CONDITIONAL, WITHDRAWN, Dataset, DatasetSearch
from portal.extensions import db
from portal.sync import remote, run


def titles(q: str = "", **fields) -> list[str]:
    return [d.title for d in search.search_datasets(search.SearchQuery(q=q, **fields)).items]


def units(q: str) -> list[terms.Unit]:
    return terms.query_units(q)


# -- pure term functions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("交通运输", ["交通", "通运", "运输", "输"]),
        ("交通", ["交通", "通"]),
        ("路", ["路"]),
        ("Bus Routes", ["bus", "routes"]),
        ("ＧＤＰ增长2023年", ["gdp", "增长", "长", "2023", "年"]),
        ("公交、地铁", ["公交", "交", "地铁", "铁"]),
        ("", []),
        ("a" * 41 + " ok", ["ok"]),
    ],
)
def test_index_terms_are_cjk_bigrams_with_a_trailing_unigram_and_lower_case_words(text, expected):
    assert terms.index_terms(text) == expected


def test_query_units_make_phrases_of_cjk_runs_and_prefixes_of_single_characters():
    assert units("交通运输 CSV 站") == [
        terms.Unit(terms.PHRASE, "交通运输", ("交通", "通运", "运输")),
        terms.Unit(terms.WORD, "csv", ("csv",)),
        terms.Unit(terms.CHARACTER, "站", ("站",)),
    ]


def test_query_units_of_punctuation_only_are_empty_and_repeats_count_once():
    assert units("\"'*:()-%_\\ ；。") == []
    assert len(units("交通 交通 交通")) == 1
    assert len(units(" ".join(f"词{i}语" for i in range(50)))) == terms.MAX_UNITS


def test_engine_queries_quote_only_safe_terms():
    mixed = units("交通 bus 站")
    assert terms.fts5_query(mixed) == '"交通" AND "bus" AND "站"*'
    assert terms.tsquery(mixed) == "('交通') & ('bus') & '站':*"
    assert terms.tsquery(units("交通运输")) == "('交通' <-> '通运' <-> '运输')"


def test_highlight_escapes_first_and_marks_only_matched_text():
    marked = terms.highlight("<script>alert(1)</script>交通", units("交通"))
    assert isinstance(marked, Markup)
    assert marked == "&lt;script&gt;alert(1)&lt;/script&gt;<mark>交通</mark>"
    assert terms.highlight("<img src=x onerror=alert(1)>", units("img")) == (
        "&lt;<mark>img</mark> src=x onerror=alert(1)&gt;"
    )


def test_highlight_marks_the_parts_of_a_cjk_query_found_in_the_text_and_whole_words():
    assert terms.highlight("交通与运输", units("交通运输")) == "<mark>交通</mark>与<mark>运输</mark>"
    assert terms.highlight("交通运输局", units("交通运输")) == "<mark>交通运输</mark>局"
    assert terms.highlight("CSV and csvx", units("csv")) == "<mark>CSV</mark> and csvx"


def test_snippet_is_about_120_characters_around_the_first_match():
    text = "甲" * 300 + "公交站点" + "乙" * 300
    cut = terms.snippet(text, units("公交"))
    assert "<mark>公交</mark>" in cut
    assert cut.startswith("…") and cut.endswith("…")
    assert len(Markup(cut).striptags()) <= 122
    assert terms.snippet("短文本", []) == "短文本"


def test_plain_text_drops_markdown_and_raw_html():
    assert terms.plain_text("**公交**站点\n\n<script>x()</script>\n\n[链接](http://a.cn)") == "公交站点 链接"


# Text with a little of everything Markdown reads at the start of a line or anywhere: the plain
# text of what holds no markup is taken without the parser, and must be what the parser gives.
MARKDOWNISH = st.text(
    alphabet=st.sampled_from(list("公交站点 ab1290.):-+=*_#>|[]()!<&`~\\\t\n\r\x00\u3000\u00a0")), max_size=40
)


@settings(max_examples=2000, deadline=None)
@given(MARKDOWNISH)
def test_plain_text_of_text_without_markup_is_what_the_parser_gives(text):
    assert terms.plain_text(text) == terms._parsed_text(text)


def test_plain_text_of_plain_notes_skips_the_parser(monkeypatch):
    monkeypatch.setattr(terms, "_markdown", None)  # any parse would fail
    assert terms.plain_text("本数据集由嘉兴市提供，\n包含 2025 年的站点。\r\n\n每月更新") == (
        "本数据集由嘉兴市提供， 包含 2025 年的站点。 每月更新"
    )


# -- search against the database -------------------------------------------------------------------


def test_two_character_word_finds_longer_words_that_contain_it(app):
    make_dataset(title="嘉兴市交通运输行政处罚信息")
    make_dataset(title="医疗机构名录", notes="医院信息")
    assert titles("交通") == ["嘉兴市交通运输行政处罚信息"]


def test_longer_word_matches_only_text_that_contains_it_whole(app):
    make_dataset(title="交通运输企业名录")
    make_dataset(title="交通安全与道路运输", notes="")
    assert titles("交通运输") == ["交通运输企业名录"]


def test_single_character_finds_it_at_the_start_middle_or_end_of_a_word(app):
    make_dataset(title="公交线路", notes="")
    make_dataset(title="交通运输", notes="")
    make_dataset(title="医院名录", notes="")
    assert sorted(titles("交")) == ["交通运输", "公交线路"]
    assert titles("输") == ["交通运输"]


def test_several_words_narrow_the_results(app):
    haining = make_department(region_code="330481", title="海宁市交通运输局")
    make_dataset(title="海宁市公交线路", department=haining)
    make_dataset(title="海宁市医院名录", department=haining, notes="")
    make_dataset(title="南湖区公交线路")
    assert titles("海宁 公交") == ["海宁市公交线路"]
    assert sorted(titles("公交")) == ["南湖区公交线路", "海宁市公交线路"]


def test_ascii_words_match_whole_and_ignore_case(app):
    make_dataset(title="嘉兴市GDP统计", notes="")
    make_dataset(title="嘉兴市GDPX统计", notes="")
    assert titles("gdp") == ["嘉兴市GDP统计"]


def test_title_matches_rank_above_tag_matches_above_description_matches(app):
    make_dataset(title="医院名录", notes="公交 " * 20, modified=datetime(2026, 1, 3, tzinfo=UTC))
    make_dataset(title="站点信息", tags=["公交"], notes="", modified=datetime(2026, 1, 2, tzinfo=UTC))
    make_dataset(title="公交线路", notes="", modified=datetime(2026, 1, 1, tzinfo=UTC))
    assert titles("公交") == ["公交线路", "站点信息", "医院名录"]


def test_department_themes_and_extras_are_searched_too(app):
    haiyan = make_department(region_code="330424", title="海盐县卫生健康局")
    make_dataset(title="名录一", notes="", department=haiyan)
    make_dataset(title="名录二", notes="", themes=["医疗卫生"])
    make_dataset(title="名录三", notes="", extras={"spatial_coverage": "平湖市"})
    assert titles("海盐") == ["名录一"]
    assert titles("医疗") == ["名录二"]
    assert titles("平湖") == ["名录三"]


def test_a_search_without_match_returns_nothing(app):
    make_dataset(title="公交线路")
    result = search.search_datasets(search.SearchQuery(q="火星基地"))
    assert (result.items, result.total) == ([], 0)


@pytest.mark.parametrize(
    "q",
    [
        '"',
        "'",
        "*",
        ":",
        "(",
        ")",
        "-",
        "%",
        "_",
        "\\",
        '公交" OR 1=1 --',
        "'; DROP TABLE datasets; --",
        "title:公交 NEAR(a b) NOT c*",
        "公交 & | ! <-> :*",
        "🚌公交🚇",
        "交" * 10_000,
        "\x00\u200b公交",
    ],
)
def test_special_characters_and_long_queries_are_harmless(app, q):
    make_dataset(title="公交线路")
    result = search.search_datasets(search.SearchQuery(q=q))
    assert result.total == len(result.items) <= 1
    assert db.session.scalar(select(func.count()).select_from(Dataset)) == 1


def test_withdrawn_datasets_are_never_found_nor_counted(app):
    make_dataset(title="公交线路", themes=["交通出行"])
    make_dataset(title="公交站点", state=WITHDRAWN, themes=["交通出行"])
    result = search.search_datasets(search.SearchQuery(q="公交"))
    assert [d.title for d in result.items] == ["公交线路"]
    assert [(f.label, f.count) for f in result.facets["theme"]] == [("交通出行", 1)]
    assert titles() == ["公交线路"]


def test_sorts_by_update_downloads_and_name_and_relevance_without_words_is_by_update(app):
    # 八 < 大 < 马 by code point and by pinyin alike, so any collation agrees
    make_dataset(title="大桥", download_count=5, modified=datetime(2026, 1, 1, tzinfo=UTC))
    make_dataset(title="马家", download_count=9, modified=datetime(2026, 1, 2, tzinfo=UTC))
    make_dataset(title="八里", download_count=1, modified=datetime(2026, 1, 3, tzinfo=UTC))
    assert titles(sort="updated") == titles() == ["八里", "马家", "大桥"]
    assert titles(sort="downloads") == ["马家", "大桥", "八里"]
    assert titles(sort="name") == ["八里", "大桥", "马家"]
    assert titles(sort="nonsense") == ["八里", "马家", "大桥"]


def test_pages_hold_per_page_items_and_bounds_are_clamped(app):
    for n in range(7):
        make_dataset(title=f"公交数据{n}", modified=datetime(2026, 1, 1 + n, tzinfo=UTC))
    second = search.search_datasets(search.SearchQuery(q="公交", page=2, per_page=3))
    assert ([d.title for d in second.items], second.total, second.pages) == (
        ["公交数据3", "公交数据2", "公交数据1"],
        7,
        3,
    )
    assert search.search_datasets(search.SearchQuery(page=99)).items == []
    assert search.search_datasets(search.SearchQuery(page=-5)).page == 1
    assert search.search_datasets(search.SearchQuery(per_page=10_000)).per_page == search.MAX_PER_PAGE


def test_results_carry_highlights_for_each_item(app):
    dataset = make_dataset(title="<b>公交</b>线路", notes="**公交**站点的名称")
    result = search.search_datasets(search.SearchQuery(q="公交"))
    assert result.highlights[dataset.id].title == "&lt;b&gt;<mark>公交</mark>&lt;/b&gt;线路"
    assert result.highlights[dataset.id].snippet == "<mark>公交</mark>站点的名称"


# -- facets ----------------------------------------------------------------------------------------


@pytest.fixture
def faceted(app):
    """Six published datasets and one withdrawn; the counts in the tests below are counted by hand.

    | title      | department  | county | themes     | formats   | condition | tags      |
    | 公交线路    | 南湖交通    | 330402 | 交通        | CSV, JSON | open      | 公交       |
    | 公交站点    | 南湖交通    | 330402 | 交通        | CSV       | open      | 公交, 站点 |
    | 地铁站点    | 海宁交通    | 330481 | 交通        | XLSX      | open      | 站点       |
    | 医院名录    | 海宁卫健    | 330481 | 医疗        | CSV       | condition | 医院       |
    | 公交卡      | 海宁交通    | 330481 | 交通, 医疗  | API       | condition | 公交       |
    | 旧公交      | 南湖交通    | 330402 | 交通        | CSV       | withdrawn                 |
    | 景点名录    | (none)      |   -    | 文旅        | PDF       | open      |           |
    """
    nanhu = make_department(region_code="330402", title="南湖区交通运输局", name="nh-jt")
    haining = make_department(region_code="330481", title="海宁市交通运输局", name="hn-jt")
    health = make_department(region_code="330481", title="海宁市卫生健康局", name="hn-wj")
    traffic, medical = make_theme("交通出行", name="jtcx"), make_theme("医疗卫生", name="ylws")
    tourism = make_theme("文化旅游", name="whly")
    csv, json_, xlsx, api, pdf = ({"format": f} for f in ("CSV", "JSON", "XLSX", "API", "PDF"))
    make_dataset(title="公交线路", department=nanhu, themes=[traffic], tags=["公交"], resources=[csv, json_])
    make_dataset(title="公交站点", department=nanhu, themes=[traffic], tags=["公交", "站点"], resources=[csv])
    make_dataset(title="地铁站点", department=haining, themes=[traffic], tags=["站点"], resources=[xlsx])
    make_dataset(
        title="医院名录",
        department=health,
        themes=[medical],
        tags=["医院"],
        resources=[csv],
        open_condition=CONDITIONAL,
    )
    make_dataset(
        title="公交卡",
        department=haining,
        themes=[traffic, medical],
        tags=["公交"],
        resources=[api],
        open_condition=CONDITIONAL,
    )
    make_dataset(title="旧公交", department=nanhu, themes=[traffic], resources=[csv], state=WITHDRAWN)
    make_dataset(title="景点名录", themes=[tourism], resources=[pdf], notes="")


def counts(result, facet: str) -> dict[str, int]:
    return {f.value: f.count for f in result.facets[facet]}


def test_facet_counts_over_everything_published(faceted):
    result = search.search_datasets(search.SearchQuery())
    assert result.total == 6
    assert counts(result, "department") == {"nh-jt": 2, "hn-jt": 2, "hn-wj": 1}
    assert counts(result, "region") == {"330402": 2, "330481": 3}
    assert counts(result, "theme") == {"jtcx": 4, "ylws": 2, "whly": 1}
    assert counts(result, "format") == {"CSV": 3, "JSON": 1, "XLSX": 1, "API": 1, "PDF": 1}
    assert counts(result, "open_condition") == {"unconditional": 4, "conditional": 2}
    assert counts(result, "tag") == {"公交": 3, "站点": 2, "医院": 1}


def test_facet_counts_follow_the_words(faceted):
    result = search.search_datasets(search.SearchQuery(q="公交"))
    assert result.total == 3
    assert counts(result, "department") == {"nh-jt": 2, "hn-jt": 1}
    assert counts(result, "format") == {"CSV": 2, "JSON": 1, "API": 1}


def test_a_facet_counts_without_its_own_filter_but_with_the_others(faceted):
    query = search.SearchQuery(departments=("nh-jt",), open_conditions=("conditional",))
    result = search.search_datasets(query)
    assert result.total == 0
    # departments: filtered by condition only (医院名录, 公交卡)
    assert counts(result, "department") == {"hn-jt": 1, "hn-wj": 1, "nh-jt": 0}
    # conditions: filtered by department only (公交线路, 公交站点)
    assert counts(result, "open_condition") == {"unconditional": 2, "conditional": 0}
    assert [f.value for f in result.facets["department"] if f.selected] == ["nh-jt"]


def test_values_within_a_facet_widen_and_facets_narrow_each_other(faceted):
    assert sorted(titles(departments=("nh-jt", "hn-wj"))) == sorted(["公交站点", "公交线路", "医院名录"])
    assert sorted(titles(regions=("330481",), formats=("csv",))) == ["医院名录"]
    assert sorted(titles(themes=("ylws",), tags=("公交",))) == ["公交卡"]
    assert titles(regions=("330400",)) == []


def test_popular_themes_are_ordered_by_published_datasets(faceted):
    assert [(f.value, f.count) for f in search.popular_themes()] == [("jtcx", 4), ("ylws", 2), ("whly", 1)]


# -- keeping the index current ---------------------------------------------------------------------


def package(n: int, title: str, modified: str) -> dict:
    return {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "name": f"search-{n}",
        "title": title,
        "notes": "本数据集由嘉兴市交通运输局提供。",
        "metadata_modified": modified,
        "organization": {"id": "org-jt", "name": "jx-jtysj", "title": "嘉兴市交通运输局"},
        "groups": [{"id": "g-jtcx", "name": "jtcx", "title": "交通出行"}],
        "tags": [{"name": "公交"}],
        "extras": [{"key": "open_condition", "value": "无条件开放"}],
        "resources": [{"id": f"10000000-0000-4000-8000-{n:012d}", "format": "CSV", "url": ""}],
    }


def write_dump(path, packages: list[dict]):
    path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in packages), encoding="utf-8")
    return remote.DumpSource(path)


def test_a_sync_run_keeps_the_index_current(app, tmp_path):
    first = [
        package(1, "嘉兴市公交线路", "2025-01-01T00:00:00"),
        package(2, "嘉兴市医院名录", "2025-01-01T00:00:00"),
    ]
    assert run.sync(write_dump(tmp_path / "one.jsonl", first), run.Settings()).created == 2
    assert titles("公交线路") == ["嘉兴市公交线路"]
    second = [package(1, "嘉兴市地铁站点", "2025-02-01T00:00:00"), first[1]]
    assert run.sync(write_dump(tmp_path / "two.jsonl", second), run.Settings()).updated == 1
    assert titles("地铁") == ["嘉兴市地铁站点"]
    assert titles("公交线路") == []
    assert titles("交通运输局") == ["嘉兴市地铁站点", "嘉兴市医院名录"]


def test_the_sync_writes_the_same_terms_as_a_reindex(app, tmp_path):
    run.sync(
        write_dump(tmp_path / "one.jsonl", [package(1, "嘉兴市公交线路", "2025-01-01T00:00:00")]),
        run.Settings(),
    )
    columns = (DatasetSearch.title_terms, DatasetSearch.tag_terms, DatasetSearch.body_terms)
    synced = db.session.execute(select(*columns)).one()
    search_index.reindex(db.session.connection())
    assert db.session.execute(select(*columns)).one() == synced
    assert "交通" in synced.body_terms.split() and synced.tag_terms == "公交 交"


def test_indexing_unchanged_text_leaves_the_row_alone(app):
    dataset = make_dataset(title="公交线路")
    first = db.session.scalar(select(DatasetSearch.updated_at))
    search_index.index_dataset(db.session.connection(), dataset.id)
    assert db.session.scalar(select(DatasetSearch.updated_at)) == first
    dataset.title = "地铁线路"
    db.session.flush()
    search_index.index_dataset(db.session.connection(), dataset.id)
    assert db.session.scalar(select(DatasetSearch.updated_at)) > first
    assert titles("地铁") == ["地铁线路"]


def test_a_dataset_withdrawn_by_a_full_sync_leaves_the_results(app, tmp_path):
    both = [
        package(1, "嘉兴市公交线路", "2025-01-01T00:00:00"),
        package(2, "嘉兴市公交站点", "2025-01-01T00:00:00"),
    ]
    run.sync(write_dump(tmp_path / "one.jsonl", both), run.Settings())
    run.sync(write_dump(tmp_path / "two.jsonl", both[:1]), run.Settings(full=True))
    assert titles("公交") == ["嘉兴市公交线路"]


def test_deleting_a_dataset_deletes_its_terms_and_a_new_dataset_does_not_inherit_them(app):
    old = make_dataset(title="公交线路")
    old_id = old.id
    db.session.delete(old)
    db.session.flush()
    assert db.session.scalar(select(func.count()).where(DatasetSearch.dataset_id == old_id)) == 0
    make_dataset(title="医院名录", notes="")
    assert titles("公交") == []


def test_reindex_command_rebuilds_the_index(app, runner):
    make_dataset(title="公交线路")
    make_dataset(title="医院名录", index=False)
    db.session.commit()
    result = runner.invoke(args=["catalogue", "reindex"])
    assert result.exit_code == 0, result.output
    assert "2" in result.output
    db.session.expire_all()
    assert titles("医院") == ["医院名录"]
    assert titles("公交") == ["公交线路"]


def test_index_missing_adds_only_datasets_without_terms(app):
    make_dataset(title="公交线路")
    make_dataset(title="医院名录", index=False)
    assert search_index.index_missing(db.session.connection()) == 1
    assert search_index.index_missing(db.session.connection()) == 0
    assert titles("医院") == ["医院名录"]
