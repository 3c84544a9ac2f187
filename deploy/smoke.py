"""The smoke test of deploy/local-cluster.sh: the topology, through its front door, as a user sees it.

    python deploy/smoke.py --state /tmp/portal-cluster --front http://127.0.0.1:8080 \
        --node http://127.0.0.1:8101 --node http://127.0.0.1:8102

Checks: nginx spreads requests over every node; each node is ready (database at head, storage, Redis);
the admin signs in through the front door and stays signed in on every node; the API's rate limit is
shared by all nodes and workers (a 429 within the budget of one); a sync started from the web runs on
the worker and every node shows its result; /metrics answers on each node and never at the front door.
Prints one line per check; exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import requests

ADMIN = "admin@demo.jiaxing.example"
API_BUDGET = 60  # API_RATELIMIT_ANONYMOUS, per minute and client address


class Smoke:
    def __init__(self, front: str, nodes: list[str], state: Path) -> None:
        self.front, self.nodes, self.state = front, nodes, state
        self.session = requests.Session()
        self.failed = 0

    def check(self, label: str, test) -> None:
        began = time.monotonic()
        try:
            detail = test() or ""
        except Exception as exc:  # every check runs and reports, whatever the others did
            self.failed += 1
            print(f"FAIL  {label}: {type(exc).__name__}: {exc}", flush=True)
            return
        print(f"ok    {label} ({time.monotonic() - began:.1f} s) {detail}", flush=True)

    # -- the checks ------------------------------------------------------------------------------------
    def balanced(self):
        names = {
            requests.get(f"{self.front}/healthz", timeout=5).json()["node"]
            for _ in range(4 * len(self.nodes))
        }
        assert len(names) == len(self.nodes), f"served by {sorted(names)}"
        return f"served by {', '.join(sorted(names))}"

    def ready(self):
        for node in self.nodes:
            body = requests.get(f"{node}/readyz", timeout=10).json()
            states = {name: check["state"] for name, check in body["checks"].items()}
            assert body["ready"] and states == {"database": "ok", "storage": "ok", "redis": "ok"}, (
                node,
                body,
            )
        return "database, storage and Redis ok on every node"

    def signed_in_everywhere(self):
        page = self.session.get(f"{self.front}/account/sign-in", timeout=10)
        answer = self.session.post(
            f"{self.front}/account/sign-in",
            data={"csrf_token": _csrf(page.text), "email": ADMIN, "password": self._password()},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, f"sign-in answered {answer.status_code}"
        for _ in range(2 * len(self.nodes)):
            assert self.session.get(f"{self.front}/admin/", timeout=10).status_code == 200
        for node in self.nodes:  # the session cookie made through the front door, on each node itself
            answer = requests.get(
                f"{node}/admin/", cookies=self.session.cookies, allow_redirects=False, timeout=10
            )
            assert answer.status_code == 200, f"{node}/admin/ answered {answer.status_code}"
        return f"front door and {len(self.nodes)} nodes"

    def shared_rate_limit(self):
        for n in range(1, 8 * API_BUDGET):
            answer = requests.get(f"{self.front}/api/v1/datasets", params={"per_page": 1}, timeout=10)
            if answer.status_code == 429:
                assert n <= API_BUDGET + 1, f"first 429 only at request {n}"
                return f"first 429 at request {n} of a budget of {API_BUDGET} shared by every process"
            assert answer.status_code == 200, answer.status_code
        raise AssertionError("no 429: each process counts on its own")

    def web_sync_on_the_worker(self):
        page = self.session.get(f"{self.front}/admin/sync/", timeout=10).text
        demo = re.search(r'<option value="([^"]+)" data-kind="dump"', page)
        assert demo, "no dump offered on the sync page"
        answer = self.session.post(
            f"{self.front}/admin/sync/start",
            data={"csrf_token": _csrf(page), "source": demo.group(1), "mirror": "1"},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, f"start answered {answer.status_code}"
        path = answer.headers["Location"].split("://", 1)[-1]
        path = path[path.index("/") :] if not path.startswith("/") else path
        run_id = path.rstrip("/").rsplit("/", 1)[1]
        status, deadline = "running", time.monotonic() + 300
        while status == "running":
            assert time.monotonic() < deadline, "the sync did not finish in 300 s"
            time.sleep(1)
            status = _status(self.session.get(self.front + path, timeout=10).text)
        assert status in ("succeeded", "partial"), f"run #{run_id} {status}"
        for node in self.nodes:
            seen = _status(requests.get(node + path, cookies=self.session.cookies, timeout=10).text)
            assert seen == status, f"{node} shows run #{run_id} as {seen}"
        jobs = self.session.get(f"{self.front}/admin/jobs/", params={"state": "finished"}, timeout=10).text
        assert "sync.run" in jobs, "no finished sync.run job on the jobs page"
        worker_log = (self.state / "worker.log").read_text(errors="replace")
        assert re.search(r"portal-job-\d+", worker_log), "the worker's log names no job"
        return f"run #{run_id} {status} on the worker; every node shows it"

    def metrics(self):
        for node in self.nodes:
            text = requests.get(f"{node}/metrics", timeout=10).text
            for family in ("portal_request_duration_seconds_bucket", "portal_jobs{", "portal_queue_depth{"):
                assert family in text, f"{node}/metrics lacks {family}"
        assert requests.get(f"{self.front}/metrics", timeout=10).status_code == 404
        return "on every node; 404 at the front door"

    def _password(self) -> str:
        log = (self.state / "init.log").read_text(encoding="utf-8")
        found = re.search(rf"admin\s+{re.escape(ADMIN)}\s+(\S+)", log)
        assert found and not found.group(1).startswith("("), f"no admin password in {self.state / 'init.log'}"
        return found.group(1)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert found, "no CSRF token on the page"
    return found.group(1)


def _status(html: str) -> str:
    found = re.search(r'data-status="(\w+)"', html)
    return found.group(1) if found else "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--front", required=True)
    parser.add_argument("--node", action="append", required=True)
    args = parser.parse_args()
    smoke = Smoke(args.front, args.node, args.state)
    smoke.check("nginx spreads requests over the nodes", smoke.balanced)
    smoke.check("/readyz on each node", smoke.ready)
    smoke.check("signed in through the front door, still signed in on every node", smoke.signed_in_everywhere)
    smoke.check("a sync started from the web runs on the worker", smoke.web_sync_on_the_worker)
    smoke.check("/metrics", smoke.metrics)
    smoke.check("rate limits shared by every node", smoke.shared_rate_limit)
    print("check: " + ("all passed" if not smoke.failed else f"{smoke.failed} failed"))
    return 1 if smoke.failed else 0


if __name__ == "__main__":
    sys.exit(main())
