"""Where packages come from: a live CKAN through `ckanapi.RemoteCKAN`, or a `ckanapi dump` file.

Both sources offer the same few calls, so the sync does not care which it reads.
Transient failures of a live CKAN (timeouts, connection errors, 5xx) are retried
with exponential backoff by the HTTP session; after the last try the call raises
SourceUnavailable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import ckanapi
import requests
from ckanapi.common import prepare_action, reverse_apicontroller_action
from requests import exceptions as http_errors
from requests.adapters import HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from requests.utils import get_encoding_from_headers
from urllib3 import exceptions as urllib3_errors
from urllib3.util import Timeout
from urllib3.util.retry import Retry

from portal import outbound
from portal.sync.mapping import MalformedPackage, parse_timestamp, to_solr

MAX_ROWS = 1000  # CKAN caps package_search rows at 1,000
USER_AGENT = "jiaxing-open-data-portal-sync/1.0"


class SourceUnavailable(Exception):
    """The source could not be read, even after retries; the run must stop."""


class SourceRefused(SourceUnavailable):
    """The source's address is off limits to the server (see portal/outbound.py)."""


class PackageGone(Exception):
    """A package listed a moment ago can no longer be read (deleted or made private)."""

    def __init__(self, name: str, *, hidden: bool = False) -> None:
        super().__init__(name)
        self.hidden = hidden  # CKAN said "not authorized": deleted or private, it does not say which


class BrokenEntry(dict):
    """A dump line or search result that is not a package; carries why."""


def retrying_session(retries: int, backoff: float, guard: outbound.Guard | None = None) -> requests.Session:
    """Return a session that retries timeouts, connection errors and 5xx answers, and connects
    only where `guard` allows when one is given."""
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=None,  # CKAN's actions are POSTs; reading them again is safe
        raise_on_status=False,
    )
    if guard is not None:
        return outbound.session(guard, max_retries=retry)
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _plain(text: str) -> bool:
    """Whether `text` has no blank or control character: what a URL and a header value may carry as
    they are (requests quotes the first and refuses the second, InvalidHeader; the direct path would
    hand either to http.client, which raises a bare ValueError)."""
    return text.isprintable() and not any(c.isspace() for c in text)


class CkanSource:
    """A live CKAN Action API."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30,
        retries: int = 4,
        backoff: float = 0.5,
        rows: int = MAX_ROWS,
        guard: outbound.Guard | None = None,  # None: a URL the operator named in code
    ) -> None:
        self.location = url.rstrip("/")
        self.timeout = timeout
        self.rows = min(rows, MAX_ROWS)
        self.session = retrying_session(retries, backoff, guard)
        self.ckan = ckanapi.RemoteCKAN(
            self.location, apikey=api_key, user_agent=USER_AGENT, session=self.session
        )
        self._samples: dict[str, tuple[int, list[str], list[dict]]] = {}  # read ahead by datastore_shapes
        # behind the guard the session takes nothing from the environment: its calls may skip requests'
        # per-call work (see `_post`); a CKAN reached otherwise is called through ckanapi and requests
        self.direct = (
            guard is not None
            and not self.session.trust_env
            and self.location.isascii()  # requests would encode the name and the path itself
            and "@" not in urlsplit(self.location).netloc  # and send credentials written in the URL
            and _plain(self.location)  # requests would quote blanks and controls in the path
            and (api_key is None or _plain(api_key))  # and refuse a key no header can carry
        )

    def call(self, action: str, **params):
        """Call an action; map transport failures to SourceUnavailable."""
        try:
            if self.direct and not self.session.cookies and not self.session.proxies:
                return self._call_direct(action, params)
            return self.ckan.call_action(action, params, requests_kwargs={"timeout": self.timeout})
        except (ckanapi.NotFound, ckanapi.NotAuthorized, ckanapi.ValidationError):
            raise
        except outbound.Refused as exc:
            raise SourceRefused(f"{action}: {exc}") from exc
        except requests.RequestException as exc:
            raise SourceUnavailable(f"{action}: {type(exc).__name__}: {exc}") from exc
        except ckanapi.CKANAPIError as exc:
            raise SourceUnavailable(f"{action}: {str(exc)[:300]}") from exc

    def _call_direct(self, action: str, params: dict):
        """What `RemoteCKAN.call_action` does (the same request, its answer read back into the action's
        result or exception), the HTTP POST made by `_post`."""
        ckan = self.ckan
        url, data, headers = prepare_action(action, params, ckan.apikey, None, base_url=ckan.base_url)
        headers["User-Agent"] = ckan.user_agent
        url = ckan.address.rstrip("/") + "/" + url
        status, text = self._post(url, data, headers)
        return reverse_apicontroller_action(url, status, text)

    def _post(self, url: str, body: bytes, headers: dict) -> tuple[int, str]:
        """POST `body` as `session.post(url, data=body, headers=headers, allow_redirects=False)` would, and
        return the status and text of the answer; raise the exceptions requests raises.

        The sync's hot read path (a DataStore call per structured resource): requests' Session spends
        about half of a call's CPU merging settings, preparing, hooking and wrapping, all of which
        a guarded session (no proxies, no settings from the environment, no cookies) leaves as they
        are. This sends the same headers through the session's own adapter (its guarded pool, its
        retries of timeouts, connection errors and 5xx answers, its TLS settings), with urllib3's
        exceptions turned into requests' as `HTTPAdapter.send` and `Response.content` turn them."""
        session = self.session
        request = requests.PreparedRequest()  # what the adapter reads: its URL (pool, TLS, path)
        request.method, request.url = "POST", url
        request.headers = requests.structures.CaseInsensitiveDict(session.headers)
        request.headers.update(headers)
        request.headers["Content-Length"] = str(len(body))
        request.body = body
        adapter = session.get_adapter(url)
        try:
            pool = adapter.get_connection_with_tls_context(request, session.verify, cert=session.cert)
        except urllib3_errors.LocationValueError as exc:
            raise http_errors.InvalidURL(exc, request=request) from exc
        adapter.cert_verify(pool, url, session.verify, session.cert)
        try:
            answer = pool.urlopen(
                method="POST",
                url=adapter.request_url(request, {}),
                body=body,
                headers=request.headers,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
                retries=adapter.max_retries,
                timeout=Timeout(connect=self.timeout, read=self.timeout),
                chunked=False,
            )
        except (urllib3_errors.ProtocolError, OSError) as exc:
            raise http_errors.ConnectionError(exc, request=request) from exc
        except urllib3_errors.MaxRetryError as exc:
            reason = exc.reason
            if isinstance(reason, urllib3_errors.ConnectTimeoutError) and not isinstance(
                reason, urllib3_errors.NewConnectionError
            ):
                raise http_errors.ConnectTimeout(exc, request=request) from exc
            if isinstance(reason, urllib3_errors.ResponseError):
                raise http_errors.RetryError(exc, request=request) from exc
            if isinstance(reason, urllib3_errors.ProxyError):
                raise http_errors.ProxyError(exc, request=request) from exc
            if isinstance(reason, urllib3_errors.SSLError):
                raise http_errors.SSLError(exc, request=request) from exc
            raise http_errors.ConnectionError(exc, request=request) from exc
        except urllib3_errors.ClosedPoolError as exc:
            raise http_errors.ConnectionError(exc, request=request) from exc
        except urllib3_errors.ProxyError as exc:
            raise http_errors.ProxyError(exc) from exc
        except urllib3_errors.SSLError as exc:
            raise http_errors.SSLError(exc, request=request) from exc
        except urllib3_errors.ReadTimeoutError as exc:
            raise http_errors.ReadTimeout(exc, request=request) from exc
        except urllib3_errors.InvalidHeader as exc:
            raise http_errors.InvalidHeader(exc, request=request) from exc
        try:
            content = answer.read(decode_content=True)
        except urllib3_errors.ProtocolError as exc:
            raise http_errors.ChunkedEncodingError(exc) from exc
        except urllib3_errors.DecodeError as exc:
            raise http_errors.ContentDecodingError(exc) from exc
        except urllib3_errors.ReadTimeoutError as exc:
            raise http_errors.ConnectionError(exc) from exc
        except urllib3_errors.SSLError as exc:
            raise http_errors.SSLError(exc) from exc
        if "set-cookie" in answer.headers:  # kept as requests keeps them (and the next calls send them)
            extract_cookies_to_jar(session.cookies, request, answer)
        return answer.status, _text(content, answer.headers)

    def packages(self, since: datetime | None) -> Iterator[dict]:
        """Yield each package modified at or after `since` (all when None), oldest first, once.

        Pages by keyset on metadata_modified (and `start` within one instant), so that a
        package modified during the run moves to the end instead of shifting another
        package out of the page it was on.
        """
        seen: dict[str, datetime | None] = {}  # id -> the metadata_modified already yielded
        bound, start = since, 0
        while True:
            params = {
                "q": "*:*",
                "sort": "metadata_modified asc",
                "rows": self.rows,
                "start": start,
                "include_private": False,
            }
            if bound is not None:
                params["fq"] = f"metadata_modified:[{to_solr(bound)} TO *]"
            page = self.call("package_search", **params)
            results = page.get("results") if isinstance(page, dict) else None
            if not isinstance(results, list):
                raise SourceUnavailable("package_search answered without a results list")
            for pkg in results:
                key = pkg.get("id") if isinstance(pkg, dict) else None
                if key is None:
                    yield BrokenEntry(reason="search result without an id")
                    continue
                modified = _modified(pkg)
                if key not in seen or (modified is not None and (seen[key] is None or modified > seen[key])):
                    seen[key] = modified  # a package changed during the run comes again, newer
                    yield pkg
            if len(results) < self.rows:
                return
            last = _modified(results[-1])
            if last is None or last == bound:
                start += len(results)
            else:
                bound, start = last, 0

    def count(self, since: datetime | None) -> int:
        params = {"q": "*:*", "rows": 0}
        if since is not None:
            params["fq"] = f"metadata_modified:[{to_solr(since)} TO *]"
        return int(self.call("package_search", **params).get("count", 0))

    def package_names(self) -> set[str]:
        """Return the names of all public active packages (CKAN's package_list)."""
        names: set[str] = set()
        offset, limit = 0, 1000
        while True:
            batch = self.call("package_list", limit=limit, offset=offset)
            names.update(batch)
            if len(batch) < limit:
                return names
            offset += limit

    def package_ids(self) -> dict[str, str]:
        """Return the name of every public package by id: a page of ids per 1,000 packages."""
        found: dict[str, str] = {}
        start = 0
        while True:  # fl as a list: CKAN joins it with spaces (a string would be split into letters)
            page = self.call(
                "package_search", q="*:*", fl=["id", "name"], sort="id asc", rows=self.rows, start=start
            )
            results = page.get("results") if isinstance(page, dict) else None
            if not isinstance(results, list):
                raise SourceUnavailable("package_search answered without a results list")
            for pkg in results:
                if isinstance(pkg, dict) and isinstance(pkg.get("id"), str):
                    found[pkg["id"]] = str(pkg.get("name") or "")
            if len(results) < self.rows:
                return found
            start += len(results)

    def show(self, name_or_id: str) -> dict:
        try:
            return self.call("package_show", id=name_or_id)
        except ckanapi.NotFound as exc:
            raise PackageGone(name_or_id) from exc
        except ckanapi.NotAuthorized as exc:
            raise PackageGone(name_or_id, hidden=True) from exc

    def organizations(self) -> dict[str, dict]:
        """Return organizations with their extras, by name."""
        found: dict[str, dict] = {}
        offset = 0
        while True:  # CKAN caps all_fields lists (25 by default) whatever limit asks: page until empty
            batch = self.call(
                "organization_list", all_fields=True, include_extras=True, limit=1000, offset=offset
            )
            for org in batch:
                if isinstance(org, dict) and org.get("name"):
                    found[org["name"]] = org
            if not batch:
                return found
            offset += len(batch)

    def counts_by_organization(self) -> dict[str, int]:
        """Return how many public datasets CKAN holds per organization name."""
        page = self.call(
            "package_search", q="*:*", rows=0, **{"facet.field": '["organization"]', "facet.limit": -1}
        )
        items = page.get("search_facets", {}).get("organization", {}).get("items", [])
        return {item["name"]: int(item["count"]) for item in items}

    def datastore_shape(self, resource_id: str) -> tuple[int, int] | None:
        """Return (records, fields without `_id`) of a DataStore table, or None when absent."""
        return self._shape_and_sample(resource_id, 0)[0]

    def datastore_fields(self, resource_id: str) -> list[dict] | None:
        """Return a DataStore table's fields ({"id", "type"}, without `_id`), or None when absent."""
        try:
            result = self.call("datastore_search", resource_id=resource_id, limit=0)
        except (ckanapi.NotFound, ckanapi.NotAuthorized, ckanapi.ValidationError):
            return None
        return [
            {"id": str(f["id"]), "type": str(f.get("type") or "text")}
            for f in result.get("fields", [])
            if isinstance(f, dict) and f.get("id") not in (None, "_id")
        ]

    def datastore_sample(self, resource_id: str, limit: int) -> tuple[list[str], list[dict]] | None:
        """Return a DataStore table's field names (without `_id`) and its first `limit` records in one
        call, or None when absent (the personal data scan's sample, sync/screen.py); a sample read
        ahead with its shape (datastore_shapes) is served once without a call."""
        ahead = self._samples.pop(resource_id, None)
        if ahead is not None and ahead[0] >= limit:
            return ahead[1], ahead[2][:limit]
        try:
            result = self.call("datastore_search", resource_id=resource_id, limit=limit, sort="_id")
        except (ckanapi.NotFound, ckanapi.NotAuthorized, ckanapi.ValidationError):
            return None
        sample = _sample(result)
        if sample is None:
            raise SourceUnavailable("datastore_search answered without fields and records")
        return sample[0], sample[1][:limit]

    def _shape_and_sample(self, resource_id: str, limit: int):
        """Return a DataStore table's shape and its first `limit` records (None when the answer holds
        none), in one call; (None, None) when the table is absent."""
        try:
            result = self.call("datastore_search", resource_id=resource_id, limit=limit, sort="_id")
        except (ckanapi.NotFound, ckanapi.NotAuthorized, ckanapi.ValidationError):
            return None, None
        fields = [f for f in result.get("fields", []) if f.get("id") != "_id"]
        return (int(result.get("total") or 0), len(fields)), _sample(result)

    def datastore_records(self, resource_id: str, offset: int = 0, page: int = 10_000) -> Iterator[dict]:
        """Yield a DataStore table's records in `_id` order from the `offset`-th, a page per call."""
        while True:
            result = self.call(
                "datastore_search",
                resource_id=resource_id,
                offset=offset,
                limit=page,
                sort="_id",
                include_total=False,
            )
            records = result.get("records") if isinstance(result, dict) else None
            if not isinstance(records, list):
                raise SourceUnavailable("datastore_search answered without a records list")
            yield from records
            if len(records) < page:
                return
            offset += len(records)

    def datastore_shapes(
        self, resource_ids: list[str], workers: int = 8, *, sample: int = 0
    ) -> dict[str, tuple[int, int] | None]:
        """Read many DataStore shapes at once, a few calls in parallel. With `sample`, each call brings
        the table's first `sample` records too, kept for `datastore_sample` until the next batch: the
        personal data scan then costs no call of its own, one after the other."""
        self._samples = {}
        shapes, self._samples = self.read_datastore(resource_ids, workers, sample=sample)
        return shapes

    def read_datastore(
        self, resource_ids: list[str], workers: int = 8, *, sample: int = 0
    ) -> tuple[dict[str, tuple[int, int] | None], dict]:
        """Return the shapes and samples of `datastore_shapes` without keeping the samples (see
        `keep_samples`): the sync reads a batch's while it writes the batch before."""
        if not resource_ids:
            return {}, {}
        with ThreadPoolExecutor(max_workers=min(workers, len(resource_ids))) as pool:
            found = list(pool.map(lambda rid: self._shape_and_sample(rid, sample), resource_ids))
        samples = {
            rid: (sample, *ahead) for rid, (_, ahead) in zip(resource_ids, found, strict=True) if ahead
        }
        return {rid: shape for rid, (shape, _) in zip(resource_ids, found, strict=True)}, samples

    def keep_samples(self, samples: dict) -> None:
        """Keep samples `read_datastore` returned for `datastore_sample`, in place of the last ones."""
        self._samples = samples

    def local_file(self, url: str) -> Path | None:
        return None


class DumpSource:
    """A `ckanapi dump datasets` JSON-lines file; relative resource URLs point beside it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).resolve()
        if not self.path.is_file():
            raise SourceUnavailable(f"no such dump file: {path}")
        self.location = str(self.path)

    def _lines(self) -> Iterator[dict]:
        with self.path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    pkg = json.loads(line)
                except ValueError:
                    yield BrokenEntry(reason=f"line {number} is not JSON", line=number)
                    continue
                yield pkg if isinstance(pkg, dict) else BrokenEntry(reason=f"line {number} is not an object")

    def packages(self, since: datetime | None) -> Iterator[dict]:
        for pkg in self._lines():
            if isinstance(pkg, BrokenEntry) or since is None:
                yield pkg
                continue
            modified = _modified(pkg)
            if modified is None or modified >= since:
                yield pkg

    def count(self, since: datetime | None) -> int:
        return sum(1 for _ in self.packages(since))

    def package_names(self) -> set[str]:
        return {p["name"] for p in self._lines() if not isinstance(p, BrokenEntry) and p.get("name")}

    def package_ids(self) -> dict[str, str]:
        return {
            p["id"]: str(p.get("name") or "")
            for p in self._lines()
            if not isinstance(p, BrokenEntry) and isinstance(p.get("id"), str)
        }

    def show(self, name_or_id: str) -> dict:
        for pkg in self._lines():
            if pkg.get("name") == name_or_id or pkg.get("id") == name_or_id:
                return pkg
        raise PackageGone(name_or_id)

    def organizations(self) -> dict[str, dict]:
        """Return the organizations the packages embed, by name (a dump holds no other list)."""
        found: dict[str, dict] = {}
        for pkg in self._lines():
            org = pkg.get("organization") if not isinstance(pkg, BrokenEntry) else None
            if isinstance(org, dict) and isinstance(org.get("name"), str) and org["name"] not in found:
                found[org["name"]] = org
        return found

    def counts_by_organization(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for pkg in self._lines():
            org = pkg.get("organization") if not isinstance(pkg, BrokenEntry) else None
            if isinstance(org, dict) and org.get("name"):
                counts[org["name"]] = counts.get(org["name"], 0) + 1
        return counts

    def datastore_shape(self, resource_id: str) -> tuple[int, int] | None:
        return None

    def datastore_shapes(self, resource_ids: list[str], *, sample: int = 0) -> dict[str, tuple[int, int]]:
        return {}

    def read_datastore(self, resource_ids: list[str], *, sample: int = 0) -> tuple[dict, dict]:
        return {}, {}

    def keep_samples(self, samples: dict) -> None:
        """A dump has no DataStore: no samples to keep."""

    def datastore_fields(self, resource_id: str) -> list[dict] | None:
        return None

    def datastore_records(self, resource_id: str, offset: int = 0, page: int = 10_000) -> Iterator[dict]:
        return iter(())

    def datastore_sample(self, resource_id: str, limit: int) -> tuple[list[str], list[dict]] | None:
        return None

    def local_file(self, url: str) -> Path | None:
        """Resolve a relative resource URL against the dump's folder, never outside it."""
        if not url or "://" in url or url.startswith("/"):
            return None
        base = self.path.parent
        candidate = (base / url).resolve()
        if base not in candidate.parents or not candidate.is_file():
            return None
        return candidate


def _text(content: bytes, headers) -> str:
    """An answer's body as text, as requests' `Response.text` decodes it."""
    if not content:
        return ""
    encoding = get_encoding_from_headers(headers)
    if encoding is None:
        chardet = requests.compat.chardet
        encoding = chardet.detect(content)["encoding"] if chardet is not None else "utf-8"
    try:
        return str(content, encoding, errors="replace")
    except (LookupError, TypeError):
        return str(content, errors="replace")


def _sample(result: dict) -> tuple[list[str], list[dict]] | None:
    """The field names (without `_id`) and records of a datastore_search answer, or None when it
    lacks either list."""
    fields, records = result.get("fields"), result.get("records")
    if not isinstance(fields, list) or not isinstance(records, list):
        return None
    return [str(f["id"]) for f in fields if isinstance(f, dict) and f.get("id") not in (None, "_id")], records


def _modified(pkg: object) -> datetime | None:
    try:
        return parse_timestamp(pkg.get("metadata_modified")) if isinstance(pkg, dict) else None
    except MalformedPackage:
        return None


def open_source(location: str, *, api_key: str | None = None, **options) -> CkanSource | DumpSource:
    """Return the source that `location` names: an http(s) URL or a dump file path."""
    if location.startswith(("http://", "https://")):
        return CkanSource(location, api_key, **options)
    return DumpSource(location)
