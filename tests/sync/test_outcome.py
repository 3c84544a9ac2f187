"""A sync run's page says how the run turned out, in plain words, in Chinese and in English."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from ckanserver import FakeCkan, serve
from sqlalchemy import select

from portal.extensions import db
from portal.sync import outcome
from portal.sync.models import FAILED, PARTIAL, RUNNING, SUCCEEDED, SyncError, SyncRun, SyncSource

SEEDED_DEMO = Path(__file__).resolve().parents[2] / "seeds" / "catalogue" / "demo-catalogue.jsonl"
CLEAN_EMPTY_STATE = ("没有错误", "No errors")


@pytest.fixture
def app(app, tmp_path):
    app.config.update(
        SYNC_IN_BACKGROUND=False,
        SYNC_RETRIES=0,
        SYNC_BACKOFF=0,
        CKAN_URL=None,
        SYNC_WEB_DUMP_FOLDER=str(tmp_path),
    )
    return app


def make_run(status: str, **fields) -> SyncRun:
    source = db.session.scalar(select(SyncSource).where(SyncSource.location == "/srv/嘉兴.jsonl"))
    sync_run = SyncRun(source=source or SyncSource(location="/srv/嘉兴.jsonl"), status=status, **fields)
    db.session.add(sync_run)
    db.session.flush()
    return sync_run


def page(client, sync_run: SyncRun, lang: str) -> str:
    if lang == "en":
        client.set_cookie("lang", "en")
    return client.get(f"/admin/sync/runs/{sync_run.id}").get_data(as_text=True)


def outcome_box(html: str) -> str:
    return re.search(r'<div class="flash[^"]*" data-testid="run-outcome".*?</div>', html, re.S).group(0)


def test_failed_run_from_unreachable_ckan_says_it_failed_and_why_in_chinese(app, client, login, tmp_path):
    app.config["OUTBOUND_ALLOWED_HOSTS"] = ("127.0.0.1",)  # the fake CKAN is on loopback
    shutil.copy(SEEDED_DEMO, tmp_path / "demo.jsonl")
    fake = FakeCkan.from_dump(tmp_path / "demo.jsonl")
    fake.fail_next("package_search", status=500, times=50)
    login("admin")
    with serve(fake) as url:
        app.config["CKAN_URL"] = url
        client.post("/admin/sync/start", data={"source": ""})
    sync_run = db.session.scalar(select(SyncRun))
    html = page(client, sync_run, "zh")
    box = outcome_box(html)
    assert sync_run.status == FAILED and sync_run.message.startswith(outcome.SOURCE_UNAVAILABLE)
    assert 'data-state="failed"' in box and 'role="alert"' in box
    assert "同步失败" in box
    assert "无法连接或读取数据源" in box
    # the raw exception is kept, but beneath the plain words, folded away
    assert box.index("无法连接或读取数据源") < box.index("<details")
    assert "<summary>技术详情</summary>" in box and "package_search" in box
    assert CLEAN_EMPTY_STATE[0] not in html
    assert "成功处理" not in html


def test_failed_run_says_it_failed_and_why_in_english(client, login):
    sync_run = make_run(FAILED, message=f"{outcome.SOURCE_UNAVAILABLE}: HTTPConnectionPool refused")
    login("admin")
    html = page(client, sync_run, "en")
    box = outcome_box(html)
    assert "The sync failed" in box
    assert "The source could not be reached or read." in box
    assert "<summary>Technical detail</summary>" in box and "HTTPConnectionPool refused" in box
    assert "No dataset or resource errors were recorded before the run stopped." in html
    assert CLEAN_EMPTY_STATE[1] not in html


@pytest.mark.parametrize(
    ("message", "zh", "en"),
    [
        (outcome.INTERRUPTED, "同步在完成前被中断", "The sync was interrupted before it finished"),
        (f"{outcome.LOCK_LOST}: lock taken over", "同步因长时间无响应而停止", "went quiet for too long"),
        (f"{outcome.NOT_BEGUN}: no such dump file", "同步未能开始", "The sync could not begin"),
        ("KeyError: 'results'", "意外错误导致同步停止", "An unexpected error stopped the sync"),
    ],
)
def test_each_kind_of_failure_is_explained_in_both_languages(client, login, message, zh, en):
    sync_run = make_run(FAILED, message=message)
    login("admin")
    assert zh in outcome_box(page(client, sync_run, "zh"))
    assert en in outcome_box(page(client, sync_run, "en"))


@pytest.mark.parametrize(
    ("lang", "headline", "so_far"),
    [
        ("zh", "同步正在进行", "目前已读取 12 个数据集，新建 7 个，更新 3 个，失败 1 个"),
        ("en", "The sync is running", "So far 12 datasets read, 7 created, 3 updated, 1 failed."),
    ],
)
def test_running_run_says_it_is_in_progress_with_counts_so_far(client, login, lang, headline, so_far):
    sync_run = make_run(RUNNING, seen=12, created=7, updated=3, failed=1)
    login("admin")
    html = page(client, sync_run, lang)
    box = outcome_box(html)
    assert 'data-state="running"' in box and headline in box and so_far in box
    assert 'data-testid="errors-so-far"' in html
    assert CLEAN_EMPTY_STATE[0] not in html and CLEAN_EMPTY_STATE[1] not in html
    assert "<details" not in box


@pytest.mark.parametrize(
    ("lang", "headline", "reason"),
    [
        ("zh", "同步已完成，但有错误", "2 个数据集未能收录"),
        ("en", "The sync finished with errors", "2 datasets could not be taken"),
    ],
)
def test_partial_run_says_what_failed(client, login, lang, headline, reason):
    sync_run = make_run(
        PARTIAL, seen=5, created=3, failed=2, message="some datasets failed; the watermark stays"
    )
    db.session.add(
        SyncError(run=sync_run, package="嘉兴-公交", stage="validate", message="resources is not a list")
    )
    login("admin")
    html = page(client, sync_run, lang)
    box = outcome_box(html)
    assert 'class="flash flash-error"' in box and headline in box and reason in box
    assert CLEAN_EMPTY_STATE[0] not in html and CLEAN_EMPTY_STATE[1] not in html


@pytest.mark.parametrize(
    ("lang", "no_errors", "taken"),
    [
        ("zh", "没有错误", "本次同步读取的数据集和资源均已成功处理"),
        ("en", "No errors", "Every dataset and resource this run read was taken."),
    ],
)
def test_only_a_clean_finished_run_says_no_errors(client, login, lang, no_errors, taken):
    sync_run = make_run(SUCCEEDED, seen=4, created=4)
    login("admin")
    html = page(client, sync_run, lang)
    box = outcome_box(html)
    assert 'class="flash flash-success"' in box and taken in box
    assert no_errors in html


def test_succeeded_run_with_resource_problems_does_not_say_no_errors(client, login):
    sync_run = make_run(SUCCEEDED, seen=4, created=4, message="1 resource problem(s) noted")
    db.session.add(SyncError(run=sync_run, package="嘉兴-公交", resource="r1", stage="mirror", message="404"))
    login("admin")
    html = page(client, sync_run, "en")
    assert "Every dataset was taken, but 1 resource problems were noted below" in outcome_box(html)
    assert "No errors" not in html


def test_describe_needs_no_request():
    running = SyncRun(status=RUNNING, seen=3, created=1, updated=0, failed=0, message="")
    failed = SyncRun(status=FAILED, message="source unavailable: timed out")
    assert outcome.describe(running, errors=0).finished is False
    assert outcome.describe(failed, errors=0).clean is False
    assert outcome.describe(failed, errors=0).detail == "source unavailable: timed out"
    assert outcome.describe(SyncRun(status=SUCCEEDED, message=""), errors=0).clean is True
