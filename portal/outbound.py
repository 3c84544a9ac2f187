"""Server-side fetches of URLs that come from outside: public addresses only, unless allowed.

A URL that a CKAN resource names, or that an admin types into a form, could point the server
at itself, at the intranet or at a cloud metadata service (server-side request forgery). Every
such fetch goes through a session from `session()`. Its connections resolve the host, refuse it
when any of its addresses is not a public one (loopback, private, link-local, multicast,
unspecified, reserved, carrier-grade NAT, IPv4-mapped forms of these ...) and then connect to
the very addresses they checked: a DNS answer that changes between the check and the connection
(rebinding) never reaches the socket. `get()` follows redirects itself, at most MAX_REDIRECTS,
and each hop's connection is checked again. Proxies from the environment are not used: through a
proxy, the guard could not see where the connection goes.

The city's intranet hosts (its CKAN and filestore often sit there) are allowed by name or by
network: `Guard.from_settings(["ckan.jx.gov.cn", ".intranet.jx", "10.20.0.0/16"])`.

Written here rather than taken from a library: requests-hardened allows loopback or nothing
(no named hosts or networks) and checks one address of several; advocate is built for urllib3 1.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family, create_connection

SCHEMES = ("http", "https")
MAX_REDIRECTS = 5
SETTING = "OUTBOUND_ALLOWED_HOSTS"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_IPV6_CARRYING_IPV4 = tuple(  # these reach an IPv4 address the check would not see
    ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32")
)
# (kind, test) in order: the first that holds names the refusal
_KINDS: tuple[tuple[str, object], ...] = (
    ("unspecified", lambda ip: ip.is_unspecified),
    ("loopback", lambda ip: ip.is_loopback),
    ("link-local", lambda ip: ip.is_link_local),  # 169.254.169.254: cloud metadata services
    ("multicast", lambda ip: ip.is_multicast),
    ("carrier-grade NAT", lambda ip: ip in _CGNAT),
    ("IPv6-to-IPv4 translation", lambda ip: any(ip in n for n in _IPV6_CARRYING_IPV4)),
    ("reserved", lambda ip: ip.is_reserved),
    ("private", lambda ip: ip.is_private or getattr(ip, "is_site_local", False)),
    ("non-public", lambda ip: not ip.is_global),
)


class Refused(Exception):
    """The URL may not be fetched from the server; the message says why."""


def refusal(ip: Address) -> str | None:
    """Return the kind of address that makes `ip` off limits (loopback, private ...), or None."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    for reason, test in _KINDS:
        if test(ip):
            return reason
    return None


@dataclass(frozen=True)
class Guard:
    """Which hosts the server may fetch from: public addresses, and the allowed names and networks."""

    hosts: frozenset[str] = frozenset()  # exact names, or ".suffix" for a domain and its subdomains
    networks: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, entries: Iterable[str] = (), *, also_urls: Iterable[str | None] = ()) -> Guard:
        """Build a guard from allow-list entries (host names, ".domain" suffixes, IPs or CIDR
        networks) and the hosts of `also_urls` (such as the configured CKAN's)."""
        hosts, networks = set(), []
        entries = [e.strip() for e in entries if e and e.strip()]
        entries += [urlsplit(u).hostname or "" for u in also_urls if u]
        for entry in filter(None, entries):
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(_normal(entry))
        return cls(hosts=frozenset(hosts), networks=tuple(networks))

    def allows_name(self, host: str) -> bool:
        """Whether `host` is allowed by name, whatever it resolves to."""
        host = _normal(host)
        return host in self.hosts or any(
            h.startswith(".") and (host.endswith(h) or host == h[1:]) for h in self.hosts
        )

    def allows_address(self, ip: Address) -> bool:
        """Whether `ip` is public or in an allowed network."""
        if refusal(ip) is None:
            return True
        return any(ip in n or _mapped(ip) in n for n in self.networks)

    def check_url(self, url: str) -> str:
        """Return the URL's host; raise Refused for another scheme than http(s) or no host."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError as exc:
            raise Refused(f"not a valid URL: {exc}") from exc
        if parts.scheme.lower() not in SCHEMES:
            raise Refused(f"only http and https URLs are fetched, not {parts.scheme or 'a relative URL'!r}")
        if not host:
            raise Refused("the URL names no host")
        return host

    def addresses(self, host: str, port: int) -> list[tuple[str, int]]:
        """Resolve `host` and return its (address, port) pairs once all are allowed; raise Refused
        when one is not. socket.gaierror passes through for a name that does not resolve."""
        host = host.strip("[]")
        try:  # an address literal needs no lookup (and an IPv6 one none of the IPv4-only kind)
            found = [(str(ipaddress.ip_address(host)), port)]
        except ValueError:
            infos = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
            found = [(addr[0], addr[1]) for family, _, _, _, addr in infos if family in _FAMILIES]
        if not found:
            raise Refused(f"{host} has no IPv4 or IPv6 address")
        if self.allows_name(host):
            return found
        for address, _ in found:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if not self.allows_address(ip):
                shown = host if host == address else f"{host} ({address})"
                raise Refused(
                    f"refused {shown}: {refusal(ip)} address; the server fetches only from public"
                    f" addresses, CKAN_URL's host and {SETTING}"
                )
        return found

    def check(self, url: str) -> None:
        """Check the URL and the addresses its host resolves to now, without connecting (for an
        early, clear refusal; the connection checks again). Raise Refused."""
        host = self.check_url(url)
        port = urlsplit(url).port or (443 if url.lower().startswith("https") else 80)
        try:
            self.addresses(host, port)
        except socket.gaierror as exc:
            raise Refused(f"{host} cannot be resolved: {exc.strerror or exc}") from exc


_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def _normal(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _mapped(ip: Address) -> Address:
    """The address itself, or the IPv4 address an IPv4-mapped IPv6 address stands for."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def session(guard: Guard, *, max_retries=0) -> requests.Session:
    """Return a requests session whose every connection goes through `guard`."""
    s = requests.Session()
    s.trust_env = False  # no proxy from the environment: the guard must see where we connect
    s.max_redirects = MAX_REDIRECTS
    adapter = _GuardedAdapter(guard, max_retries=max_retries)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def get(s: requests.Session, url: str, *, timeout, **kwargs) -> requests.Response:
    """GET `url` through a guarded session `s`, following at most MAX_REDIRECTS redirects, each
    checked before it is followed. Return the final response (streamed); raise Refused."""
    guard = _guard_of(s)
    for _ in range(MAX_REDIRECTS + 1):
        guard.check_url(url)
        response = s.get(url, allow_redirects=False, stream=True, timeout=timeout, **kwargs)
        target = s.get_redirect_target(response)
        if target is None:
            return response
        response.close()
        url = urljoin(url, target)
    raise Refused(f"more than {MAX_REDIRECTS} redirects")


def _guard_of(s: requests.Session) -> Guard:
    adapters = [s.get_adapter(f"{scheme}://") for scheme in SCHEMES]
    if not all(isinstance(a, _GuardedAdapter) for a in adapters):
        raise TypeError("outbound.get needs a session made by outbound.session")
    return adapters[0].guard


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, guard: Guard, **kwargs) -> None:
        self.guard = guard  # set first: HTTPAdapter.__init__ builds the pool manager
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.guard)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        raise Refused("outbound fetches do not go through a proxy: the address could not be checked")


def _pool_classes(guard: Guard) -> dict[str, type]:
    http = type("GuardedHTTPConnection", (_GuardedConnection, HTTPConnection), {"guard": guard})
    https = type("GuardedHTTPSConnection", (_GuardedConnection, HTTPSConnection), {"guard": guard})
    return {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }


class _GuardedConnection:
    """Mixed into urllib3's connections: resolve once, check, connect to what was checked.

    TLS still verifies the certificate against the host name (SNI too): only the socket's
    destination changes, never the name the request and the handshake carry.
    """

    guard: Guard

    def _new_conn(self) -> socket.socket:
        try:
            addresses = self.guard.addresses(self._dns_host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        error: OSError | None = None
        for address in addresses:
            try:
                return create_connection(
                    address,
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as exc:  # refused or timed out: try the next checked address
                error = exc
        if isinstance(error, TimeoutError):
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            )
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}")
