"""Entry attachments through the upload page: each kind parsed by its content, names cleaned as
applications' are."""

from __future__ import annotations

import importlib.util
import io
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from application_factories import incoming, make_application, png
from contest_factories import make_contest, make_entry, make_round, make_team
from file_factories import box, ftyp, image, mp4, ooxml, pdf, xlsx, zip_of
from sqlalchemy import select, text

from portal.applications import uploads
from portal.contest import entries
from portal.contest.models import EntryFile
from portal.extensions import db
from portal.storage import get_storage

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def entry(client, app):
    """An entry in an open round, with its captain signed in and English chosen."""
    contest = make_contest()
    made = make_entry(make_team(contest), make_round(contest))
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = str(made.team.captain_id)
    client.set_cookie("lang", "en")
    return made


def upload(client, entry, data: bytes, filename: str):
    return client.post(
        f"/contest/entries/{entry.id}/files",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def stored() -> list[EntryFile]:
    return list(db.session.scalars(select(EntryFile)))


@pytest.mark.parametrize(
    ("filename", "data", "kind", "content_type"),
    [
        ("方案.pdf", pdf(), "pdf", "application/pdf"),
        (
            "路演.pptx",
            ooxml("pptx"),
            "pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        (
            "说明.docx",
            ooxml("docx"),
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("数据.xlsx", xlsx(), "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("源代码.zip", zip_of({"main.py": "print('嘉兴')"}), "zip", "application/zip"),
        ("演示.mp4", mp4(), "mp4", "video/mp4"),
        ("截图.png", image("PNG"), "png", "image/png"),
        ("截图.JPEG", image("JPEG"), "jpg", "image/jpeg"),
        ("截图.webp", image("WEBP"), "webp", "image/webp"),
    ],
)
def test_each_kind_is_stored_once_its_content_parses(client, entry, filename, data, kind, content_type):
    response = upload(client, entry, data, filename)
    assert "The attachment is stored." in response.get_data(as_text=True)
    [attachment] = stored()
    assert (attachment.kind, attachment.content_type, attachment.size) == (kind, content_type, len(data))
    assert attachment.filename == filename
    with get_storage().open(attachment.storage_key) as kept:
        assert kept.read() == data


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("路演.pptx", zip_of({"说明.txt": "任何 ZIP"}), "路演.pptx is not a real PPTX file."),
        ("路演.pptx", ooxml("docx"), "路演.pptx is not a real PPTX file."),
        ("说明.docx", b"PK\x03\x04 docx", "说明.docx is not a real DOCX file."),
        ("数据.xlsx", ooxml("pptx"), "数据.xlsx is not a real XLSX file."),
        ("演示.mp4", b"\x00\x00\x00\x18ftypisom" + b"\x00" * 12 + b"MZ", "演示.mp4 is not a real MP4 file."),
        ("演示.mp4", mp4(ftyp(), box(b"mdat", b"\x00" * 8)), "演示.mp4 is not a real MP4 file."),
        ("方案.pdf", b"%PDF-1.7\n" + b"0" * 2000, "方案.pdf is not a real PDF file."),
        ("源代码.zip", b"MZ\x90\x00" + zip_of({"a.txt": "a"}), "源代码.zip is not a real ZIP file."),
        ("截图.png", image("JPEG"), "截图.png is not a real PNG file."),
        ("截图.jpg", b"\xff\xd8\xff\xe0 not really", "截图.jpg is not a real JPG file."),
        ("程序.exe", b"MZ", "Attach PDF, PPTX, DOCX, XLSX, ZIP, MP4, PNG, JPEG or WebP files only."),
        ("无扩展名", pdf(), "Attach PDF, PPTX, DOCX, XLSX, ZIP, MP4, PNG, JPEG or WebP files only."),
    ],
)
def test_content_that_does_not_parse_as_its_kind_is_refused_and_nothing_stored(
    client, entry, filename, data, message
):
    response = upload(client, entry, data, filename)
    assert message in response.get_data(as_text=True)
    assert stored() == []


def test_an_image_with_too_many_pixels_is_refused(client, entry, monkeypatch):
    monkeypatch.setattr("portal.contest.entries.MAX_IMAGE_PIXELS", 100 * 100)
    response = upload(client, entry, image("PNG", (200, 200)), "大图.png")
    assert "大图.png has too many pixels." in response.get_data(as_text=True)
    assert stored() == []


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../方案\u202efdp\x00.pdf", "方案fdp.pdf"),
        ("C:/队伍/\u2066路演\u2069\x1b.pdf", "路演.pdf"),
    ],
)
def test_names_are_kept_without_folders_controls_or_direction_overrides(client, entry, raw, clean):
    upload(client, entry, pdf(), raw)
    [attachment] = stored()
    assert attachment.filename == clean
    download = client.get(f"/contest/entries/{entry.id}/files/{attachment.id}")
    assert download.status_code == 200 and "\u202e" not in download.headers["Content-Disposition"]
    download.close()


def test_a_name_whose_override_hides_a_program_is_refused(client, entry):
    response = upload(client, entry, b"MZ program", "方案\u202efdp.exe")  # shown as "方案exe.pdf"
    assert "files only" in response.get_data(as_text=True)
    assert stored() == []


def test_application_screenshots_clean_names_with_the_same_function(app):
    [checked] = uploads.check_screenshots(
        [incoming(png(), "..\\首页\u202egnp.exe\x07.png")], existing=0, limits=uploads.Limits()
    )
    assert checked.filename == "首页gnp.exe.png"


def test_revision_0015_cleans_names_stored_before_uploads_cleaned_them(app):
    contest = make_contest()
    made = make_entry(make_team(contest), make_round(contest))
    attachment = entries.add_attachment(
        made, filename="方案.pdf", stream=io.BytesIO(pdf()), by=made.team.captain,
        now=made.round.submission_opens_at + timedelta(hours=2), store=get_storage(),
        max_sizes=entries.DEFAULT_MAX_SIZES,
    )  # fmt: skip
    [screenshot] = make_application(screenshots=[png()]).screenshots
    db.session.commit()
    dirty = {"entry_files": "报告\n\u202efdp.exe", "application_files": "首页\x07\u2066.png"}
    with db.engine.begin() as conn:
        for table, row in (("entry_files", attachment), ("application_files", screenshot)):
            conn.execute(
                text(f"UPDATE {table} SET filename = :f WHERE id = :i"), {"f": dirty[table], "i": row.id}
            )
    spec = importlib.util.spec_from_file_location(
        "r0015", ROOT / "migrations/versions/0015_clean_stored_file_names.py"
    )
    revision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revision)
    with db.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        revision.upgrade()
    db.session.expire_all()
    assert db.session.get(EntryFile, attachment.id).filename == "报告fdp.exe"
    assert db.session.get(type(screenshot), screenshot.id).filename == "首页.png"
