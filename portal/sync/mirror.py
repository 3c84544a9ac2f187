"""Copy resource files into the portal's storage, streaming, with a size limit.

A file is fetched over HTTP(S), or read from beside a dump file for relative URLs.
Nothing is held whole in memory: the storage hashes and counts as the bytes pass.

HTTP fetches go through `portal.outbound`: a URL (or a redirect) that reaches a non-public
address outside the guard's allow-list is not fetched, and the failure says "mirror skipped".
The resource then stays a link to its origin, never served from the portal.

Files are fetched a few at a time (issue 20 item 5): `Fetcher.copy_many` runs at most `concurrency`
copies at once and at most `per_host` against any one host. Only transient failures are retried
(read errors and timeouts, 5xx answers); a host whose name does not resolve or that refuses or times
out the connection is remembered for the rest of the run: its other files are skipped at once, with
a problem that `is_repeat` recognises so that the run records the host once. The next run tries again.
"""

from __future__ import annotations

import mimetypes
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import requests
from urllib3 import exceptions as urllib3_exceptions
from urllib3.util.retry import Retry

from portal import outbound
from portal import storage as storage_module

CHUNK = 256 * 1024
NOT_DOWNLOADABLE = "not downloadable"
SKIPPED = "mirror skipped"
UNREACHABLE = "host unreachable"
REPEAT = "skipped: its host was unreachable earlier in this run"


class MirrorFailed(Exception):
    """The file could not be copied; the message says why."""


def storage_key(dataset_ckan_id: str, resource_ckan_id: str, url: str, fmt: str) -> str:
    """Return `resources/<dataset>/<resource>/<filename>` for a resource."""
    name = url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0] if url else ""
    name = re.sub(r"[^\w.\-]+", "_", name).strip("._") or "data"
    if "." not in name and fmt:
        name = f"{name}.{fmt.lower()}"
    return f"resources/{_clean(dataset_ckan_id)}/{_clean(resource_ckan_id)}/{name[:150]}"


def _clean(part: str) -> str:
    return re.sub(r"[^\w\-]+", "_", part)[:100] or "_"


class Fetcher:
    """Opens resource URLs: local files beside a dump, or HTTP with retries and timeouts, only
    where `guard` allows (by default: public addresses only). One fetcher serves one run: it
    remembers the hosts that could not be reached."""

    def __init__(
        self,
        *,
        guard: outbound.Guard | None = None,
        timeout: float = 30,
        retries: int = 3,
        backoff: float = 0.5,
        concurrency: int = 8,
        per_host: int = 4,
    ) -> None:
        self.timeout = timeout
        self.concurrency, self.per_host = max(1, concurrency), max(1, per_host)
        # transient failures only: a read that broke off or timed out, a 5xx; never a failed connect
        retry = Retry(
            total=retries,
            connect=0,
            read=retries,
            status=retries,
            other=0,
            backoff_factor=backoff,
            status_forcelist=(500, 502, 503, 504),
            raise_on_status=False,
        )
        self.session = outbound.session(guard or outbound.Guard(), max_retries=retry)
        for adapter in {self.session.get_adapter("http://"), self.session.get_adapter("https://")}:
            adapter.init_poolmanager(self.concurrency, self.concurrency)  # a connection per worker
        self.unreachable: dict[str, str] = {}  # host -> why, for the rest of the run
        self._lock = threading.Lock()
        self._hosts: dict[str, threading.BoundedSemaphore] = {}

    def chunks(self, url: str, local: Path | None) -> tuple[Iterator[bytes], str | None]:
        """Return the file's bytes as chunks, and the content type the server gave."""
        if local is not None:
            return _file_chunks(local), mimetypes.guess_type(local.name)[0]
        if not url.lower().startswith(("http://", "https://")):
            raise MirrorFailed(f"{NOT_DOWNLOADABLE}: the URL is neither http(s) nor a file beside the dump")
        host = _host(url)
        if host in self.unreachable:
            raise MirrorFailed(f"{NOT_DOWNLOADABLE}: {UNREACHABLE} {host}, {REPEAT}")
        try:
            response = outbound.get(self.session, url, timeout=(min(self.timeout, 10), self.timeout))
        except outbound.Refused as exc:  # "not downloadable" first: the resource counts as such
            raise MirrorFailed(f"{NOT_DOWNLOADABLE}: {SKIPPED}, {exc}") from exc
        except requests.ConnectionError as exc:
            if _cannot_connect(exc):
                why = f"{UNREACHABLE} {host}: {_reason(exc)}"
                with self._lock:
                    first = host not in self.unreachable
                    self.unreachable.setdefault(host, why)
                if not first:  # another copy found it unreachable meanwhile: recorded once, by that one
                    raise MirrorFailed(f"{NOT_DOWNLOADABLE}: {UNREACHABLE} {host}, {REPEAT}") from exc
                raise MirrorFailed(f"{NOT_DOWNLOADABLE}: {why}") from exc
            raise MirrorFailed(f"{NOT_DOWNLOADABLE}: {type(exc).__name__}") from exc
        except requests.RequestException as exc:
            raise MirrorFailed(f"{NOT_DOWNLOADABLE}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            response.close()
            raise MirrorFailed(f"{NOT_DOWNLOADABLE}: HTTP {response.status_code}")
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip() or None
        return _response_chunks(response), content_type

    @contextmanager
    def slot(self, url: str, local: Path | None) -> Iterator[None]:
        """Hold one of the host's `per_host` slots while a file of `url` is copied."""
        if local is not None or not url.lower().startswith(("http://", "https://")):
            yield
            return
        host = _host(url)
        with self._lock:
            gate = self._hosts.setdefault(host, threading.BoundedSemaphore(self.per_host))
        with gate:
            yield

    def copy_many(self, jobs: Iterable, work: Callable) -> list:
        """Run `work(job)` for each job, at most `concurrency` at once; return the results in order,
        an exception raised by a job standing in for its result."""
        jobs = list(jobs)
        if len(jobs) <= 1 or self.concurrency == 1:
            return [_outcome(work, job) for job in jobs]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(jobs))) as pool:
            return list(pool.map(lambda job: _outcome(work, job), jobs))


def _outcome(work: Callable, job):
    try:
        return work(job)
    except Exception as exc:  # handed back for the caller to raise or record
        return exc


def _host(url: str) -> str:
    parts = urlsplit(url)
    return (
        f"{(parts.hostname or '').lower()}:{parts.port or (443 if parts.scheme.lower() == 'https' else 80)}"
    )


def _cannot_connect(exc: requests.ConnectionError) -> bool:
    """Whether the host could not be reached at all: its name did not resolve, or the connection
    was refused or timed out (a read that broke off later is transient, and was retried)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    seen, cause = set(), exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, urllib3_exceptions.NewConnectionError | urllib3_exceptions.ConnectTimeoutError):
            return True  # NameResolutionError is a NewConnectionError
        reason = getattr(cause, "reason", None)
        if isinstance(reason, BaseException) and reason is not cause:
            cause = reason
        elif cause.args and isinstance(cause.args[0], BaseException):
            cause = cause.args[0]
        else:
            cause = cause.__cause__ or cause.__context__
    return False


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for hint in ("Name or service not known", "Temporary failure in name resolution", "Connection refused"):
        if hint in text:
            return hint.lower()
    return "timed out" if "timed out" in text.lower() else type(exc).__name__


def is_repeat(problem: str | None) -> bool:
    """Whether a problem only repeats that the host was found unreachable earlier in the run."""
    return bool(problem) and problem.endswith(REPEAT)


def is_skipped(problem: str | None) -> bool:
    """Whether a mirror problem is a refusal to fetch, worth noting on the run whatever the format."""
    return bool(problem) and problem.startswith(f"{NOT_DOWNLOADABLE}: {SKIPPED}")


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def _response_chunks(response: requests.Response) -> Iterator[bytes]:
    try:
        yield from response.iter_content(CHUNK)
    except requests.RequestException as exc:
        raise MirrorFailed(f"download broke off: {type(exc).__name__}") from exc
    finally:
        response.close()


def copy(
    fetcher: Fetcher, store, *, key: str, url: str, local: Path | None, fmt: str, mimetype: str, max_size: int
) -> storage_module.StoredObject:
    """Stream one resource file into storage and return what was stored, holding one of the
    host's slots meanwhile."""
    with fetcher.slot(url, local):
        return _copy(
            fetcher, store, key=key, url=url, local=local, fmt=fmt, mimetype=mimetype, max_size=max_size
        )


def _copy(fetcher, store, *, key, url, local, fmt, mimetype, max_size) -> storage_module.StoredObject:
    chunks, served_type = fetcher.chunks(url, local)
    content_type = mimetype or served_type or mimetypes.guess_type(key)[0] or "application/octet-stream"
    try:
        return store.put(key, chunks, content_type=content_type, max_size=max_size)
    except storage_module.ObjectTooLarge as exc:
        raise MirrorFailed(f"larger than the mirror limit of {max_size} bytes") from exc
    except storage_module.StorageError as exc:
        raise MirrorFailed(f"storage refused the file: {exc}") from exc
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()
