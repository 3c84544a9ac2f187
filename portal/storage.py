"""Object storage: a local folder (the default) or any S3-protocol server through the `minio` client.

Both backends offer the same few methods, so the rest of the portal stores and serves resource files without
knowing where they live. Keys read like `resources/<dataset_id>/<resource_id>/<filename>`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, BinaryIO, cast
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import urllib3
from flask import Flask, current_app
from minio import Minio
from minio.error import S3Error

CHUNK_SIZE = 1024 * 1024
PART_SIZE = 10 * 1024 * 1024
MAX_KEY_BYTES = 1024
OCTET_STREAM = "application/octet-stream"
FIVE_MINUTES = timedelta(minutes=5)

Source = BinaryIO | Iterable[bytes]


class StorageError(Exception):
    """The storage refused or failed an operation."""


class ObjectTooLarge(StorageError):
    """More bytes arrived than the caller allowed."""


class ObjectNotFound(StorageError):
    """No object is stored under the key."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str
    content_type: str


def validate_key(key: str) -> str:
    """Return the key, or raise StorageError if it could name something outside the store.

    Empty segments also catch the empty key, a leading "/" and a trailing one.
    """
    segments = set(key.split("/"))
    if "\\" in key or "\x00" in key or {"", ".", ".."} & segments or len(key.encode()) > MAX_KEY_BYTES:
        raise StorageError(f"invalid storage key: {key!r}")
    return key


class _MeteredReader:
    """Read a source in chunks, hashing and counting them and refusing more than max_size bytes."""

    def __init__(self, key: str, source: Source, max_size: int | None) -> None:
        self.key = key
        self.max_size = max_size
        self.size = 0
        self.hash = hashlib.sha256()
        self.overflowed = False
        self._chunks = self._iterate(source)
        self._rest = b""

    @staticmethod
    def _iterate(source: Source) -> Iterator[bytes]:
        # A file object is also an iterable of lines; read it in fixed chunks instead.
        if hasattr(source, "read"):
            yield from iter(lambda: source.read(CHUNK_SIZE), b"")
        else:
            yield from source

    def _next_chunk(self) -> bytes | None:
        for chunk in self._chunks:
            if chunk:
                self.size += len(chunk)
                if self.max_size is not None and self.size > self.max_size:
                    self.overflowed = True
                    raise ObjectTooLarge(f"{self.key} is larger than {self.max_size} bytes")
                self.hash.update(chunk)
                return bytes(chunk)
        return None

    def read(self, size: int = -1) -> bytes:
        """Return `size` bytes, fewer only at the end, cutting no chunk but the last.

        Minio.put_object then neither joins short reads nor holds more than the part it sends.
        """
        parts: list[bytes] = []
        have = 0
        while size < 0 or have < size:
            chunk, self._rest = self._rest or self._next_chunk(), b""
            if chunk is None:
                break
            if 0 <= size < have + len(chunk):
                chunk, self._rest = chunk[: size - have], chunk[size - have :]
            parts.append(chunk)
            have += len(chunk)
        return b"".join(parts)

    def stored(self, content_type: str) -> StoredObject:
        return StoredObject(self.key, self.size, self.hash.hexdigest(), content_type)


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text.replace('"', "").replace("\\", "").strip()


def _content_disposition(filename: str) -> str:
    """Build an attachment header whose filename survives non-ASCII names (RFC 6266 / RFC 5987)."""
    filename = "".join(ch for ch in filename if ch.isprintable()) or "download"
    stem, ext = os.path.splitext(filename)
    # Old clients ignore filename*; give them an ASCII name that keeps at least the extension.
    fallback = (_ascii(stem).strip(".") or "download") + _ascii(ext)
    if fallback == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class LocalStorage:
    """Store objects as files under one root folder."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        os.makedirs(self.root, exist_ok=True)

    def _path(self, key: str) -> str:
        path = os.path.realpath(os.path.join(self.root, validate_key(key)))
        # realpath also resolves symlinks, so a link inside the root cannot lead out of it.
        if os.path.commonpath([self.root, path]) != self.root or path == self.root:
            raise StorageError(f"invalid storage key: {key!r}")
        return path

    def put(
        self, key: str, source: Source, *, content_type: str = OCTET_STREAM, max_size: int | None = None
    ) -> StoredObject:
        """Stream into a temporary file beside the target, then rename it into place.

        The rename is atomic, so readers see the old object or the new one, never a part. On any error,
        ObjectTooLarge included, the temporary file is removed and the old object (if any) stays.
        """
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        reader = _MeteredReader(key, source, max_size)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".upload-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := reader.read(CHUNK_SIZE):
                    out.write(chunk)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return reader.stored(content_type)

    def open(self, key: str) -> BinaryIO:
        """Open the object for reading; raise ObjectNotFound if it is missing."""
        try:
            return open(self._path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound(key) from exc

    def url_for_download(
        self, key: str, *, filename: str, content_type: str | None = None, expires: timedelta = FIVE_MINUTES
    ) -> str | None:
        """Return None: local files have no URL of their own, so the web layer streams them."""
        self._path(key)
        return None

    def delete(self, key: str) -> None:
        """Delete the object; a missing object is not an error."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(key))

    def exists(self, key: str) -> bool:
        """Tell whether an object is stored under the key."""
        return os.path.isfile(self._path(key))

    def stat(self, key: str) -> StoredObject | None:
        """Describe the object, or return None if it is missing.

        The folder keeps no metadata: the file is read once to hash it and the content type is generic.
        """
        path = self._path(key)
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        return StoredObject(key, os.path.getsize(path), digest, OCTET_STREAM)

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Yield the key of every stored object under `prefix`, in no particular order (for backups)."""
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(".upload-"):  # a put still streaming, or one that died
                    continue
                key = os.path.relpath(os.path.join(folder, name), self.root).replace(os.sep, "/")
                if key.startswith(prefix):
                    yield key


class _ResponseReader(io.RawIOBase):
    """Read an urllib3 response as a stream; closing it releases the connection."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._response.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._response.release_conn()
        super().close()


class MinioStorage:
    """Store objects in one bucket of an S3-protocol server (MinIO, S3, moto …).

    The bucket is created at construction when missing, so a wrong endpoint, credentials or bucket fail at
    start-up rather than on the first upload.
    """

    def __init__(self, client: Minio, bucket: str, *, part_size: int = PART_SIZE) -> None:
        self.client = client
        self.bucket = bucket
        self.part_size = part_size
        with self._errors(bucket):
            if not client.bucket_exists(bucket):
                try:
                    client.make_bucket(bucket)
                except S3Error as exc:
                    # Another process may have created it in the meantime.
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise

    @contextlib.contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        try:
            yield
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                raise ObjectNotFound(key) from exc
            raise StorageError(f"{key}: {exc.code}: {exc.message}") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise StorageError(f"{key}: {exc}") from exc

    def put(
        self, key: str, source: Source, *, content_type: str = OCTET_STREAM, max_size: int | None = None
    ) -> StoredObject:
        """Stream to the bucket in parts of part_size bytes.

        Parts go one at a time (not the client's three in parallel) so memory stays near one part. When
        ObjectTooLarge is raised from inside the read, the client aborts the multipart upload, so nothing is
        stored and an existing object under the key is left as it was.
        """
        reader = _MeteredReader(validate_key(key), source, max_size)
        try:
            with self._errors(key):
                data = cast(BinaryIO, reader)  # put_object only calls read()
                self.client.put_object(
                    self.bucket, key, data, -1, content_type, part_size=self.part_size, num_parallel_uploads=1
                )
        except Exception as exc:
            # A failed abort of the multipart upload must not hide why the upload stopped.
            if reader.overflowed and not isinstance(exc, ObjectTooLarge):
                raise ObjectTooLarge(f"{key} is larger than {max_size} bytes") from exc
            raise
        return reader.stored(content_type)

    def open(self, key: str) -> BinaryIO:
        """Open the object for streamed reading; raise ObjectNotFound if it is missing."""
        with self._errors(validate_key(key)):
            response = self.client.get_object(self.bucket, key)
        return io.BufferedReader(_ResponseReader(response), CHUNK_SIZE)

    def url_for_download(
        self, key: str, *, filename: str, content_type: str | None = None, expires: timedelta = FIVE_MINUTES
    ) -> str | None:
        """Return a presigned GET URL, valid for `expires`, that downloads the object as `filename`."""
        headers = {"response-content-disposition": _content_disposition(filename)}
        if content_type:
            headers["response-content-type"] = content_type
        with self._errors(validate_key(key)):
            return self.client.presigned_get_object(
                self.bucket, key, expires=expires, response_headers=headers
            )

    def delete(self, key: str) -> None:
        """Delete the object; a missing object is not an error."""
        with self._errors(validate_key(key)):
            self.client.remove_object(self.bucket, key)

    def exists(self, key: str) -> bool:
        """Tell whether an object is stored under the key."""
        return self.stat(key) is not None

    def stat(self, key: str) -> StoredObject | None:
        """Describe the object, or return None if it is missing; sha256 is "" as the server keeps none."""
        try:
            with self._errors(validate_key(key)):
                info = self.client.stat_object(self.bucket, key)
        except ObjectNotFound:
            return None
        return StoredObject(key, info.size or 0, "", info.content_type or OCTET_STREAM)

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Yield the key of every object in the bucket under `prefix` (for backups)."""
        with self._errors(prefix or self.bucket):
            for item in self.client.list_objects(self.bucket, prefix=prefix or None, recursive=True):
                if not item.is_dir:
                    yield item.object_name


Storage = LocalStorage | MinioStorage

_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def _minio_from_url(url: str) -> MinioStorage:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = set(options) - {"secure", "region"}
    if unknown:
        raise ValueError(f"STORAGE_URL: unknown option(s) {', '.join(sorted(unknown))}")
    secure = _BOOLEANS.get(options.get("secure", "true" if scheme == "s3" else "false").lower())
    if secure is None:
        raise ValueError("STORAGE_URL: secure must be true or false")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError("STORAGE_URL: the port is not a number") from exc
    if not parts.hostname:
        raise ValueError(f"STORAGE_URL: {scheme}:// needs a host")
    if parts.username is None or parts.password is None:
        raise ValueError(f"STORAGE_URL: {scheme}:// needs ACCESS_KEY:SECRET_KEY@ before the host")
    bucket = parts.path.strip("/")
    if not bucket or "/" in bucket:
        raise ValueError(f"STORAGE_URL: {scheme}:// needs exactly one bucket name as its path")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    client = Minio(
        f"{host}:{port}" if port else host,
        access_key=unquote(parts.username),
        secret_key=unquote(parts.password),
        secure=secure,
        region=options.get("region") or None,
    )
    return MinioStorage(client, bucket)


def storage_from_url(url: str | None, *, default_root: str) -> Storage:
    """Build the backend a STORAGE_URL names; raise ValueError for one it cannot use.

    Accepted: empty (a folder at default_root), a path or file:///path (a folder), and
    minio://ACCESS:SECRET@host:port/bucket or s3://… with optional ?secure=true|false&region=…
    (secure defaults to false for minio:// and true for s3://). Percent-encode keys holding / @ : or +.
    """
    if not url:
        return LocalStorage(default_root)
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("minio", "s3"):
        return _minio_from_url(url)
    if scheme == "file":
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or parts.query:
            raise ValueError("STORAGE_URL: use file:///absolute/path")
        return LocalStorage(unquote(parts.path))
    if not scheme:
        return LocalStorage(os.path.abspath(url))
    # Only the scheme is echoed: the rest may hold a secret key.
    raise ValueError(
        f"STORAGE_URL: unsupported scheme {scheme!r}; use a path, file:///…, minio://… or s3://…"
    )


def init_app(app: Flask) -> None:
    """Build the storage named by STORAGE_URL and keep it at app.extensions["storage"]."""
    default_root = os.path.join(app.instance_path, "storage")
    app.extensions["storage"] = storage_from_url(app.config.get("STORAGE_URL"), default_root=default_root)


def get_storage() -> Storage:
    """Return the current app's storage."""
    return current_app.extensions["storage"]
