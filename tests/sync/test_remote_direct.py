"""A guarded CKAN source posts its actions through its session's adapter without requests' per-call
Session work (sync/remote.py `CkanSource._post`, issue 20 item 3): the same requests, answers, retries,
timeouts and errors as through ckanapi and requests, which a source without a guard still uses."""

from __future__ import annotations

import re
import socket

import pytest
from ckanserver import serve
from sync_factories import fake_ckan

from portal import outbound
from portal.sync import remote

LOCAL = outbound.Guard.from_settings(["127.0.0.0/8"])


def pair(url: str, **options) -> tuple[remote.CkanSource, remote.CkanSource]:
    """The same guarded source twice: through `_post`, and through ckanapi and requests."""
    options = {"timeout": 5, "retries": 2, "backoff": 0, "guard": LOCAL, **options}
    direct, ordinary = remote.CkanSource(url, **options), remote.CkanSource(url, **options)
    ordinary.direct = False
    assert direct.direct
    return direct, ordinary


def outcome(call):
    """What a call returned, or its exception's type and message (addresses of objects blanked)."""
    try:
        return ("ok", call())
    except Exception as exc:  # compared whole
        return (type(exc).__name__, re.sub(r"0x[0-9a-f]+", "0x", str(exc)))


class Recording:
    """A WSGI app in front of the fake CKAN that keeps each request's headers."""

    def __init__(self, app) -> None:
        self.app, self.headers = app, []

    def __call__(self, environ, start_response):
        self.headers.append(
            {k: v for k, v in environ.items() if k.startswith("HTTP_") or k.startswith("CONTENT_")}
        )
        return self.app(environ, start_response)


def test_the_same_answers_and_errors_as_ckanapi():
    fake = fake_ckan()
    resource = fake.get_package("dataset-001")["resources"][0]["id"]
    fake.set_datastore(resource, ["站点", "线路"], 2, [{"_id": 1, "站点": "南湖站", "线路": "1路"}])
    with serve(fake) as url:
        direct, ordinary = pair(url)
        calls = [
            lambda s: list(s.packages(None)),
            lambda s: s.count(None),
            lambda s: s.package_names(),
            lambda s: s.organizations(),
            lambda s: s.show("dataset-002"),
            lambda s: s.show("no-such-dataset"),  # NotFound: PackageGone
            lambda s: s._shape_and_sample(resource, 200),
            lambda s: s._shape_and_sample("no-such-table", 200),
            lambda s: s.call("package_search", rows="many"),  # CKAN's Validation Error
            lambda s: s.call("no_such_action"),  # an HTML 400
        ]
        for call in calls:
            assert outcome(lambda c=call: c(direct)) == outcome(lambda c=call: c(ordinary))
        assert outcome(lambda: direct.show("dataset-002"))[0] == "ok"


def test_the_same_headers_as_requests():
    recording = Recording(fake_ckan())
    with serve(recording) as url:
        direct, ordinary = pair(url, api_key="秘密".encode().hex())
        direct.show("dataset-001")
        ordinary.show("dataset-001")
    sent_direct, sent_ordinary = recording.headers
    assert sent_direct == sent_ordinary
    assert sent_direct["HTTP_AUTHORIZATION"] == "秘密".encode().hex()
    assert sent_direct["HTTP_USER_AGENT"] == remote.USER_AGENT


def test_server_errors_are_retried_then_answered():
    fake = fake_ckan()
    with serve(fake) as url:
        direct, ordinary = pair(url)
        for source in (direct, ordinary):
            fake.fail_next("package_show", 503, times=2)
            before = len(fake.calls_to("package_show"))
            assert source.show("dataset-001")["name"] == "dataset-001"
            assert len(fake.calls_to("package_show")) - before == 3  # two 503s, then the answer
        found = []
        for source in (direct, ordinary):
            fake.fail_next("package_show", 500, times=3, body="json")
            found.append(outcome(lambda s=source: s.show("dataset-001")))
        assert found[0] == found[1] and found[0][0] == "SourceUnavailable"


def test_timeouts_and_closed_ports_fail_alike():
    fake = fake_ckan()
    with serve(fake) as url:
        direct, ordinary = pair(url, timeout=0.3, retries=0)
        found = []
        for source in (direct, ordinary):
            fake.hang_next("package_show", 1.5)
            found.append(outcome(lambda s=source: s.show("dataset-001")))
        assert found[0] == found[1]
        assert found[0][0] == "SourceUnavailable" and "timed out" in found[0][1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    direct, ordinary = pair(closed, retries=1)
    found = [outcome(lambda s=source: s.show("dataset-001")) for source in (direct, ordinary)]
    assert found[0] == found[1] and found[0][0] == "SourceUnavailable"


def test_the_guard_still_refuses():
    with serve(fake_ckan()) as url:
        source = remote.CkanSource(url, timeout=5, retries=0, guard=outbound.Guard.from_settings([]))
        assert source.direct
        with pytest.raises(remote.SourceRefused):
            source.show("dataset-001")


@pytest.mark.parametrize(
    ("location", "guard"),
    [
        ("http://127.0.0.1:9", None),  # no guard: requests may take proxies from the environment
        ("http://user:secret@127.0.0.1:9", LOCAL),  # credentials in the URL: requests sends them
        ("http://数据.example:9", LOCAL),  # a name requests encodes itself
    ],
)
def test_other_sources_go_through_requests(location, guard):
    assert not remote.CkanSource(location, guard=guard).direct


@pytest.mark.parametrize(
    "location, key",
    [
        ("http://127.0.0.1:9/", "abc\r\nX-Evil: 1"),
        ("http://127.0.0.1:9/a\tb", None),
        ("http://127.0.0.1:9/a b", "k"),
    ],
)
def test_a_key_or_address_no_request_can_carry_as_is_goes_through_requests(location, key):
    """A key with a line break (or an address with a blank or a control) is what requests refuses or
    quotes: such a source never takes the direct path, so its errors stay requests' (review finding:
    http.client's bare ValueError escaped `call`)."""
    source = remote.CkanSource(location, api_key=key, timeout=2, retries=0, backoff=0, guard=LOCAL)
    assert not source.direct
    with pytest.raises(remote.SourceUnavailable):
        source.call("status_show")


def test_a_plain_key_keeps_the_direct_path():
    assert remote.CkanSource("http://127.0.0.1:9/", api_key="tok-123.abc", guard=LOCAL).direct
