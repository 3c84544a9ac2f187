"""API budgets over HTTP: 429 with Retry-After in each API's envelope, one budget per user, rows charged,
and the real `ckanapi` CLI reading a catalogue at the default limits scaled to its size.

The arithmetic at 10,000 datasets is in test_api_costs; here a catalogue of 200 datasets is read over
real HTTP with every limit (and the page size of the paged search) scaled by 200 / 10,000, so the run
spends the same share of each budget as a full-size run would. bench/api_limits_bench.py runs the
full 10,000.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import ckanapi
import pytest
import requests
from catalogue_factories import make_dataset
from ckanserver import serve
from factories import make_user

from portal import config
from portal.accounts import tokens
from portal.api import costs
from portal.extensions import db

FULL_SIZE = 10_000
SIZE = 200
REDIS_URL = "redis://127.0.0.1:6379/7"  # this test file's database (.ci/run starts Redis)
CKANAPI = str(Path(sys.executable).parent / "ckanapi")


def scaled(limit: str, size: int = SIZE) -> str:
    """Return the default `limit` ("N per minute") scaled from 10,000 datasets to `size`."""
    amount, per = re.fullmatch(r"(\d+) (per \w+)", limit).groups()
    return f"{math.ceil(int(amount) * size / FULL_SIZE)} {per}"


def limited(make_app, **limits):
    return make_app(RATELIMIT_ENABLED=True, **limits)


def token_of(user=None) -> str:
    _, plain = tokens.create_token(user or make_user("developer"), "脚本")
    db.session.commit()
    return plain


def catalogue(size: int) -> None:
    for n in range(size):
        make_dataset(title=f"嘉兴市公交线路{n}", name=f"bus-line-{n:05d}", index=False)
    db.session.commit()


# -- refusals ---------------------------------------------------------------------------------------


def test_v1_refusal_is_429_with_retry_after_in_the_json_error_envelope(app, make_app):
    client = limited(make_app, API_RATELIMIT_ANONYMOUS="2 per minute").test_client()
    assert [client.get("/api/v1/themes").status_code for _ in range(2)] == [200, 200]
    refused = client.get("/api/v1/themes")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    error = refused.get_json()["error"]
    assert error["code"] == 429 and "2 per minute" in error["message"] and "token" in error["message"]


def test_ckan_refusal_is_429_with_retry_after_in_ckans_envelope(app, make_app):
    client = limited(make_app, API_RATELIMIT_ANONYMOUS="1 per minute").test_client()
    assert client.get("/api/3/action/status_show").status_code == 200
    refused = client.post("/api/3/action/package_search", json={"q": "公交"})
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    body = refused.get_json()
    assert body["success"] is False
    assert body["error"]["__type"] == "Too Many Requests"
    assert "1 per minute" in body["error"]["message"]
    assert body["help"].endswith("/api/3/action/help_show?name=package_search")


def test_ckanapi_sees_the_refusal_as_a_ckan_error(app, make_app):
    served = limited(make_app, API_RATELIMIT_ANONYMOUS="1 per minute")
    with serve(served) as url:
        portal = ckanapi.RemoteCKAN(url, user_agent="ckanapi-test")
        portal.action.status_show()
        with pytest.raises(ckanapi.CKANAPIError, match="Too Many Requests"):
            portal.action.status_show()


# -- whose budget ------------------------------------------------------------------------------------


def test_all_of_a_users_tokens_share_one_budget(app, make_app):
    user = make_user("developer")
    plains = [token_of(user) for _ in range(4)]
    client = limited(make_app, API_RATELIMIT_TOKEN="3 per minute").test_client()
    codes = [client.get("/api/v1/themes", headers={"X-API-Key": p}).status_code for p in plains]
    assert codes == [200, 200, 200, 429]
    refused = client.get("/api/v1/themes", headers={"X-API-Key": plains[0]})
    assert "per user" in refused.get_json()["error"]["message"]


def test_another_users_token_has_its_own_budget(app, make_app):
    first, second = token_of(), token_of()
    client = limited(make_app, API_RATELIMIT_TOKEN="1 per minute").test_client()
    assert client.get("/api/v1/themes", headers={"X-API-Key": first}).status_code == 200
    assert client.get("/api/v1/themes", headers={"X-API-Key": first}).status_code == 429
    assert client.get("/api/v1/themes", headers={"X-API-Key": second}).status_code == 200


def test_rows_asked_for_are_charged_to_the_token_holder(app, make_app):
    plain = token_of()
    client = limited(make_app, API_RATELIMIT_TOKEN_ROWS="1500 per minute").test_client()
    key = {"X-API-Key": plain}
    assert client.get("/api/3/action/package_search?rows=1000", headers=key).status_code == 200
    assert client.get("/api/3/action/package_search?rows=400", headers=key).status_code == 200
    assert client.get("/api/v1/datasets?per_page=100", headers=key).status_code == 200  # 1,500 of 1,500
    refused = client.get("/api/3/action/package_show?id=x", headers=key)
    assert refused.status_code == 429
    assert "datasets asked for" in refused.get_json()["error"]["message"]


def test_anonymous_page_sizes_are_charged_per_address(app, make_app):
    client = limited(make_app, API_RATELIMIT_ANONYMOUS_ROWS="30 per minute").test_client()
    assert client.get("/api/v1/datasets").status_code == 200  # 20 rows
    assert client.get("/api/v1/datasets?per_page=10").status_code == 200  # 30 of 30
    assert client.get("/api/v1/datasets?per_page=1").status_code == 429
    other = client.get("/api/v1/datasets", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200


# -- where the counts live -------------------------------------------------------------------------------


def test_with_redis_a_restarted_worker_keeps_the_budget_without_it_starts_afresh(app, make_app):
    address = {
        "REMOTE_ADDR": f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    }

    def calls(worker, n: int) -> list[int]:
        client = worker.test_client()
        return [client.get("/api/v1/themes", environ_base=address).status_code for _ in range(n)]

    shared = {"REDIS_URL": REDIS_URL, "API_RATELIMIT_ANONYMOUS": "2 per minute"}
    assert calls(limited(make_app, **shared), 2) == [200, 200]
    assert calls(limited(make_app, **shared), 1) == [429]  # a new worker (or a restarted one) sees the count
    assert calls(limited(make_app, API_RATELIMIT_ANONYMOUS="2 per minute"), 3) == [200, 200, 429]
    assert calls(limited(make_app, API_RATELIMIT_ANONYMOUS="2 per minute"), 1) == [200]  # memory: forgotten


# -- the standard tools at the default limits ---------------------------------------------------------


def dump(url: str, plain: str, out: Path) -> subprocess.CompletedProcess:
    command = [CKANAPI, "dump", "datasets", "--all", "-r", url, "-a", plain, "-p", "3", "-O", str(out), "-q"]
    path = f"{Path(CKANAPI).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # its workers run `ckanapi`
    return subprocess.run(
        command, capture_output=True, text=True, timeout=50, env={**os.environ, "PATH": path}
    )


def test_ckanapi_dump_and_a_paged_search_read_the_catalogue_at_the_scaled_default_limits(
    app, make_app, tmp_path
):
    catalogue(SIZE)
    plain = token_of()
    served = limited(
        make_app,
        API_RATELIMIT_TOKEN=scaled(config.API_RATELIMIT_TOKEN),
        API_RATELIMIT_TOKEN_ROWS=scaled(config.API_RATELIMIT_TOKEN_ROWS),
    )
    rows = SIZE * 1000 // FULL_SIZE  # pages of 1,000 at full size
    with serve(served) as url:
        finished = dump(url, plain, tmp_path / "datasets.jsonl")
        assert finished.returncode == 0, finished.stderr
        dumped = [json.loads(line) for line in (tmp_path / "datasets.jsonl").read_text("utf-8").splitlines()]
        assert len({d["name"] for d in dumped}) == SIZE
        portal, found, start = ckanapi.RemoteCKAN(url, apikey=plain), set(), 0
        while page := portal.action.package_search(rows=rows, start=start, sort="name asc")["results"]:
            found.update(d["name"] for d in page)
            start += rows
        assert found == {d["name"] for d in dumped}
        # Both reads spent what the arithmetic says (and this call one more): the budgets are live.
        left = requests.get(f"{url}/api/v1/themes", headers={"X-API-Key": plain}, timeout=5)
    spent = costs.ckanapi_dump(SIZE) + costs.package_search_pages(SIZE, rows) + costs.Cost(1, 1)
    by_limit = {
        int(scaled(config.API_RATELIMIT_TOKEN).split()[0]): spent.requests,
        int(scaled(config.API_RATELIMIT_TOKEN_ROWS).split()[0]): spent.rows,
    }
    limit, remaining = int(left.headers["X-RateLimit-Limit"]), int(left.headers["X-RateLimit-Remaining"])
    assert limit - remaining == by_limit[limit]


def test_ckanapi_dump_meets_a_429_when_the_budget_counts_requests_too_tightly(app, make_app, tmp_path):
    catalogue(SIZE)
    plain = token_of()
    served = limited(make_app, API_RATELIMIT_TOKEN=scaled("600 per minute"))  # the old default, scaled
    with serve(served) as url:
        finished = dump(url, plain, tmp_path / "datasets.jsonl")
    assert finished.returncode != 0
    assert "Too Many Requests" in finished.stderr or "429" in finished.stderr
