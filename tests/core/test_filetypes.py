"""Content checks that parse each format, and the one name cleaner of every upload. Pure: no app needed."""

from __future__ import annotations

import io
import struct

import pytest
from file_factories import (
    MVHD,
    PPTM_MAIN,
    box,
    ftyp,
    image,
    mp4,
    ooxml,
    pdf,
    xlsx,
    zip_of,
)

from portal import filetypes


def f(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


# Office documents: a ZIP is not a PPTX.


@pytest.mark.parametrize("kind", ["docx", "pptx", "xlsx"])
def test_an_office_package_of_its_kind_is_accepted(kind):
    assert filetypes.is_ooxml(f(ooxml(kind)), kind)


def test_a_workbook_written_by_openpyxl_is_an_xlsx():
    assert filetypes.is_ooxml(f(xlsx()), "xlsx")


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("pptx", zip_of({"说明.txt": "任何 ZIP"})),  # the attack: any ZIP named .pptx
        ("pptx", ooxml("docx")),  # a Word document named .pptx
        ("docx", ooxml("xlsx")),
        ("xlsx", ooxml("pptx")),
        ("pptx", ooxml("pptx", main_type=PPTM_MAIN)),  # macro-enabled
        ("pptx", ooxml("pptx", drop=("[Content_Types].xml",))),
        ("pptx", ooxml("pptx", drop=("_rels/.rels",))),
        ("pptx", ooxml("pptx", drop=("ppt/presentation.xml",))),  # declared but missing
        ("pptx", ooxml("pptx", main_part="word/presentation.xml")),  # outside ppt/
        ("pptx", zip_of({"[Content_Types].xml": "<Types", "_rels/.rels": "", "ppt/p.xml": ""})),
        ("pptx", b"PK\x03\x04" + b"\x00" * 200),  # a ZIP header and nothing behind it
        ("pptx", b"MZ" + ooxml("pptx")),  # a program with a package appended
        ("pptx", ooxml("pptx")[:-30]),  # truncated: the central directory is cut
        ("docx", b"%PDF-1.7 not a document"),
    ],
)
def test_anything_else_named_as_an_office_document_is_refused(kind, data):
    assert not filetypes.is_ooxml(f(data), kind)


def test_a_content_types_part_larger_than_a_megabyte_is_refused():
    data = ooxml("pptx")
    padded = zip_of({"[Content_Types].xml": b" " * (filetypes.MAX_CONTENT_TYPES_SIZE + 1), "_rels/.rels": ""})
    assert filetypes.is_ooxml(f(data), "pptx") and not filetypes.is_ooxml(f(padded), "pptx")


# ZIP archives.


def test_a_zip_archive_is_accepted():
    assert filetypes.is_zip(f(zip_of({"源代码/main.py": "print('嘉兴')"})))


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x05\x06" + b"\x00" * 18,  # an empty archive
        b"PK\x03\x04" + b"\x00" * 100,
        b"MZ\x90\x00" + zip_of({"a.txt": "a"}),  # a self-extracting program
        zip_of({"a.txt": "a"})[:-10],
        b"Rar!\x1a\x07\x00",
    ],
)
def test_a_broken_empty_or_disguised_zip_is_refused(data):
    assert not filetypes.is_zip(f(data))


# MP4: "ftyp" at offset 4 is not a video.


@pytest.mark.parametrize(
    "data",
    [
        mp4(),
        mp4(ftyp(b"mp42", (b"mp42", b"isom")), box(b"free"), box(b"mdat", b"\x01" * 32), box(b"moov", MVHD)),
        mp4(ftyp(b"M4V "), box(b"moov", MVHD), box(b"mdat", b"\x00" * 40, large=True)),  # 64-bit size
        mp4(ftyp(), box(b"moov", MVHD), struct.pack(">I4s", 0, b"mdat") + b"\x00" * 50),  # to the end
        mp4(ftyp(b"dash"), box(b"moov", box(b"udta") + MVHD), box(b"moof", b"\x00" * 8), box(b"mdat")),
    ],
)
def test_an_mp4_with_a_known_brand_and_plausible_boxes_is_accepted(data):
    assert filetypes.is_mp4(f(data))


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x00\x00\x18ftypisom" + b"\x00" * 12 + b"MZ anything at all after it",  # the attack
        mp4(ftyp(b"avif"), box(b"moov", MVHD), box(b"mdat")),  # an image brand
        mp4(ftyp(b"zzzz"), box(b"moov", MVHD), box(b"mdat")),
        mp4(box(b"moov", MVHD), ftyp(), box(b"mdat")),  # ftyp not first
        mp4(ftyp(), box(b"mdat", b"\x00" * 16)),  # no movie
        mp4(ftyp(), box(b"moov", box(b"trak")), box(b"mdat")),  # a movie without its header
        mp4(ftyp(), box(b"moov", MVHD), box(b"moov", MVHD)),  # two movies
        mp4(ftyp(), box(b"moov", MVHD), box(b"exe!", b"\x00" * 8)),  # not a file-level box
        mp4(ftyp(), box(b"moov", MVHD), struct.pack(">I4s", 4000, b"mdat") + b"\x00" * 10),  # overruns
        mp4(ftyp(), box(b"moov", MVHD), struct.pack(">I4s", 4, b"mdat")),  # smaller than its header
        mp4(ftyp(), box(b"moov", MVHD), b"\x00\x00\x00"),  # trailing bytes that are no box
        mp4(ftyp(), box(b"moov", MVHD), struct.pack(">I4s", 8, b"md\x00t")),  # a type of control bytes
        box(b"ftyp", b"isom\x00\x00\x02\x00iso"),  # compatible brands not whole
        b"",
    ],
)
def test_anything_else_named_mp4_is_refused(data):
    assert not filetypes.is_mp4(f(data))


def test_an_mp4_of_endless_tiny_boxes_is_refused_without_walking_them_all():
    data = mp4(ftyp(), box(b"moov", MVHD), box(b"free") * (filetypes.MAX_MP4_BOXES + 1))
    assert not filetypes.is_mp4(f(data))


# PDF.


def test_a_pdf_is_accepted():
    assert filetypes.is_pdf(f(pdf()))


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n" + b"0" * 2000,  # a header and nothing of a document
        pdf()[:-200],  # truncated: no trailer
        b"MZ" + pdf(),
        b"%PDF-x.y\nstartxref\n0\n%%EOF",
        pdf() + b"\x00" * (filetypes.PDF_TAIL + 10),  # the end marker buried under trailing data
    ],
)
def test_anything_else_named_pdf_is_refused(data):
    assert not filetypes.is_pdf(f(data))


# Images go through Pillow, as application screenshots do.


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_images_are_read_by_pillow(fmt):
    info = filetypes.check_image(image(fmt), formats=[fmt], max_pixels=10_000, decode=True)
    assert (info.format, info.width, info.height) == (fmt, 64, 48)


@pytest.mark.parametrize(
    ("data", "formats"),
    [
        (image("JPEG"), ["PNG"]),  # a JPEG named .png
        (image("PNG")[:-40], ["PNG"]),  # truncated
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, ["PNG"]),  # the signature alone
        (b"GIF89a" + b"\x00" * 64, ["PNG", "JPEG", "WEBP"]),
    ],
)
def test_broken_or_foreign_images_are_refused(data, formats):
    with pytest.raises(filetypes.NotThisType):
        filetypes.check_image(data, formats=formats, max_pixels=10_000, decode=True)


def test_an_image_with_too_many_pixels_is_refused_before_decoding():
    with pytest.raises(filetypes.TooManyPixels):
        filetypes.check_image(image("PNG", (200, 200)), formats=["PNG"], max_pixels=100 * 100)


# Names.


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("C:\\Users\\张三\\桌面\\首页.png", "首页.png"),
        ("../../etc/passwd", "passwd"),
        ("方案\u202efdp.exe", "方案fdp.exe"),  # right-to-left override: shown as "方案exe.pdf"
        ("\u2066报告\u2069\u200f.pdf", "报告.pdf"),  # isolates and a right-to-left mark
        ("演示\x00\x07\x1b[31m.mp4", "演示[31m.mp4"),  # NUL, bell, escape
        ("行1\n行2\r\u2028.pdf", "行1行2.pdf"),
        ("  \u202e  ", "file"),
        ("名" * 300 + ".pdf", "名" * 251 + ".pdf"),  # the end, with its extension, is kept
    ],
)
def test_names_lose_folders_controls_and_direction_overrides(raw, clean):
    assert filetypes.clean_name(raw) == clean
