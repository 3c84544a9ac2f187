"""Request ids made by the app (portal/ops/logs.py): 32 hex digits, unique within a process and across
processes forked from one (gunicorn's workers), without a system call per request (issue 20)."""

from __future__ import annotations

import os
import re

from portal.ops import logs


def test_made_ids_are_32_hex_digits_never_repeated():
    ids = [logs.request_id({}) for _ in range(10_000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", made) for made in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_process_makes_other_ids_than_its_parent():
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # without a new seed the child would draw the ids its parent draws next
        try:
            os.write(write, " ".join(logs.request_id({}) for _ in range(3)).encode())
        finally:  # never back into the test session, whatever happened
            os._exit(0)
    os.waitpid(child, 0)
    os.close(write)
    with os.fdopen(read) as pipe:
        childs = set(pipe.read().split())
    assert len(childs) == 3
    assert childs.isdisjoint(logs.request_id({}) for _ in range(3))


def test_a_proxys_id_is_kept_and_a_bad_one_replaced():
    assert logs.request_id({"HTTP_X_REQUEST_ID": "nginx-4f2a9c1d"}) == "nginx-4f2a9c1d"
    assert re.fullmatch(r"[0-9a-f]{32}", logs.request_id({"HTTP_X_REQUEST_ID": "短"}))
