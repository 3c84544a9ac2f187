"""Builders of real (minimal) files of each kind an upload may be: Office packages, ZIP, PDF, images, MP4."""

from __future__ import annotations

import io
import struct
import zipfile

from openpyxl import Workbook
from PIL import Image

from portal import filetypes

MAIN_TYPES = {kind: main for kind, (_, main) in filetypes.OOXML_MAIN_PARTS.items()}
MAIN_PARTS = {"docx": "word/document.xml", "pptx": "ppt/presentation.xml", "xlsx": "xl/workbook.xml"}
PPTM_MAIN = "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml"



def ooxml(
    kind: str = "pptx", *, main_type: str | None = None, main_part: str | None = None, drop=()
) -> bytes:
    """A minimal Office Open XML package: content types, package relationships and the main part."""
    part = main_part or MAIN_PARTS[kind]
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{part}" ContentType="{main_type or MAIN_TYPES[kind]}"/>'
        "</Types>"
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'relationships/officeDocument" Target="{part}"/></Relationships>'
    )
    members = {"[Content_Types].xml": content_types, "_rels/.rels": rels, part: "<root>方案</root>"}
    return zip_of({name: body for name, body in members.items() if name not in drop})


def zip_of(members: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def xlsx() -> bytes:
    workbook = Workbook()
    workbook.active.append(["县（市、区）", "数据容量"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def pdf() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "white").save(buffer, "PDF")
    return buffer.getvalue()


def image(fmt: str = "PNG", size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, fmt)
    return buffer.getvalue()


def box(kind: bytes, body: bytes = b"", *, large: bool = False) -> bytes:
    if large:
        return struct.pack(">I4sQ", 1, kind, 16 + len(body)) + body
    return struct.pack(">I4s", 8 + len(body), kind) + body


def ftyp(major: bytes = b"isom", compatible: tuple[bytes, ...] = (b"isom", b"mp41")) -> bytes:
    return box(b"ftyp", major + struct.pack(">I", 512) + b"".join(compatible))


MVHD = box(b"mvhd", bytes(100))


def mp4(*boxes: bytes) -> bytes:
    return b"".join(boxes or (ftyp(), box(b"moov", MVHD), box(b"mdat", b"\x00" * 64)))
