"""Key journeys in headless Chromium against the portal served on 127.0.0.1.

Uses Debian's chromium (/usr/bin/chromium), started once per session by conftest.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from ckanserver import serve
from factories import PASSWORD, make_user
from playwright.sync_api import expect
from sync_factories import release_holds

from portal import storage
from portal.extensions import db
from portal.sync import remote, run


def _dump(folder: Path) -> Path:
    """A two-dataset ckanapi dump with a CSV holding personal data, beside it."""
    files = folder / "files"
    files.mkdir()
    (files / "clinics.csv").write_text(
        "诊所名称,负责人,联系电话,床位数\n南湖社区卫生服务中心,张三,13812345678,40\n秀洲诊所,李四,13987654321,12\n",
        encoding="utf-8",
    )
    org = {"id": "org-1", "name": "jx-wjw", "title": "嘉兴市卫生健康委员会"}
    packages = [
        {
            "id": "11111111-1111-4111-8111-111111111111",
            "name": "jx-clinics",
            "title": "嘉兴市交通运输便民诊所分布",
            "notes": "全市**社区诊所**名录。",
            "metadata_modified": "2025-03-01T00:00:00",
            "organization": org,
            "groups": [{"id": "g1", "name": "ylws", "title": "医疗卫生"}],
            "tags": [{"name": "诊所"}],
            "license_id": "cc-by",
            "license_title": "Creative Commons Attribution",
            "resources": [
                {
                    "id": "22222222-2222-4222-8222-222222222222",
                    "name": "诊所名录",
                    "format": "CSV",
                    "url": "files/clinics.csv",
                    "last_modified": "2025-03-01T00:00:00",
                }
            ],
        },
        {
            "id": "33333333-3333-4333-8333-333333333333",
            "name": "jx-parks",
            "title": "嘉兴市公园绿地",
            "notes": "公园名录。",
            "metadata_modified": "2025-03-02T00:00:00",
            "organization": org,
            "groups": [],
            "tags": [],
            "resources": [],
        },
    ]
    dump = folder / "dump.jsonl"
    dump.write_text("\n".join(json.dumps(p, ensure_ascii=False) for p in packages) + "\n", encoding="utf-8")
    return dump


@pytest.fixture
def site(app, tmp_path):
    """The app with a small synced catalogue, served over HTTP in a thread."""
    dump = _dump(tmp_path)
    result = run.sync(remote.DumpSource(dump), run.Settings(mirror=True), store=storage.get_storage())
    assert result.status == "succeeded"
    release_holds()  # the CSV's personal data held it back: the office releases it, its preview masks it
    with serve(app) as url:
        yield url


@pytest.fixture
def page(browser):
    """A fresh context of the session's browser (conftest.py)."""
    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    yield context.new_page()
    context.close()


def test_search_then_dataset_then_preview_then_download(site, page):
    page.goto(f"{site}/")
    page.fill("input[name=q]", "交通")
    page.keyboard.press("Enter")
    page.wait_for_url("**/datasets/?q=*")
    assert page.locator("mark").first.inner_text() == "交通"
    page.click("text=便民诊所分布")
    page.wait_for_url("**/datasets/jx-clinics")
    assert "社区诊所" in page.inner_text("main")
    page.click("[data-action=preview]")
    table = page.inner_text("table")
    assert "南湖社区卫生服务中心" in table
    assert "13812345678" not in table and "138****5678" in table  # phones masked
    assert "张三" not in table  # the person's name column is masked
    page.go_back()
    with page.expect_download() as download:
        page.click("[data-action=download]")
    path = download.value.path()
    assert "13812345678" in Path(path).read_text(encoding="utf-8")  # the download itself is complete


def test_sign_in_then_create_an_api_token(site, page, app):
    make_user(email="dev@example.cn", role="developer")
    db.session.commit()
    page.goto(f"{site}/account/sign-in")
    page.fill("input[name=email]", "dev@example.cn")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{site}/")
    page.goto(f"{site}/account/api-tokens")
    page.fill("input[name=name]", "我的脚本")
    page.click("main form button[type=submit]")
    token = page.locator("[data-testid=token]").input_value()
    assert token.startswith("jxod_")
    copy = page.locator("button[data-copy=new-token]")
    expect(copy).to_be_visible()  # the static script revealed it under the CSP (it may run after the field shows)
    copy.click()
    status = page.locator("[data-copy-status=new-token]")
    # copied, or left selected; the script answers once the clipboard has (slow on a loaded machine)
    expect(status).to_have_text(re.compile("^(已复制|请选中令牌后复制)$"))
    api = page.request.get(f"{site}/api/v1/datasets", headers={"Authorization": f"Bearer {token}"})
    assert api.status == 200 and api.json()["total"] == 2
    bad = page.request.get(f"{site}/api/v1/datasets", headers={"Authorization": "Bearer jxod_wrong"})
    assert bad.status == 401
