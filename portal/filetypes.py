"""What an uploaded file is, judged by parsing its content, and a client's file name made safe to keep.

Every upload area (applications, contest entries) cleans names with `clean_name` and checks images with
`check_image`, so a rule tightened here holds everywhere. A file's first bytes are not enough: any ZIP
starts like a PPTX and anything can carry "ftyp" at offset 4, so the checks read the format's structure.
The checks take a seekable binary file and leave its position anywhere; callers seek before reuse.
"""

from __future__ import annotations

import io
import os
import re
import struct
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from xml.etree import ElementTree

from PIL import Image

MAX_NAME_LENGTH = 255
MAX_ZIP_MEMBERS = 20_000
MAX_CONTENT_TYPES_SIZE = 1024 * 1024
MAX_MP4_BOXES = 20_000
PDF_TAIL = 2048  # the spec puts %%EOF in the last 1,024 bytes; readers tolerate a little trailing data
ZIP_MAGIC = b"PK\x03\x04"  # a ZIP that starts elsewhere (a self-extracting program) is not accepted

CONTENT_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
OOXML_MAIN_PARTS = {  # kind → (the main part's folder, its content type); macro-enabled variants differ
    "docx": ("word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
    "pptx": ("ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"),
    "xlsx": ("xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
}
MP4_BRANDS = frozenset(  # ISO base media brands of MP4 video (ISO/IEC 14496-12 and -14, 3GPP, Apple, DASH)
    (
        b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41", b"mp42",
        b"mp71", b"avc1", b"dash", b"msnv", b"MSNV", b"mmp4", b"M4V ", b"M4VH", b"M4VP", b"f4v ", b"3gp4",
        b"3gp5", b"3gp6", b"3gp7", b"3g2a", b"3g2b", b"qt  ", b"XAVC", b"cmfc", b"cmf2",
    )
)  # fmt: skip
MP4_TOP_LEVEL = frozenset(  # the boxes ISO/IEC 14496-12 allows at file level, and QuickTime's padding
    (
        b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"moof", b"mfra", b"meta", b"pdin",
        b"styp", b"sidx", b"ssix", b"emsg", b"prft", b"udta", b"pnot",
    )
)  # fmt: skip
_PDF_HEADER = re.compile(rb"%PDF-[12]\.\d")
_BOX_TYPE = re.compile(rb"[\x20-\x7e]{4}")


class NotThisType(Exception):
    """The content is not a file of the expected type."""


class TooManyPixels(Exception):
    """The image is larger, in pixels, than allowed."""


@dataclass(frozen=True)
class ImageInfo:
    format: str  # Pillow's name: PNG, JPEG, WEBP
    width: int
    height: int


def clean_name(filename: str) -> str:
    """Keep the last path segment of a client's file name, printable and at most 255 characters.

    Drops control characters, bidirectional overrides and isolates (which can make "gpj.exe" read as
    "exe.jpg") and every other non-printable character, and the folders before any / or \\.
    """
    base = os.path.basename(filename.replace("\\", "/"))
    return "".join(ch for ch in base if ch.isprintable()).strip()[-MAX_NAME_LENGTH:] or "file"


def extension(name: str) -> str:
    """Return the lower-case extension of a file name, without its dot ('' when there is none)."""
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def is_pdf(file: BinaryIO) -> bool:
    """A PDF: the %PDF-n.n header, and the cross-reference pointer and end marker in its tail."""
    file.seek(0)
    if not _PDF_HEADER.match(file.read(8)):
        return False
    file.seek(0, io.SEEK_END)
    file.seek(max(0, file.tell() - PDF_TAIL))
    tail = file.read()
    return b"startxref" in tail and b"%%EOF" in tail


def is_zip(file: BinaryIO) -> bool:
    """A ZIP archive that starts with a local file header and has a readable central directory."""
    return _open_zip(file) is not None


def is_ooxml(file: BinaryIO, kind: str) -> bool:
    """An Office Open XML document of `kind` (docx, pptx, xlsx): a ZIP holding its package parts.

    [Content_Types].xml must declare the kind's main part (so a macro-enabled or another kind's
    document fails), and that part and the package relationships must be in the archive.
    """
    folder, main_type = OOXML_MAIN_PARTS[kind]
    archive = _open_zip(file)
    if archive is None:
        return False
    with archive:
        names = set(archive.namelist())
        if "[Content_Types].xml" not in names or "_rels/.rels" not in names:
            return False
        info = archive.getinfo("[Content_Types].xml")
        if info.file_size > MAX_CONTENT_TYPES_SIZE:
            return False
        try:
            with archive.open(info) as part:
                root = ElementTree.fromstring(part.read(MAX_CONTENT_TYPES_SIZE + 1))
        except (ElementTree.ParseError, zipfile.BadZipFile, OSError, EOFError, ValueError):
            return False
    parts = [
        o.get("PartName", "").lstrip("/")
        for o in root.iter(f"{CONTENT_TYPES_NS}Override")
        if o.get("ContentType") == main_type
    ]
    return any(p.startswith(folder) and p in names for p in parts)


def is_mp4(file: BinaryIO) -> bool:
    """An MP4 video: an ftyp box with a known brand first, then only file-level boxes, end to end.

    The boxes must tile the file exactly, and a moov box holding the movie header (mvhd) must be there.
    """
    file.seek(0, io.SEEK_END)
    end = file.tell()
    try:
        boxes = list(_boxes(file, 0, end, limit=MAX_MP4_BOXES))
        if not boxes or boxes[0][0] != b"ftyp" or not _good_ftyp(file, *boxes[0][1:]):
            return False
        if any(kind not in MP4_TOP_LEVEL for kind, _, _ in boxes):
            return False
        movies = [(body, box_end) for kind, body, box_end in boxes if kind == b"moov"]
        if len(movies) != 1:
            return False
        return any(kind == b"mvhd" for kind, _, _ in _boxes(file, *movies[0], limit=MAX_MP4_BOXES))
    except NotThisType:
        return False


def check_image(data: bytes, *, formats: list[str], max_pixels: int, decode: bool = False) -> ImageInfo:
    """Open `data` as one of Pillow's `formats` and verify it; decode every pixel too when `decode`.

    Raise TooManyPixels past `max_pixels` (before decoding) and NotThisType for anything else.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=formats) as image:
                info = ImageInfo(image.format or "", *image.size)
                if info.width * info.height > max_pixels:
                    raise TooManyPixels
                image.verify()
            if decode:
                with Image.open(io.BytesIO(data), formats=formats) as image:
                    image.load()
    except TooManyPixels:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooManyPixels from exc
    except Exception as exc:  # Pillow raises many kinds on a broken or foreign file
        raise NotThisType from exc
    return info


def _open_zip(file: BinaryIO) -> zipfile.ZipFile | None:
    file.seek(0)
    if file.read(4) != ZIP_MAGIC:
        return None
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return None
    members = archive.infolist()
    if not members or len(members) > MAX_ZIP_MEMBERS or members[0].header_offset != 0:
        archive.close()
        return None
    return archive


def _boxes(file: BinaryIO, start: int, end: int, *, limit: int) -> Iterator[tuple[bytes, int, int]]:
    """Yield (type, body start, box end) of the boxes between `start` and `end`; raise NotThisType."""
    position, count = start, 0
    while position < end:
        count += 1
        if count > limit or end - position < 8:
            raise NotThisType
        file.seek(position)
        size, kind = struct.unpack(">I4s", file.read(8))
        header = 8
        if size == 1:  # a 64-bit size follows the type
            raw = file.read(8)
            if len(raw) < 8:
                raise NotThisType
            (size,), header = struct.unpack(">Q", raw), 16
        elif size == 0:  # the box runs to the end of its container
            size = end - position
        if not _BOX_TYPE.fullmatch(kind) or size < header or position + size > end:
            raise NotThisType
        yield kind, position + header, position + size
        position += size


def _good_ftyp(file: BinaryIO, body: int, box_end: int) -> bool:
    """ftyp: a known major brand, a minor version, then whole four-byte compatible brands."""
    length = box_end - body
    if length < 8 or length % 4 or length > 1024:
        return False
    file.seek(body)
    return file.read(4) in MP4_BRANDS
