"""The outbound guard: the server fetches outside URLs from public addresses only, unless allowed.

Live tests use servers on 127.0.0.1 only; every other address is caught by `connections`, which
records each connection attempt and lets none leave the machine.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest
import requests
from ckanserver import serve
from connections import record as record_connections
from werkzeug.wrappers import Request, Response

from portal import outbound


class CountingServer:
    """Answers every path with a body, or a redirect when one is set; counts the requests."""

    def __init__(self, body: bytes = "名称\n甲\n".encode()) -> None:
        self.body, self.hits, self.redirect_to = body, [], None

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.hits.append((request.host, request.path))
        if self.redirect_to:
            response = Response(status=302, headers={"Location": self.redirect_to})
        else:
            response = Response(self.body, mimetype="text/csv")
        return response(environ, start_response)


@pytest.fixture
def target():
    server = CountingServer()
    with serve(server) as url:
        server.url = url
        server.port = int(url.rsplit(":", 1)[1])
        yield server


@pytest.fixture
def other():
    server = CountingServer()
    with serve(server) as url:
        server.url = url
        server.port = int(url.rsplit(":", 1)[1])
        yield server


@pytest.fixture
def connections(monkeypatch) -> list:
    return record_connections(monkeypatch)


def fetch(url: str, guard: outbound.Guard | None = None) -> requests.Response:
    with outbound.session(guard or outbound.Guard()) as s:
        response = outbound.get(s, url, timeout=5)
        response.content  # noqa: B018 - read it before the session closes
        return response


# -- which addresses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address, kind",
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a00:1", "IPv6-to-IPv4 translation"),
        ("2002:7f00:1::", "IPv6-to-IPv4 translation"),
        ("192.0.2.10", "private"),  # documentation range: not routable
    ],
)
def test_refusal_names_the_kind_of_each_non_public_address(address, kind):
    assert outbound.refusal(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("address", ["8.8.8.8", "114.114.114.114", "2400:3200::1", "::ffff:8.8.8.8"])
def test_public_addresses_are_not_refused(address):
    assert outbound.refusal(ipaddress.ip_address(address)) is None


def test_allow_list_takes_names_domain_suffixes_addresses_and_networks():
    guard = outbound.Guard.from_settings(
        [" CKAN.Jx.gov.cn. ", ".intranet.jx", "10.20.0.0/16", "127.0.0.1", "[fd00::1]", ""],
        also_urls=["http://filestore.jx:8080/dataset", None],
    )
    assert guard.hosts == {"ckan.jx.gov.cn", ".intranet.jx", "filestore.jx"}
    assert [str(n) for n in guard.networks] == ["10.20.0.0/16", "127.0.0.1/32", "fd00::1/128"]
    assert guard.allows_name("ckan.jx.gov.cn") and guard.allows_name("files.intranet.jx")
    assert guard.allows_name("intranet.jx") and not guard.allows_name("evilintranet.jx")
    assert guard.allows_address(ipaddress.ip_address("10.20.3.4"))
    assert guard.allows_address(ipaddress.ip_address("::ffff:10.20.3.4"))
    assert not guard.allows_address(ipaddress.ip_address("10.21.0.1"))
    assert not guard.allows_address(ipaddress.ip_address("127.0.0.2"))


def test_the_default_guard_allows_nothing_private():
    assert outbound.Guard() == outbound.Guard.from_settings([])
    assert not outbound.Guard().allows_address(ipaddress.ip_address("127.0.0.1"))


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/a.csv",
        "gopher://127.0.0.1:6379/_",
        "javascript:alert(1)",
        "a.csv",
    ],
)
def test_only_http_and_https_urls_are_fetched(url, connections):
    with pytest.raises(outbound.Refused, match="only http and https"):
        fetch(url)
    assert connections == []


# -- refusing, without connecting --------------------------------------------------------------------


def test_a_loopback_url_is_refused_and_its_server_never_hears_of_it(target, connections):
    with pytest.raises(outbound.Refused, match=r"refused 127\.0\.0\.1: loopback address"):
        fetch(f"{target.url}/data.csv")
    assert target.hits == [] and connections == []


@pytest.mark.parametrize(
    "host, kind",
    [
        ("10.0.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("[::1]", "loopback"),
        ("[::ffff:127.0.0.1]", "loopback"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("2130706433", "loopback"),  # 127.0.0.1 written as one number
        ("127.1", "loopback"),
    ],
)
def test_non_public_addresses_are_refused_before_any_connection(host, kind, connections):
    with pytest.raises(outbound.Refused, match=kind):
        fetch(f"http://{host}/latest/meta-data/")
    assert connections == []


def test_a_host_name_that_resolves_to_loopback_is_refused(target, connections):
    with pytest.raises(outbound.Refused, match=r"localhost \(127\.0\.0\.1\): loopback"):
        fetch(f"http://localhost:{target.port}/data.csv")
    assert target.hits == [] and connections == []


def test_a_redirect_from_an_allowed_host_to_loopback_is_refused(target, other, connections):
    other.redirect_to = f"http://127.0.0.1:{target.port}/secret.csv"
    with pytest.raises(outbound.Refused, match=r"refused 127\.0\.0\.1: loopback"):
        fetch(f"http://localhost:{other.port}/data.csv", outbound.Guard.from_settings(["localhost"]))
    assert len(other.hits) == 1
    assert target.hits == []
    assert connections == [("127.0.0.1", other.port)]


def test_a_redirect_to_another_scheme_is_refused(other, connections):
    other.redirect_to = "file:///etc/passwd"
    with pytest.raises(outbound.Refused, match="only http and https"):
        fetch(f"{other.url}/data.csv", outbound.Guard.from_settings(["127.0.0.1"]))
    assert len(other.hits) == 1


def test_redirects_are_followed_at_most_five_times(other):
    other.redirect_to = "/again"
    with pytest.raises(outbound.Refused, match="more than 5 redirects"):
        fetch(f"{other.url}/data.csv", outbound.Guard.from_settings(["127.0.0.1"]))
    assert len(other.hits) == 6


def test_the_connection_goes_to_the_checked_address_not_to_a_second_answer(target, connections, monkeypatch):
    """DNS rebinding: the first answer is public, every later one loopback. One lookup per connection,
    and the connection goes to the address that lookup gave and the guard passed."""
    real_getaddrinfo, lookups = socket.getaddrinfo, []

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        address = "93.184.216.34" if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with pytest.raises(requests.ConnectionError):
        fetch(f"http://rebind.example:{target.port}/data.csv")
    assert lookups == ["rebind.example"]
    assert connections == [("93.184.216.34", target.port)]
    assert target.hits == []


def test_a_proxy_from_the_environment_is_not_used(target, other, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", other.url)
    monkeypatch.setenv("http_proxy", other.url)
    response = fetch(f"{target.url}/data.csv", outbound.Guard.from_settings(["127.0.0.1"]))
    assert response.status_code == 200 and len(target.hits) == 1
    assert other.hits == []


# -- allowing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("allowed", ["127.0.0.1", "127.0.0.0/8", "localhost", ".localhost"])
def test_an_allowed_intranet_host_is_fetched(target, allowed):
    host = "localhost" if "localhost" in allowed else "127.0.0.1"
    response = fetch(f"http://{host}:{target.port}/data.csv", outbound.Guard.from_settings([allowed]))
    assert response.content == target.body
    assert target.hits == [(f"{host}:{target.port}", "/data.csv")]  # the Host header keeps the name


def test_an_allowed_redirect_is_followed(target, other):
    other.redirect_to = f"{target.url}/moved.csv"
    response = fetch(f"{other.url}/data.csv", outbound.Guard.from_settings(["127.0.0.1"]))
    assert response.content == target.body
    assert [path for _, path in target.hits] == ["/moved.csv"]


def test_a_session_from_elsewhere_is_not_taken_for_a_guarded_one():
    with requests.Session() as s, pytest.raises(TypeError):
        outbound.get(s, "http://127.0.0.1/", timeout=1)


def test_https_keeps_the_host_name_for_sni_and_certificate_checks():
    """Only the socket's destination is pinned: the TLS handshake still names the host, and the
    certificate is still checked against it."""
    import threading

    from werkzeug.serving import generate_adhoc_ssl_context, make_server

    names: list[str] = []
    context = generate_adhoc_ssl_context()
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server = make_server("127.0.0.1", 0, CountingServer(), ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
            fetch(
                f"https://localhost:{server.server_port}/data.csv",
                outbound.Guard.from_settings(["localhost"]),
            )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert names == ["localhost"]
