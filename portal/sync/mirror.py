"""Copy resource files into the portal's storage, streaming, with a size limit.

A file is fetched over HTTP(S), or read from beside a dump file for relative URLs.
Nothing is held whole in memory: the storage hashes and counts as the bytes pass.

HTTP fetches go through `portal.outbound`: a URL (or a redirect) that reaches a non-public
address outside the guard's allow-list is not fetched, and the failure says "mirror skipped".
The resource then stays a link to its origin, never served from the portal.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from pathlib import Path

import requests

from portal import outbound
from portal import storage as storage_module
from portal.sync.remote import retrying_session

CHUNK = 256 * 1024
NOT_DOWNLOADABLE = "not downloadable"
SKIPPED = "mirror skipped"


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
    where `guard` allows (by default: public addresses only)."""

    def __init__(
        self,
        *,
        guard: outbound.Guard | None = None,
        timeout: float = 30,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.timeout = timeout
        self.session = retrying_session(retries, backoff, guard or outbound.Guard())

    def chunks(self, url: str, local: Path | None) -> tuple[Iterator[bytes], str | None]:
        """Return the file's bytes as chunks, and the content type the server gave."""
        if local is not None:
            return _file_chunks(local), mimetypes.guess_type(local.name)[0]
        if not url.lower().startswith(("http://", "https://")):
            raise MirrorFailed(f"{NOT_DOWNLOADABLE}: the URL is neither http(s) nor a file beside the dump")
        try:
            response = outbound.get(self.session, url, timeout=(min(self.timeout, 10), self.timeout))
        except outbound.Refused as exc:  # "not downloadable" first: the resource counts as such
            raise MirrorFailed(f"{NOT_DOWNLOADABLE}: {SKIPPED}, {exc}") from exc
        except requests.RequestException as exc:
            raise MirrorFailed(f"{NOT_DOWNLOADABLE}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            response.close()
            raise MirrorFailed(f"{NOT_DOWNLOADABLE}: HTTP {response.status_code}")
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip() or None
        return _response_chunks(response), content_type


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
    """Stream one resource file into storage and return what was stored."""
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
