"""The dataset page and the masked preview: what they show, hostile CKAN content made inert, status codes."""

from __future__ import annotations

import contextlib
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from catalogue_factories import make_dataset, make_department, make_resource, make_theme
from openpyxl import Workbook
from sqlalchemy import event, select

from portal.activity.models import ActivityEvent
from portal.catalogue import changes, preview, search_cache
from portal.catalogue.models import (
    APPROVED,
    CONDITIONAL,
    WITHDRAWN,
    AccessRequest,
    Dataset,
    Licence,
    Resource,
)
from portal.extensions import db
from portal.storage import get_storage

PEOPLE_CSV = (
    "姓名,身份证号,联系电话,家庭住址,单位名称,人口数,编号\n"
    "汤建华,330482192506031114,13812345678,嘉兴市平湖市林埭镇胜利路1242号,平湖市林埭镇人民政府,10286000000,20260100001\n"
    "黄洋,33042119330919918X,15900001111,嘉兴市南湖区新兴街道花园路567号,南湖区新兴街道办事处,62800,20260100002\n"
)
PEOPLE_MASKED = [
    [
        "汤**",
        "330482********1114",
        "138****5678",
        "嘉兴市平湖市林埭镇****",
        "平湖市林埭镇人民政府",
        "10286000000",
        "20260100001",
    ],
    [
        "黄*",
        "330421********918X",
        "159****1111",
        "嘉兴市南湖区新兴街道****",
        "南湖区新兴街道办事处",
        "62800",
        "20260100002",
    ],
]


def mirrored(
    dataset: Dataset, data: bytes, *, format: str = "CSV", filename: str = "data.csv", **fields
) -> Resource:
    """Make a resource whose file is in the app's storage, and commit."""
    resource = make_resource(dataset, format=format, **fields)
    resource.storage_key = f"resources/{dataset.ckan_id}/{resource.ckan_id}/{filename}"
    get_storage().put(resource.storage_key, io.BytesIO(data))
    db.session.commit()
    return resource


def preview_url(dataset: Dataset, resource: Resource, **query) -> str:
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    return f"/datasets/{dataset.name}/resources/{resource.ckan_id}/preview{suffix}"


class ActiveContent(HTMLParser):
    """Collect anything in a page that could run script: such tags, on* attributes, non-web link targets."""

    DANGEROUS_TAGS = {"script", "iframe", "svg", "img", "object", "embed", "style", "math", "frame", "base"}
    URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.DANGEROUS_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag} {name}={value}")
            if name in self.URL_ATTRIBUTES and value is not None:
                if not re.match(r"(https?://|mailto:|/(?!/)|#)", value.strip()):
                    self.found.append(f"{tag} {name}={value}")


def active_content(html: str) -> list[str]:
    scanner = ActiveContent()
    scanner.feed(html)
    return scanner.found


class Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [value or "" for name, value in attrs if tag == "a" and name == "href"]


def hrefs(html: str) -> list[str]:
    """Return the href of each link tag (not of link-like text)."""
    parser = Hrefs()
    parser.feed(html)
    return parser.hrefs


# --- the page --------------------------------------------------------------------------------------------


def test_dataset_page_shows_metadata_volume_resources_and_counts(client):
    department = make_department(region_code="330411", title="秀洲区民政局")
    dataset = make_dataset(
        title="秀洲区养老机构",
        notes="秀洲区**养老机构**名单，见[民政局网站](https://mzj.example.cn/)。",
        department=department,
        themes=[make_theme("社区服务", name="sqfw")],
        tags=["养老", "民政"],
        extras={
            "update_frequency": "每季度",
            "data_source": "秀洲区民政局",
            "联系单位": "秀洲区民政局养老科",
        },
        resources=[
            {
                "format": "CSV",
                "records": 120,
                "fields": 8,
                "size": 20480,
                "is_valid": True,
                "download_count": 7,
            },
            {"format": "XLSX", "records": 10, "fields": 5, "is_valid": False, "invalid_reason": "duplicate"},
        ],
        download_count=42,
        index=False,
    )
    dataset.licence = Licence(
        id="cc-by", title="知识共享署名 4.0", url="https://creativecommons.org/licenses/by/4.0/"
    )
    db.session.commit()

    response = client.get(f"/datasets/{dataset.name}")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<h1 data-testid="dataset-title" lang="zh-CN">秀洲区养老机构</h1>' in html
    assert "<strong>养老机构</strong>" in html
    assert 'href="https://mzj.example.cn/" rel="nofollow noopener"' in html
    for field, text in [
        ("department", "秀洲区民政局"),
        ("region", "秀洲区"),
        ("themes", "社区服务"),
        ("tags", "养老"),
        ("licence", "知识共享署名 4.0"),
        ("open_condition", 'data-open-condition="unconditional"'),
        ("update_frequency", "每季度"),
    ]:
        row = re.search(rf'<tr data-field="{field}">.*?</tr>', html, re.S)
        assert row and text in row[0], field
    extras = re.findall(r'<tr data-field="extra"><th scope="row">(.*?)</th><td>(.*?)</td></tr>', html)
    assert ("联系单位", "秀洲区民政局养老科") in extras
    assert 'data-volume="960"' in html  # 120 × 8; the duplicate XLSX counts once, as in the statistics
    assert 'data-count="42"' in html
    assert 'data-count="7"' in html
    assert "20.0 KB" in html  # a human size, in the page's language (issue 19 item 16)
    assert 'data-invalid-reason="duplicate"' in html
    assert 'data-testid="reuses"' in html
    assert html.count('data-action="download"') == 2


def test_dataset_without_measured_resources_shows_unmeasured_volume(client):
    dataset = make_dataset(resources=[{"format": "PDF"}], index=False)
    db.session.commit()
    html = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)
    assert html.count('data-volume="unmeasured"') == 2  # the dataset and its one resource


def test_unknown_dataset_is_not_found(client):
    assert client.get("/datasets/no-such-dataset").status_code == 404


def test_dataset_page_records_a_dataset_view(client):
    dataset = make_dataset(index=False)
    db.session.commit()
    client.get(f"/datasets/{dataset.name}")
    kinds = db.session.scalars(select(ActivityEvent.kind).where(ActivityEvent.dataset_id == dataset.id)).all()
    assert kinds == ["dataset_view"]


def test_dataset_page_can_be_read_in_english(client):
    dataset = make_dataset(index=False)
    db.session.commit()
    client.set_cookie("lang", "en", domain="localhost")
    html = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)
    assert "Applications that use this dataset" in html
    assert "Open to everyone" in html


@pytest.mark.parametrize("role", [None, "developer", "county_member"])
def test_withdrawn_dataset_shows_a_notice_and_410_without_its_files(client, login, role):
    if role:
        login(role)
    dataset = make_dataset(title="已撤回的数据集", state=WITHDRAWN, index=False)
    db.session.commit()
    response = client.get(f"/datasets/{dataset.name}")
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert 'data-testid="withdrawn"' in html and "已撤回的数据集" in html
    assert 'data-resource="' not in html


def test_withdrawn_dataset_keeps_its_history_for_admins(client, login):
    login("admin")
    dataset = make_dataset(state=WITHDRAWN, download_count=9, index=False)
    db.session.commit()
    response = client.get(f"/datasets/{dataset.name}")
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert 'data-testid="withdrawn"' in html and 'data-testid="history-note"' in html
    assert f'data-resource="{dataset.resources[0].ckan_id}"' in html
    assert 'data-count="9"' in html


def test_removed_resources_are_hidden_from_the_public(client):
    dataset = make_dataset(resources=[{"format": "CSV"}, {"format": "CSV", "state": "removed"}], index=False)
    db.session.commit()
    html = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)
    assert f'data-resource="{dataset.resources[0].ckan_id}"' in html
    assert f'data-resource="{dataset.resources[1].ckan_id}"' not in html


# --- hostile CKAN content --------------------------------------------------------------------------------

HOSTILE_NOTES = """本数据集用于**安全测试**。

<script>alert(1)</script>

- 图片：<img src="x" onerror="alert(1)">
- ![停车示意图](javascript:alert(1))
- <svg onload=alert(1)></svg>
- 大小写混合：<a href="JaVaScRiPt:alert(1)">泊位查询</a>
- [点击查看](javascript:alert(document.cookie))
- [混合](JaVaScRiPt:alert(1))
- [空白]( javascript:alert(1))
- [数据](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
- <iframe src="https://evil.example/"></iframe>
- <a href="https://evil.example/" onclick="alert(1)">点击</a>

正常链接：[嘉兴市交通运输局](https://jtj.jiaxing.gov.cn/)
"""


def hostile_dataset() -> Dataset:
    dataset = make_dataset(
        title='公共停车场<script>alert(1)</script>"><img src=x onerror=alert(1)>',
        notes=HOSTILE_NOTES,
        tags=["<script>alert('tag')</script>", '安全"><svg onload=alert(1)>'],
        extras={
            "data_source_system": "<script>alert('extra')</script>嘉兴市智慧停车平台",
            "homepage": "JaVaScRiPt:alert(1)",
            '<b onmouseover="alert(1)">键</b>': "<img src=x onerror=alert(1)>",
        },
        resources=[
            {"format": "API", "name": "报名接口<img src=x onerror=alert(1)>", "url": "javascript:alert(1)"},
            {
                "format": "CSV",
                "name": "<script>alert('resource')</script>停车场",
                "url": "JaVaScRiPt:alert(1)",
            },
            {"format": "CSV", "name": "空格", "url": "  javascript:alert(2)"},
            {"format": "HTML", "name": "数据", "url": "data:text/html,<script>alert(1)</script>"},
            {"format": "CSV", "name": "正常文件", "url": "https://data.example.cn/parking.csv"},
        ],
        index=False,
    )
    dataset.resources[0].description = "<script>alert('resource')</script>报名接口说明"
    db.session.commit()
    return dataset


@pytest.mark.parametrize("role", [None, "admin"])
def test_hostile_ckan_content_is_inert_on_the_dataset_page(client, login, role):
    if role:
        login(role)
    dataset = hostile_dataset()
    html = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)
    assert active_content(html) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text, not dropped silently
    assert "&lt;script&gt;alert(&#39;tag&#39;)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(&#39;extra&#39;)&lt;/script&gt;嘉兴市智慧停车平台" in html


def test_only_web_links_survive_in_the_description(client):
    dataset = hostile_dataset()
    html = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)
    description = re.search(r'data-testid="description".*?</section>', html, re.S)[0]
    assert hrefs(description) == ["https://jtj.jiaxing.gov.cn/"]
    assert 'rel="nofollow noopener"' in description


def test_resource_urls_that_are_not_web_addresses_are_shown_as_text(client):
    dataset = hostile_dataset()
    html = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)
    assert "https://data.example.cn/parking.csv" in hrefs(html)
    assert html.count('class="unlinked-url"') == 4
    assert '<span class="unlinked-url">javascript:alert(1)</span>' in html
    assert "<td>JaVaScRiPt:alert(1)</td>" in html  # the "homepage" extra


def test_resources_without_a_file_or_web_address_offer_no_download(client):
    dataset = hostile_dataset()
    html = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)
    assert html.count('data-action="download"') == 1
    assert html.count('data-action="none"') == 4


def test_demo_security_test_datasets_render_inert(client):
    """The three 安全测试 datasets of the demo catalogue, as the sync stored them."""
    names = [
        "jx-dsjj-security-test-script",
        "jx-jtysj-security-test-javascript-url",
        "tx-wgltj-security-test-onerror",
    ]
    demo = Path(__file__).resolve().parents[2] / "seeds/catalogue/demo-catalogue.jsonl"
    with open(demo, encoding="utf-8") as f:
        packages = [p for p in map(json.loads, f) if p["name"] in names]
    assert len(packages) == 3
    for package in packages:
        extras = {e["key"]: e["value"] for e in package["extras"]}
        resources = [
            {"format": r["format"] or "API", "name": r["name"], "url": r["url"]} for r in package["resources"]
        ]
        dataset = make_dataset(
            name=package["name"],
            title=package["title"],
            notes=package["notes"],
            tags=[t["name"] for t in package["tags"]],
            extras=extras,
            resources=resources,
            index=False,
        )
        db.session.commit()
        html = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)
        assert active_content(html) == [], package["name"]


# --- the preview -----------------------------------------------------------------------------------------


def test_csv_preview_masks_personal_data(client):
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset, PEOPLE_CSV.encode())
    response = client.get(preview_url(dataset, resource, format="json"))
    body = response.get_json()
    assert response.status_code == 200
    assert body["header"] == ["姓名", "身份证号", "联系电话", "家庭住址", "单位名称", "人口数", "编号"]
    assert body["rows"] == PEOPLE_MASKED
    assert body["masked"] == {
        "姓名": "name",
        "身份证号": "id_number",
        "联系电话": "phone",
        "家庭住址": "address",
    }
    assert body["more"] is False


def test_csv_preview_page_shows_the_masked_table(client):
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset, PEOPLE_CSV.encode())
    response = client.get(preview_url(dataset, resource))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<td>汤**</td>" in html and "<td>138****5678</td>" in html
    assert "13812345678" not in html and "330482192506031114" not in html and "汤建华" not in html
    assert html.count("data-masked=") == 4


def test_gb18030_csv_is_previewed(client):
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset, PEOPLE_CSV.encode("gb18030"))
    body = client.get(preview_url(dataset, resource, format="json")).get_json()
    assert body["rows"] == PEOPLE_MASKED


def test_preview_shows_the_first_fifty_rows(client):
    rows = "".join(f"{i},南湖区{i}号站,13{i % 10}00001111\n" for i in range(1, 121))
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset, ("编号,站点名称,联系电话\n" + rows).encode())
    body = client.get(preview_url(dataset, resource, format="json")).get_json()
    assert len(body["rows"]) == preview.MAX_ROWS
    assert body["rows"][0] == ["1", "南湖区1号站", "131****1111"]
    assert body["more"] is True


def test_xlsx_preview_reads_the_first_sheet_and_masks_it(client):
    book = Workbook()
    sheet = book.active
    sheet.append(["团队名称", "团队长姓名", "联系电话", "签约居民数"])
    sheet.append(["家医团队001", "曹一鸣", 13541400255, 1190])
    sheet.append(["家医团队002", "曹子涵", "13621060545", 1232])
    book.create_sheet("第二页").append(["不显示"])
    buffer = io.BytesIO()
    book.save(buffer)
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset, buffer.getvalue(), format="XLSX", filename="doctors.xlsx")
    body = client.get(preview_url(dataset, resource, format="json")).get_json()
    assert body["header"] == ["团队名称", "团队长姓名", "联系电话", "签约居民数"]
    assert body["rows"] == [
        ["家医团队001", "曹**", "135****0255", "1190"],
        ["家医团队002", "曹**", "136****0545", "1232"],
    ]


def test_json_preview_reads_an_array_of_records(client):
    records = [{"name": "Wang Xiaoming", "mobile": "13812345678", "station_name": "南湖站", "count": 3}] * 60
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset, json.dumps(records).encode(), format="JSON", filename="data.json")
    body = client.get(preview_url(dataset, resource, format="json")).get_json()
    assert body["header"] == ["name", "mobile", "station_name", "count"]
    assert body["rows"][0] == ["W*** ********", "138****5678", "南湖站", "3"]
    assert len(body["rows"]) == 50 and body["more"] is True


@pytest.mark.parametrize(
    ("fields", "data", "problem"),
    [
        ({"format": "PDF"}, None, "format"),
        ({"format": "CSV"}, None, "not_mirrored"),
        ({"format": "XLSX", "storage_key": "resources/x/y/gone.xlsx"}, None, "missing"),
        ({"format": "XLSX"}, b"PK\x03\x04 not a workbook", "unreadable"),
        ({"format": "JSON"}, b'{"a": 1', "unreadable"),
    ],
)
def test_preview_explains_why_there_is_none(client, fields, data, problem):
    dataset = make_dataset(resources=[], index=False)
    if data is None:
        resource = make_resource(dataset, **fields)
        db.session.commit()
    else:
        resource = mirrored(dataset, data, **fields)
    response = client.get(preview_url(dataset, resource))
    assert response.status_code == 404
    assert f'data-problem="{problem}"' in response.get_data(as_text=True)
    assert client.get(preview_url(dataset, resource, format="json")).get_json()["error"]["code"] == problem


def test_preview_of_a_resource_of_another_dataset_is_not_found(client):
    first = make_dataset(resources=[], index=False)
    second = make_dataset(resources=[], index=False)
    resource = mirrored(first, PEOPLE_CSV.encode())
    assert client.get(preview_url(second, resource)).status_code == 404


def test_conditional_preview_sends_anonymous_visitors_to_sign_in(client):
    dataset = make_dataset(open_condition=CONDITIONAL, resources=[], index=False)
    resource = mirrored(dataset, PEOPLE_CSV.encode())
    response = client.get(preview_url(dataset, resource))
    assert response.status_code == 302 and "/account/sign-in" in response.headers["Location"]


@pytest.mark.parametrize(
    ("role", "approved", "status"),
    [("developer", False, 403), ("judge", False, 403), ("developer", True, 200), ("admin", False, 200)],
)
def test_conditional_preview_needs_download_rights(client, login, role, approved, status):
    user = login(role)
    dataset = make_dataset(open_condition=CONDITIONAL, resources=[], index=False)
    resource = mirrored(dataset, PEOPLE_CSV.encode())
    if approved:
        db.session.add(
            AccessRequest(user_id=user.id, dataset_id=dataset.id, purpose="开发养老地图应用", status=APPROVED)
        )
        db.session.commit()
    assert client.get(preview_url(dataset, resource)).status_code == status


# --- pure reading ----------------------------------------------------------------------------------------


def test_read_table_stops_reading_a_csv_after_the_rows_it_shows():
    class Counting(io.BytesIO):
        taken = 0

        def read(self, size=-1):
            data = super().read(size)
            Counting.taken += len(data)
            return data

    big = ("编号,名称\n" + "".join(f"{i},站点{i}\n" for i in range(200_000))).encode()
    header, rows, more = preview.read_table(lambda: Counting(big), "CSV", limit=5)
    assert header == ["编号", "名称"] and len(rows) == 5 and more
    assert Counting.taken < len(big) / 10


def test_read_table_streams_a_json_array_element_by_element():
    items = [{"编号": i, "说明": "很长的说明" * 100} for i in range(2000)]
    data = json.dumps(items, ensure_ascii=False).encode()
    read = []

    class Counting(io.BytesIO):
        def read(self, size=-1):
            chunk = super().read(size)
            read.append(len(chunk))
            return chunk

    header, rows, more = preview.read_table(lambda: Counting(data), "JSON", limit=3)
    assert header == ["编号", "说明"] and [r[0] for r in rows] == ["0", "1", "2"] and more
    assert sum(read) < len(data) / 10


def test_read_table_accepts_a_json_wrapper_object():
    data = json.dumps({"total": 2, "data": [{"a": 1}, {"a": 2}]}).encode()
    assert preview.read_table(lambda: io.BytesIO(data), "JSON") == (["a"], [["1"], ["2"]], False)


def test_read_table_refuses_a_csv_without_line_ends():
    with pytest.raises(preview.PreviewUnavailable):
        preview.read_table(lambda: io.BytesIO(b"x" * (preview.MAX_LINE + 10)), "CSV")


def test_read_table_skips_blank_rows_and_trims_empty_trailing_columns():
    data = "\n\n编号,名称,,\n1,甲,,\n\n2,乙,,\n".encode()
    assert preview.read_table(lambda: io.BytesIO(data), "CSV") == (
        ["编号", "名称"],
        [["1", "甲"], ["2", "乙"]],
        False,
    )


class _Watched:
    """A DBAPI cursor whose statements are noted in `statements`."""

    def __init__(self, cursor, statements: list[str]) -> None:
        self.cursor, self.statements = cursor, statements

    def execute(self, statement: str, *args):
        self.statements.append(statement)
        return self.cursor.execute(statement, *args)

    def __getattr__(self, name: str):
        return getattr(self.cursor, name)


@pytest.mark.parametrize("kept", [True, False], ids=["kept", "rendered"])
def test_an_anonymous_visit_of_a_dataset_page_reads_one_light_row_of_the_dataset_outside_the_session(
    client, app, monkeypatch, kept
):
    dataset = make_dataset(title="公交站点", open_condition=CONDITIONAL, resources=[{"format": "CSV"}])
    db.session.commit()
    first = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)  # renders and keeps the page
    if not kept:
        search_cache.clear()
    in_session, raw = [], []
    real_cursor = changes.raw_cursor

    @contextlib.contextmanager
    def watched_cursor():
        with real_cursor() as cursor:
            yield _Watched(cursor, raw)

    def record(conn, cursor, statement, *args) -> None:
        in_session.append(statement)

    monkeypatch.setattr(changes, "raw_cursor", watched_cursor)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        again = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert again == first
    # on a DBAPI cursor, outside the session: its version (a light row, no notes), its reuses and,
    # rendered, its public part (its row, resources, themes and tags); no session opened
    assert len(raw) == (2 if kept else 5) and "FROM datasets" in raw[0] and "notes" not in raw[0], raw
    assert "application_datasets" in raw[1], raw
    assert [s for s in in_session if "activity_events" not in s] == []
