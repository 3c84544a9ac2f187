"""Issue 17's closing condition: on demo-like data, filled by the demo's own code (`feedback/demo.py`: reports
in every state, requests with every answer, ratings, comments, the link check over mirrored copies), the
figures agree between the pages and the API: the feedback summary on /stats/ and the admin dashboard with
/api/v1/feedback/summary; the quality board (public and the office's) with /api/v1/quality; each dataset's
rating and broken resources on its page and card with /api/v1/datasets."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from catalogue_factories import make_dataset, make_department
from factories import make_user

from portal import clock, storage
from portal.extensions import db
from portal.feedback.demo import seed_demo_feedback, seed_demo_link_health

FEEDBACK = {  # the summary's figures → the data-* attribute each page row carries
    "reports": "reports", "fixed": "fixed", "rejected": "rejected", "overdue": "overdue",
    "rectification_rate": "rate", "median_reply_hours": "median", "overdue_datasets": "overdue_datasets",
    "requests": "requests", "requests_answered": "requests_answered",
}  # fmt: skip
QUALITY = {
    "datasets": "datasets", "overdue": "overdue", "broken_resources": "broken",
    "mean_openness_stars": "stars", "mean_completeness": "completeness",
}  # fmt: skip


def _table(html: str, testid: str) -> dict[str, dict[str, str]]:
    """A table's rows: row key → data-* attribute → its exact value."""
    body = re.search(rf'data-testid="{testid}"(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r'<tr data-row="([^"]+)"([^>]*)>', body)
    return {key: dict(re.findall(r'data-(\w+)="([^"]*)"', attrs)) for key, attrs in rows}


def _as_page(rows: list[dict], key: str, names: dict[str, str]) -> dict[str, dict[str, str]]:
    """API rows as a page writes them: each figure under its attribute, None as empty."""
    return {
        row[key]: {attr: "" if row[name] is None else str(row[name]) for name, attr in names.items()}
        for row in rows
    }


def _only(table: dict[str, dict[str, str]], names: dict[str, str]) -> dict[str, dict[str, str]]:
    return {key: {attr: values[attr] for attr in names.values()} for key, values in table.items()}


def _demo_like():
    """Three departments in two counties and the city, datasets of several frequencies and formats, each
    resource mirrored, then the demo's feedback and link check, as `init --demo` runs them."""
    now = clock.now()
    for role in ("admin", "developer", "developer", "judge", "judge", "judge"):
        make_user(role)
    departments = [
        make_department(name="nh-jtj", title="南湖区交通运输局", region_code="330402"),
        make_department(name="hn-jyj", title="海宁市教育局", region_code="330481"),
        make_department(name="jx-sjj", title="嘉兴市数据局", region_code="330400"),
    ]
    store = storage.get_storage()
    for n in range(9):
        dataset = make_dataset(
            f"示例数据集{n}",
            department=departments[n % 3],
            modified=now - timedelta(days=5 + 20 * n),
            extras={"update_frequency": ("每月", "每年", "每季度")[n % 3]},
            resources=[{"format": ("CSV", "XLSX", "PDF")[n % 3]}, {"format": "JSON"}],
            download_count=100 - n,
        )
        for m, resource in enumerate(dataset.resources):
            resource.name = f"资源{m}（{'2024年存档' if m else '最新'}）"
            resource.storage_key = f"resources/agreement/{resource.id}"
            store.put(resource.storage_key, io.BytesIO(b"a,b\n1,2\n"), content_type="text/csv")
    db.session.commit()
    assert seed_demo_feedback() == 6
    db.session.commit()
    assert seed_demo_link_health(store)[1] == 1
    db.session.commit()


def test_on_demo_like_data_the_pages_and_the_api_show_the_same_figures(app, client, login):
    _demo_like()
    year = clock.day_of(clock.now()).year
    with clock.frozen(clock.now()):
        summary = client.get(f"/api/v1/feedback/summary?year={year}").json
        quality = client.get("/api/v1/quality/departments").json["departments"]
        counties = client.get("/api/v1/quality/counties").json["counties"]
        datasets = client.get("/api/v1/datasets?per_page=100").json["items"]
        public = client.get(f"/stats/?year={year}").get_data(as_text=True)
        public_board = client.get("/stats/quality").get_data(as_text=True)
        cards = client.get("/datasets/?sort=rating").get_data(as_text=True)
        pages = {d["name"]: client.get(f"/datasets/{d['name']}").get_data(as_text=True) for d in datasets}
        login("admin")
        office = client.get(f"/admin/metrics/?year={year}").get_data(as_text=True)
        office_board = client.get("/admin/metrics/quality").get_data(as_text=True)
    # The feedback summary: every figure of every row, on both pages.
    assert summary["total"]["reports"] == 6 and summary["total"]["requests"] == 4
    for html in (public, office):
        assert _only(_table(html, "feedback-organization"), FEEDBACK) == _as_page(
            summary["departments"], "organization", FEEDBACK
        )
        assert _only(_table(html, "feedback-code"), FEEDBACK) == _as_page(
            summary["counties"], "code", FEEDBACK
        )
    # The quality board, public and the office's, and the summary's overdue datasets.
    assert sum(d["broken_resources"] for d in quality) == 1 and sum(d["overdue"] for d in quality) > 0
    for html in (public_board, office_board):
        assert _only(_table(html, "quality-departments"), QUALITY) == _as_page(
            quality, "organization", QUALITY
        )
        assert _only(_table(html, "quality-counties"), QUALITY) == _as_page(counties, "code", QUALITY)
    assert {d["organization"]: d["overdue"] for d in quality} == {
        r["organization"]: r["overdue_datasets"] for r in summary["departments"]
    }
    # Each dataset: its rating and broken resources on its page and its card, as /api/v1/datasets says.
    rated = 0
    for item in datasets:
        page, rating = pages[item["name"]], item["rating"]
        mean = "" if rating["mean"] is None else str(rating["mean"])
        assert f'data-rating-mean="{mean}" data-rating-count="{rating["count"]}"' in page
        broken = re.search(r'data-testid="broken-badge" data-broken="(\d+)"', page)
        assert (int(broken.group(1)) if broken else 0) == item["quality"]["broken_resources"]
        card = cards[cards.index(f'data-dataset="{item["name"]}"') :]
        card = card[: card.index("</li>")]
        if rating["count"]:
            rated += 1
            assert f'data-rating-mean="{rating["mean"]}" data-rating-count="{rating["count"]}"' in card
    assert rated == 8  # the demo rates its eight most downloaded datasets
