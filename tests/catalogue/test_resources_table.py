"""The dataset's resources table reads cleanly: human sizes per language, a calm word for files that are
not data, formats and headers on one line; and search snippets show words, never Markdown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from catalogue_factories import make_dataset
from ckanserver import serve
from flask_babel import force_locale
from playwright.sync_api import sync_playwright

from portal.extensions import db
from portal.i18n import human_size

CHROMIUM = "/usr/bin/chromium"
LINES_OF_EACH = """els => els.map(el => {
    const range = document.createRange(); range.selectNodeContents(el);
    const tops = new Set([...range.getClientRects()].map(rect => Math.round(rect.top)));
    return [el.textContent.trim(), tops.size];
})"""


@pytest.mark.parametrize(
    ("size", "zh", "en"),
    [
        (None, "—", "—"),
        (0, "0 字节", "0 bytes"),
        (1, "1 字节", "1 byte"),
        (367, "367 字节", "367 bytes"),
        (1023, "1,023 字节", "1,023 bytes"),
        (1536, "1.5 KB", "1.5 KB"),
        (5 * 1024**2 + 300 * 1024, "5.3 MB", "5.3 MB"),
        (3 * 1024**3, "3.0 GB", "3.0 GB"),
    ],
)
def test_human_size_speaks_the_page_language(app, size, zh, en):
    with app.test_request_context():
        with force_locale("zh_CN"):
            assert human_size(size) == zh
        with force_locale("en"):
            assert human_size(size) == en


@pytest.fixture
def dataset():
    dataset = make_dataset(
        title="嘉兴市公交线路",
        resources=[
            {
                "format": "CSV",
                "name": "线路表",
                "size": 367,
                "is_valid": True,
                "description": "嘉兴市区及各县（市、区）公交线路的编号、起讫站点、途经站点、首末班时间与票价，"
                * 4,
                "url": "https://ckan.example.cn/dataset/jiaxing-bus/resource/"
                + "0123456789abcdef" * 6
                + ".csv",
            },
            {"format": "XLSX", "name": "站点表", "size": 10, "mirrored_size": 1536, "is_valid": True},
            {
                "format": "PDF",
                "name": "说明文档",
                "size": 2 * 1024**2,
                "invalid_reason": "not_machine_readable",
            },
            {"format": "ZIP", "name": "打包下载", "invalid_reason": "not_machine_readable"},
            {"format": "CSV", "name": "空表", "size": 0, "invalid_reason": "empty"},
        ],
    )
    db.session.commit()
    return dataset


def cells(html: str, name: str) -> str:
    return re.search(
        rf"<tr data-resource=[^>]*>\s*<td>\s*<span class=\"resource-name\">{name}</span>.*?</tr>", html, re.S
    ).group(0)


@pytest.mark.parametrize(
    ("lang", "small", "mirrored"), [("zh", "367 字节", "1.5 KB"), ("en", "367 bytes", "1.5 KB")]
)
def test_sizes_read_as_human_sizes_in_each_language(client, dataset, lang, small, mirrored):
    if lang == "en":
        client.set_cookie("lang", "en")
    html = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)
    assert f'<td class="num">{small}</td>' in cells(html, "线路表")
    assert f'<td class="num">{mirrored}</td>' in cells(html, "站点表")  # the portal's copy, when it has one
    assert '<td class="num">2.0 MB</td>' in cells(html, "说明文档")
    assert not re.search(r"Bytes|KiB|MiB", html)


@pytest.mark.parametrize(
    ("lang", "calm", "invalid"), [("zh", "非机器可读", "无效"), ("en", "Not machine-readable", "Invalid")]
)
def test_pdf_and_zip_say_not_machine_readable_calmly(client, dataset, lang, calm, invalid):
    if lang == "en":
        client.set_cookie("lang", "en")
    html = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)
    for name in ("说明文档", "打包下载"):
        row = cells(html, name)
        assert (
            f'<span class="badge" data-valid="no" data-invalid-reason="not_machine_readable">{calm}</span>'
            in row
        )
        assert invalid not in row and "badge off" not in row
    assert f'<span class="badge off" data-valid="no">{invalid}</span>' in cells(
        html, "空表"
    )  # a real fault stays red


def test_format_and_size_cells_are_marked_to_stay_on_one_line(client, dataset):
    html = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)
    assert '<td class="format">CSV</td>' in cells(html, "线路表")
    css = client.get("/static/css/site.css").get_data(as_text=True)
    assert re.search(
        r"\.resources-table th, \.resources-table td\.format[^{]*\{ white-space: nowrap; \}", css
    )


@pytest.mark.parametrize(
    ("notes", "words", "never"),
    [
        (
            "![公交线路图](javascript:alert(1)) 嘉兴市公交线路数据",
            "公交线路图 嘉兴市",
            ("![", "javascript", "]("),
        ),
        (
            "[点此下载](javascript:alert(document.cookie)) 公交站点",
            "点此下载 公交站点",
            ("[点此", "javascript"),
        ),
        (
            "## 公交说明\n\n**粗体** 与 `代码` 与 <b>标签</b>",
            "公交说明 粗体 与 代码 与 标签",
            ("##", "**", "`", "<b>"),
        ),
    ],
)
def test_search_snippet_shows_words_never_markdown(client, notes, words, never):
    make_dataset(title="嘉兴市公交线路", notes=notes)
    db.session.commit()
    html = client.get("/datasets/?q=公交").get_data(as_text=True)
    snippet = re.search(r'<p class="dataset-snippet">(.*?)</p>', html, re.S).group(1)
    text = re.sub(r"</?mark>", "", snippet)
    assert words in text
    for markup in never:
        assert markup not in text and markup.replace("<", "&lt;") not in text


@pytest.fixture
def browser_page():
    if not Path(CHROMIUM).exists():
        pytest.fail("browser tests need Debian's chromium: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser.new_context(viewport={"width": 1024, "height": 800}, locale="zh-CN").new_page()
        browser.close()


def test_formats_and_headers_do_not_wrap_in_a_browser(app, dataset, browser_page):
    with serve(app) as url:
        browser_page.goto(f"{url}/datasets/{dataset.name}")
        lines = browser_page.eval_on_selector_all(
            ".resources-table th, .resources-table td.format, .resources-table td.num",
            LINES_OF_EACH,
        )
    assert lines and all(n <= 1 for _, n in lines), [item for item in lines if item[1] > 1]
