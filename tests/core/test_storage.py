from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import flask
import pytest
from minio import Minio
from s3server import ACCESS_KEY, SECRET_KEY

from portal.storage import (
    PART_SIZE,
    LocalStorage,
    MinioStorage,
    ObjectNotFound,
    ObjectTooLarge,
    StorageError,
    StoredObject,
    get_storage,
    init_app,
    storage_from_url,
)

MiB = 1024 * 1024
KEY = "resources/数据集-330402/资源-1/交通出行 2020年.csv"
CSV = "编号,区县,人口\n1,南湖区,62.8\n2,秀洲区,68.1\n".encode()


@pytest.fixture
def minio_client(s3_endpoint: str) -> Minio:
    return Minio(s3_endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False)


@pytest.fixture
def bucket() -> str:
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture
def minio_storage(minio_client: Minio, bucket: str) -> MinioStorage:
    return MinioStorage(minio_client, bucket)


@pytest.fixture(params=["local", "minio"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> LocalStorage | MinioStorage:
    if request.param == "local":
        return LocalStorage(str(tmp_path / "storage"))
    return request.getfixturevalue("minio_storage")


def generated_chunks(total: int, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """Yield `total` bytes of varied content without ever holding more than one chunk."""
    pattern = bytes(range(256)) * (chunk_size // 256)
    for index in range(0, total, chunk_size):
        yield (index.to_bytes(8, "big") + pattern)[: min(chunk_size, total - index)]


def stored_files(backend: LocalStorage | MinioStorage) -> list[str]:
    if isinstance(backend, LocalStorage):
        return [str(p) for p in Path(backend.root).rglob("*") if not p.is_dir()]
    return [o.object_name for o in backend.client.list_objects(backend.bucket, recursive=True)]


def test_put_then_open_round_trips_chinese_key(storage):
    storage.put(KEY, io.BytesIO(CSV), content_type="text/csv; charset=utf-8")

    with storage.open(KEY) as f:
        assert f.read() == CSV


@pytest.mark.parametrize(
    "make_stream",
    [lambda: io.BytesIO(CSV), lambda: iter([CSV[:5], b"", CSV[5:]]), lambda: [bytearray(CSV)]],
    ids=["file", "chunks", "bytearray"],
)
def test_put_reports_size_and_sha256(storage, make_stream):
    stored = storage.put(KEY, make_stream(), content_type="text/csv")

    assert stored == StoredObject(KEY, len(CSV), hashlib.sha256(CSV).hexdigest(), "text/csv")


def test_put_of_empty_stream_stores_empty_object(storage):
    stored = storage.put("resources/空/文件.txt", iter([]))

    assert (stored.size, stored.sha256) == (0, hashlib.sha256(b"").hexdigest())
    with storage.open("resources/空/文件.txt") as f:
        assert f.read() == b""


def test_put_replaces_existing_object(storage):
    storage.put(KEY, [b"old"])
    storage.put(KEY, [CSV])

    with storage.open(KEY) as f:
        assert f.read() == CSV


def test_minio_stat_keeps_content_type_and_size(minio_storage):
    minio_storage.put(KEY, [CSV], content_type="text/csv; charset=utf-8")

    assert minio_storage.stat(KEY) == StoredObject(KEY, len(CSV), "", "text/csv; charset=utf-8")


def test_local_stat_hashes_the_file(tmp_path):
    local = LocalStorage(str(tmp_path))
    local.put(KEY, [CSV])

    assert local.stat(KEY) == StoredObject(
        KEY, len(CSV), hashlib.sha256(CSV).hexdigest(), "application/octet-stream"
    )


def test_stat_of_missing_key_is_none(storage):
    assert storage.stat("resources/1/2/缺失.csv") is None


@pytest.mark.parametrize(
    ("max_size", "size"),
    [(10, 11), (len(CSV) - 1, len(CSV)), (PART_SIZE + MiB, PART_SIZE + 2 * MiB)],
    ids=["tiny", "one-byte-over", "after-first-part"],
)
def test_put_over_max_size_raises_and_stores_nothing(storage, max_size, size):
    with pytest.raises(ObjectTooLarge):
        storage.put(KEY, generated_chunks(size), max_size=max_size)

    assert not storage.exists(KEY)
    assert stored_files(storage) == []


def test_put_at_exactly_max_size_is_accepted(storage):
    stored = storage.put(KEY, [CSV], max_size=len(CSV))

    assert stored.size == len(CSV)


def test_minio_put_over_max_size_aborts_multipart_upload(minio_storage):
    with pytest.raises(ObjectTooLarge):
        minio_storage.put(KEY, generated_chunks(PART_SIZE + 2 * MiB), max_size=PART_SIZE + MiB)

    # The client has no public call for pending uploads; the private one lists them.
    assert minio_storage.client._list_multipart_uploads(minio_storage.bucket).uploads == []


def test_put_over_max_size_keeps_existing_object(storage):
    storage.put(KEY, [CSV])

    with pytest.raises(ObjectTooLarge):
        storage.put(KEY, generated_chunks(1000), max_size=999)

    with storage.open(KEY) as f:
        assert f.read() == CSV


def test_large_object_streams_through_put_and_open_with_bounded_memory(storage):
    total = 64 * MiB
    expected = hashlib.sha256()
    for chunk in generated_chunks(total):
        expected.update(chunk)

    tracemalloc.start()
    try:
        stored = storage.put("resources/大/文件.bin", generated_chunks(total))
        put_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        read = hashlib.sha256()
        size = 0
        with storage.open("resources/大/文件.bin") as f:
            while chunk := f.read(MiB):
                read.update(chunk)
                size += len(chunk)
        open_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    print(f"{type(storage).__name__}: put peak {put_peak / MiB:.1f} MiB, open peak {open_peak / MiB:.1f} MiB")
    assert (stored.size, stored.sha256) == (total, expected.hexdigest())
    assert (size, read.hexdigest()) == (total, expected.hexdigest())
    # The MinIO client holds up to three parts at once: the last one, the one it reads and its copy.
    put_bound = 16 * MiB if isinstance(storage, LocalStorage) else 3 * PART_SIZE + 4 * MiB
    assert put_peak < put_bound
    assert open_peak < 16 * MiB


def test_open_stream_can_be_closed_before_its_end(storage):
    storage.put(KEY, generated_chunks(3 * MiB))

    with storage.open(KEY) as f:
        head = f.read(8)
    storage.put(KEY, [CSV])  # the connection went back to the pool in a usable state

    assert head == (0).to_bytes(8, "big")
    assert f.closed
    with storage.open(KEY) as f:
        assert f.read() == CSV


def test_delete_is_idempotent(storage):
    storage.put(KEY, [CSV])

    storage.delete(KEY)
    storage.delete(KEY)

    assert not storage.exists(KEY)


def test_exists_tells_stored_from_missing(storage):
    storage.put(KEY, [CSV])

    assert storage.exists(KEY)
    assert not storage.exists("resources/数据集-330402/资源-1/其他.csv")
    assert not storage.exists("resources/数据集-330402")


def test_open_of_missing_key_raises_object_not_found(storage):
    with pytest.raises(ObjectNotFound):
        storage.open("resources/1/2/缺失.csv")


@pytest.mark.parametrize(
    "key", ["", "../x", "a/../../x", "/abs", "a\\b", "a\x00b", "a//b", "./a", "a/", "x" * 1025]
)
@pytest.mark.parametrize(
    "call",
    [
        lambda s, k: s.put(k, [b"x"]),
        lambda s, k: s.open(k),
        lambda s, k: s.delete(k),
        lambda s, k: s.exists(k),
        lambda s, k: s.stat(k),
        lambda s, k: s.url_for_download(k, filename="x.csv"),
    ],
    ids=["put", "open", "delete", "exists", "stat", "url_for_download"],
)
def test_invalid_keys_are_rejected(storage, call, key):
    with pytest.raises(StorageError):
        call(storage, key)


def test_local_storage_does_not_follow_symlink_out_of_root(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    local = LocalStorage(str(tmp_path / "storage"))
    os.symlink(outside, tmp_path / "storage" / "link")

    with pytest.raises(StorageError):
        local.put("link/x.csv", [CSV])
    assert list(outside.iterdir()) == []


def test_local_url_for_download_is_none(tmp_path):
    local = LocalStorage(str(tmp_path))
    local.put(KEY, [CSV])

    assert local.url_for_download(KEY, filename="交通出行.csv") is None


@pytest.mark.parametrize(
    ("expires", "seconds"),
    [(None, 300), (timedelta(seconds=90), 90), (timedelta(hours=1), 3600)],
)
def test_presigned_url_expires_as_asked(minio_storage, expires, seconds):
    minio_storage.put(KEY, [CSV])
    kwargs = {} if expires is None else {"expires": expires}

    url = minio_storage.url_for_download(KEY, filename="交通出行.csv", **kwargs)

    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == [str(seconds)]


@pytest.mark.parametrize(
    ("filename", "disposition"),
    [
        (
            "交通出行.csv",
            "attachment; filename=\"download.csv\"; filename*=UTF-8''" + quote("交通出行.csv", safe=""),
        ),
        (
            "交通出行 2020年.csv",
            "attachment; filename=\"2020.csv\"; filename*=UTF-8''" + quote("交通出行 2020年.csv", safe=""),
        ),
        ("traffic 2020.csv", 'attachment; filename="traffic 2020.csv"'),
        ("Café.csv", "attachment; filename=\"Cafe.csv\"; filename*=UTF-8''Caf%C3%A9.csv"),
    ],
)
def test_presigned_url_downloads_bytes_as_attachment(minio_storage, filename, disposition):
    minio_storage.put(KEY, [CSV], content_type="application/octet-stream")

    url = minio_storage.url_for_download(KEY, filename=filename, content_type="text/csv; charset=utf-8")
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read()
        headers = response.headers

    assert body == CSV
    assert headers["Content-Disposition"] == disposition
    assert headers["Content-Type"] == "text/csv; charset=utf-8"


def test_minio_storage_creates_missing_bucket(minio_client, bucket):
    assert not minio_client.bucket_exists(bucket)

    MinioStorage(minio_client, bucket)
    MinioStorage(minio_client, bucket)  # an existing bucket is fine too

    assert minio_client.bucket_exists(bucket)


class RecordingMinio:
    """Stand in for the Minio client to see how a URL is parsed, without a server."""

    def __init__(self, endpoint: str, **kwargs: object) -> None:
        self.endpoint = endpoint
        self.kwargs = kwargs

    def bucket_exists(self, bucket: str) -> bool:
        return True


@pytest.mark.parametrize(
    ("url", "endpoint", "bucket", "kwargs"),
    [
        (
            "minio://ak:sk@minio.internal:9000/portal",
            "minio.internal:9000",
            "portal",
            {"access_key": "ak", "secret_key": "sk", "secure": False, "region": None},
        ),
        (
            "minio://ak:sk@10.0.0.5:9000/portal?secure=true&region=cn-east-1",
            "10.0.0.5:9000",
            "portal",
            {"access_key": "ak", "secret_key": "sk", "secure": True, "region": "cn-east-1"},
        ),
        (
            "s3://ak:s%2Fk%2B1@s3.example.com/data-portal/",
            "s3.example.com",
            "data-portal",
            {"access_key": "ak", "secret_key": "s/k+1", "secure": True, "region": None},
        ),
        (
            "S3://ak:sk@[::1]:9000/portal?secure=false",
            "[::1]:9000",
            "portal",
            {"access_key": "ak", "secret_key": "sk", "secure": False, "region": None},
        ),
    ],
)
def test_storage_from_url_parses_minio_urls(monkeypatch, tmp_path, url, endpoint, bucket, kwargs):
    monkeypatch.setattr("portal.storage.Minio", RecordingMinio)

    backend = storage_from_url(url, default_root=str(tmp_path))

    assert isinstance(backend, MinioStorage)
    assert (backend.client.endpoint, backend.bucket, backend.client.kwargs) == (endpoint, bucket, kwargs)


@pytest.mark.parametrize(
    ("make_url", "root"),
    [
        (lambda tmp: None, "default"),
        (lambda tmp: "", "default"),
        (lambda tmp: f"file://{tmp}/files", "files"),
        (lambda tmp: f"file://localhost{tmp}/%E6%96%87%E4%BB%B6", "文件"),
        (lambda tmp: f"{tmp}/plain", "plain"),
    ],
    ids=["none", "empty", "file", "file-localhost-quoted", "path"],
)
def test_storage_from_url_builds_local_storage(tmp_path, make_url, root):
    backend = storage_from_url(make_url(tmp_path), default_root=str(tmp_path / "default"))

    assert isinstance(backend, LocalStorage)
    assert backend.root == os.path.realpath(tmp_path / root)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://ak:sk@host/bucket",
        "http://ak:sk@host:9000/bucket",
        "minio://host:9000/bucket",
        "minio://ak:sk@host:9000",
        "minio://ak:sk@host:9000/bucket/sub",
        "minio://ak:sk@host:port/bucket",
        "minio://ak:sk@host:9000/bucket?secure=maybe",
        "minio://ak:sk@host:9000/bucket?region=x&bucket_lookup=path",
        "minio://ak:sk@/bucket",
        "file://fileserver/share",
    ],
)
def test_storage_from_url_rejects_unusable_urls_without_leaking_secret(tmp_path, url):
    with pytest.raises(ValueError, match="STORAGE_URL") as excinfo:
        storage_from_url(url, default_root=str(tmp_path))

    assert ":sk" not in str(excinfo.value)


def test_storage_from_url_connects_to_real_server(s3_endpoint, minio_client, bucket, tmp_path):
    url = f"minio://{ACCESS_KEY}:{SECRET_KEY}@{s3_endpoint}/{bucket}"

    backend = storage_from_url(url, default_root=str(tmp_path))
    backend.put(KEY, [CSV])

    assert minio_client.stat_object(bucket, KEY).size == len(CSV)


def test_init_app_keeps_storage_for_get_storage(tmp_path):
    app = flask.Flask(__name__, instance_path=str(tmp_path / "instance"))

    init_app(app)

    with app.app_context():
        backend = get_storage()
    assert backend is app.extensions["storage"]
    assert isinstance(backend, LocalStorage)
    assert backend.root == os.path.realpath(tmp_path / "instance" / "storage")
