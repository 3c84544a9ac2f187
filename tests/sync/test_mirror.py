"""The mirror fetches resource files only where the outbound guard allows (issue 13: SSRF).

A resource whose URL, or a redirect of it, reaches a non-public address is not fetched at all:
its server hears nothing, the run notes "mirror skipped" with the reason, and the resource stays a
link to its origin (counted as not downloadable), never served from the portal's storage.
"""

from __future__ import annotations

import pytest
from ckanserver import FakeCkan, serve
from connections import record as record_connections
from sqlalchemy import select
from werkzeug.wrappers import Request, Response

from portal.catalogue.models import Resource
from portal.extensions import db
from portal.sync import commands, remote, run
from portal.sync.models import SUCCEEDED, SyncError, SyncRun

ORG = {"id": "org-jx", "name": "jx-jtj", "title": "嘉兴市交通运输局"}
CSV = "站点,线路\n南湖站,1路\n".encode()


class FileServer:
    """Serves CSV at any path, or a redirect when one is set; counts the requests."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.redirect_to: str | None = None

    def __call__(self, environ, start_response):
        self.hits.append(Request(environ).path)
        if self.redirect_to:
            return Response(status=302, headers={"Location": self.redirect_to})(environ, start_response)
        return Response(CSV, mimetype="text/csv")(environ, start_response)


def _served():
    server = FileServer()
    with serve(server) as url:
        server.url, server.port = url, int(url.rsplit(":", 1)[1])
        yield server


target = pytest.fixture(_served, name="target")
relay = pytest.fixture(_served, name="relay")


@pytest.fixture
def fake() -> FakeCkan:
    fake = FakeCkan()
    fake.add_organization(ORG)
    return fake


@pytest.fixture
def connections(monkeypatch) -> list:
    return record_connections(monkeypatch)


def publish(fake: FakeCkan, url: str, *, fmt: str = "CSV", n: int = 1) -> None:
    fake.add_package(
        {
            "id": f"00000000-0000-4000-8000-{n:012d}",
            "name": f"bus-stops-{n}",
            "title": "公交站点",
            "organization": ORG,
            "extras": [{"key": "open_condition", "value": "无条件开放"}],
            "resources": [{"id": f"r-{n}", "name": "站点表", "format": fmt, "url": url}],
        }
    )


def mirror_run(ckan_url: str, store) -> SyncRun:
    """Sync with mirroring, the fetcher built from the app's config, as the CLI and the web do."""
    source = remote.CkanSource(ckan_url, timeout=5, retries=0, backoff=0)
    return run.sync(source, run.Settings(mirror=True), store=store, fetcher=commands.fetcher_from_config())


def resource(n: int = 1) -> Resource:
    return db.session.scalar(select(Resource).where(Resource.ckan_id == f"r-{n}"))


def assert_skipped(sync_run: SyncRun, url: str, reason: str) -> None:
    errors = db.session.scalars(select(SyncError).where(SyncError.run_id == sync_run.id)).all()
    assert [(e.stage, e.resource) for e in errors] == [("mirror", "r-1")]
    assert errors[0].message.startswith("not downloadable: mirror skipped, refused ")
    assert reason in errors[0].message and "OUTBOUND_ALLOWED_HOSTS" in errors[0].message
    assert sync_run.status == SUCCEEDED  # a resource problem is noted; the dataset is written
    kept = resource()
    assert (kept.url, kept.storage_key, kept.mirrored_at) == (url, None, None)
    assert kept.invalid_reason == "not_downloadable"


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://10.0.0.1/data/stops.csv", "10.0.0.1: private address"),
        ("http://169.254.169.254/latest/meta-data/stops.csv", "169.254.169.254: link-local address"),
        ("http://[::1]:8080/stops.csv", "::1: loopback address"),
        ("http://[::ffff:7f00:1]/stops.csv", "loopback address"),
        ("http://100.100.100.200/latest/meta-data/stops.csv", "carrier-grade NAT address"),
    ],
)
def test_a_resource_on_a_non_public_address_is_not_fetched(
    app, fake, ckan_url, store, connections, url, reason
):
    publish(fake, url)
    sync_run = mirror_run(ckan_url, store)
    assert_skipped(sync_run, url, reason)
    ckan_port = int(ckan_url.rsplit(":", 1)[1])
    assert {address for address in connections} == {("127.0.0.1", ckan_port)}  # CKAN only


def test_a_resource_on_loopback_is_not_fetched_and_its_server_hears_nothing(
    app, fake, ckan_url, store, target
):
    url = f"{target.url}/admin/export.csv"
    publish(fake, url)
    assert_skipped(mirror_run(ckan_url, store), url, "127.0.0.1: loopback address")
    assert target.hits == []


def test_a_host_name_that_resolves_to_loopback_is_not_fetched(app, fake, ckan_url, store, target):
    url = f"http://localhost:{target.port}/stops.csv"
    publish(fake, url)
    assert_skipped(mirror_run(ckan_url, store), url, "localhost (127.0.0.1): loopback address")
    assert target.hits == []


def test_a_redirect_from_an_allowed_host_to_loopback_is_not_followed(
    app, fake, ckan_url, store, target, relay
):
    app.config["OUTBOUND_ALLOWED_HOSTS"] = ("localhost",)  # the relay, by name; 127.0.0.1 stays refused
    relay.redirect_to = f"http://127.0.0.1:{target.port}/secret.csv"
    url = f"http://localhost:{relay.port}/stops.csv"
    publish(fake, url)
    assert_skipped(mirror_run(ckan_url, store), url, "127.0.0.1: loopback address")
    assert relay.hits == ["/stops.csv"] and target.hits == []


def test_a_refused_file_of_a_format_not_counted_is_still_noted_on_the_run(app, fake, ckan_url, store):
    publish(fake, "http://192.168.1.20/stops.xml", fmt="XML")
    sync_run = mirror_run(ckan_url, store)
    error = db.session.scalar(select(SyncError).where(SyncError.run_id == sync_run.id))
    assert error.stage == "mirror" and "192.168.1.20: private address" in error.message


def test_a_refused_resource_is_never_served_by_the_portal_only_linked(app, fake, ckan_url, store, client):
    url = "http://10.0.0.1/data/stops.csv"
    publish(fake, url)
    mirror_run(ckan_url, store)
    response = client.get("/datasets/bus-stops-1/resources/r-1/download")
    assert response.status_code == 302 and response.headers["Location"] == url


@pytest.mark.parametrize("allowed", [("localhost",), ("127.0.0.0/8",), (".localhost", "10.20.0.0/16")])
def test_a_file_on_an_allowed_intranet_host_is_mirrored(app, fake, ckan_url, store, target, allowed):
    app.config["OUTBOUND_ALLOWED_HOSTS"] = allowed
    publish(fake, f"http://localhost:{target.port}/stops.csv")
    sync_run = mirror_run(ckan_url, store)
    assert db.session.scalars(select(SyncError).where(SyncError.run_id == sync_run.id)).all() == []
    mirrored = resource()
    assert mirrored.storage_key and (mirrored.records, mirrored.fields) == (1, 2)
    with store.open(mirrored.storage_key) as stored:
        assert stored.read() == CSV
    assert target.hits == ["/stops.csv"]


def test_files_on_the_configured_ckan_host_are_mirrored(app, fake, ckan_url, store, target):
    app.config["CKAN_URL"] = ckan_url  # on 127.0.0.1, as the file server: the filestore on the CKAN's host
    publish(fake, f"{target.url}/stops.csv")
    mirror_run(ckan_url, store)
    assert resource().storage_key and target.hits == ["/stops.csv"]


def test_the_sync_command_mirrors_through_the_configured_guard(app, runner, fake, ckan_url, target):
    app.config["CKAN_URL"] = ckan_url  # 127.0.0.1: the file server shares the CKAN's host
    publish(fake, "http://10.0.0.1/data/stops.csv", n=1)
    publish(fake, f"{target.url}/stops.csv", n=2)
    result = runner.invoke(args=["ckan", "sync", "--mirror"])
    assert result.exit_code == 0, result.output
    assert "10.0.0.1: private address" in resource(1).mirror_error
    assert resource(2).storage_key and target.hits == ["/stops.csv"]


def test_a_sync_started_from_the_web_mirrors_through_the_configured_guard(
    app, client, login, fake, ckan_url, target
):
    app.config.update(CKAN_URL=ckan_url, SYNC_IN_BACKGROUND=False, SYNC_RETRIES=0)
    publish(fake, "http://169.254.169.254/latest/meta-data/stops.csv", n=1)
    publish(fake, f"{target.url}/stops.csv", n=2)
    login("admin")
    response = client.post("/admin/sync/start", data={"source": "", "mirror": "1"})
    assert response.status_code == 302
    assert "169.254.169.254: link-local address" in resource(1).mirror_error
    assert resource(2).storage_key and target.hits == ["/stops.csv"]
