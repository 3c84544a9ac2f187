"""Screenshots and the PDF of an application: checked by their content, thumbnailed, kept in storage.

Every file of an upload is read and checked before anything is stored, so a bad file stores nothing.
"""

from __future__ import annotations

import contextlib
import io
import logging
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps

from portal import filetypes
from portal.accounts.models import User
from portal.applications.models import PDF, SCREENSHOT, Application, ApplicationFile
from portal.extensions import db
from portal.refusals import Refusal
from portal.storage import Storage, StorageError

MB = 1024 * 1024
IMAGE_FORMATS = {"PNG": ("image/png", "png"), "JPEG": ("image/jpeg", "jpg"), "WEBP": ("image/webp", "webp")}
PDF_MAGIC = b"%PDF-"
THUMBNAIL_SIZE = (480, 480)

log = logging.getLogger(__name__)


class UploadError(Refusal):
    """An upload was refused or could not be kept; the message is shown to the user."""


class UploadRejected(UploadError):
    pass


class UploadFailed(UploadError):
    pass


@dataclass(frozen=True)
class IncomingFile:
    filename: str
    stream: BinaryIO


@dataclass(frozen=True)
class Limits:
    max_screenshots: int = 6
    max_image_size: int = 5 * MB
    max_pdf_size: int = 20 * MB
    max_pixels: int = 25_000_000  # decoding a thumbnail holds the whole image in memory


def limits_from(config: Mapping) -> Limits:
    """Read the limits from settings named APPLICATION_*, falling back to the defaults."""
    default = Limits()
    return Limits(
        max_screenshots=int(config.get("APPLICATION_MAX_SCREENSHOTS", default.max_screenshots)),
        max_image_size=int(config.get("APPLICATION_IMAGE_MAX_SIZE", default.max_image_size)),
        max_pdf_size=int(config.get("APPLICATION_PDF_MAX_SIZE", default.max_pdf_size)),
        max_pixels=int(config.get("APPLICATION_IMAGE_MAX_PIXELS", default.max_pixels)),
    )


@dataclass(frozen=True)
class CheckedImage:
    filename: str
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int
    thumbnail: bytes


@dataclass(frozen=True)
class CheckedPdf:
    filename: str
    data: bytes


def chosen(files: Sequence[IncomingFile]) -> list[IncomingFile]:
    """Drop the empty parts a browser sends for a file input left blank (they have no name)."""
    return [f for f in files if f.filename]


def check_screenshots(files: Sequence[IncomingFile], *, existing: int, limits: Limits) -> list[CheckedImage]:
    """Read and check each file as a PNG, JPEG or WebP image and make its thumbnail; raise UploadRejected."""
    files = chosen(files)
    if existing + len(files) > limits.max_screenshots:
        raise UploadRejected(
            _l(
                "An application has at most %(n)d screenshots; it has %(have)d and %(more)d were added.",
                n=limits.max_screenshots,
                have=existing,
                more=len(files),
            )
        )
    return [_check_image(f, limits) for f in files]


def check_pdf(file: IncomingFile | None, *, limits: Limits) -> CheckedPdf | None:
    """Read and check a PDF by its first bytes; None when no file was chosen."""
    if file is None or not file.filename:
        return None
    name = filetypes.clean_name(file.filename)
    data = _read(file, name, limits.max_pdf_size)
    if not data.startswith(PDF_MAGIC):
        raise UploadRejected(_l("%(name)s is not a PDF document.", name=name))
    return CheckedPdf(name, data)


def _read(file: IncomingFile, name: str, limit: int) -> bytes:
    data = file.stream.read(limit + 1)
    if not data:
        raise UploadRejected(_l("%(name)s is empty.", name=name))
    if len(data) > limit:
        raise UploadRejected(_l("%(name)s is larger than %(limit)s.", name=name, limit=_size(limit)))
    return data


def _size(size: int) -> str:
    return f"{size / MB:g} MB" if size >= MB else f"{size / 1024:g} KB"


def _check_image(file: IncomingFile, limits: Limits) -> CheckedImage:
    name = filetypes.clean_name(file.filename)
    data = _read(file, name, limits.max_image_size)
    try:
        info = filetypes.check_image(data, formats=list(IMAGE_FORMATS), max_pixels=limits.max_pixels)
        thumbnail = _thumbnail(data)  # decodes every pixel, which verify() does not for all formats
    except filetypes.TooManyPixels as exc:
        raise UploadRejected(_l("%(name)s has too many pixels.", name=name)) from exc
    except Exception as exc:  # Pillow raises many kinds on a broken or foreign file
        raise UploadRejected(_l("%(name)s is not a PNG, JPEG or WebP image.", name=name)) from exc
    image_format, width, height = info.format, info.width, info.height
    content_type, extension = IMAGE_FORMATS[image_format]
    return CheckedImage(name, data, content_type, extension, width, height, thumbnail)


def _thumbnail(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened)
        image.thumbnail(THUMBNAIL_SIZE)
        has_alpha = "A" in image.mode or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
        out = io.BytesIO()
        image.save(out, "WEBP", quality=80)
    return out.getvalue()


def store_screenshots(
    application: Application, images: Sequence[CheckedImage], *, store: Storage, by: User | None
) -> list[ApplicationFile]:
    """Put the checked images and their thumbnails in storage and add their rows; flush."""
    position = max((f.position for f in application.screenshots), default=-1) + 1
    added = []
    with _undo_on_failure(store) as written:
        for offset, image in enumerate(images):
            token = secrets.token_hex(8)
            key = f"applications/{application.id}/screenshots/{token}.{image.extension}"
            thumb_key = f"applications/{application.id}/thumbnails/{token}.webp"
            stored = store.put(key, io.BytesIO(image.data), content_type=image.content_type)
            written.append(key)
            store.put(thumb_key, io.BytesIO(image.thumbnail), content_type="image/webp")
            written.append(thumb_key)
            added.append(
                ApplicationFile(
                    kind=SCREENSHOT,
                    position=position + offset,
                    filename=image.filename,
                    storage_key=key,
                    size=stored.size,
                    sha256=stored.sha256,
                    content_type=image.content_type,
                    width=image.width,
                    height=image.height,
                    thumbnail_key=thumb_key,
                    uploaded_by_id=by.id if by else None,
                )
            )
    application.files.extend(added)
    db.session.flush()
    return added


def store_pdf(
    application: Application, pdf: CheckedPdf, *, store: Storage, by: User | None
) -> ApplicationFile:
    """Put the PDF in storage in place of any earlier one; flush."""
    key = f"applications/{application.id}/documents/{secrets.token_hex(8)}.pdf"
    with _undo_on_failure(store) as written:
        stored = store.put(key, io.BytesIO(pdf.data), content_type="application/pdf")
        written.append(key)
    old = application.pdf
    if old is not None:
        remove(old, store=store)
    added = ApplicationFile(
        kind=PDF,
        filename=pdf.filename,
        storage_key=key,
        size=stored.size,
        sha256=stored.sha256,
        content_type="application/pdf",
        uploaded_by_id=by.id if by else None,
    )
    application.files.append(added)
    db.session.flush()
    return added


def remove(file: ApplicationFile, *, store: Storage) -> None:
    """Delete the file's row (flushed) and then its stored objects."""
    keys = [k for k in (file.storage_key, file.thumbnail_key) if k]
    file.application.files.remove(file)
    db.session.flush()
    for key in keys:
        _delete_quietly(store, key)


def discard(files: Sequence[ApplicationFile], *, store: Storage) -> None:
    """Delete the stored objects of files whose rows are being rolled back."""
    for file in files:
        for key in (file.storage_key, file.thumbnail_key):
            if key:
                _delete_quietly(store, key)


def _delete_quietly(store: Storage, key: str) -> None:
    try:
        store.delete(key)
    except StorageError:  # an orphan object is harmless; a failed request is not
        log.warning("could not delete %s from storage", key, exc_info=True)


@contextlib.contextmanager
def _undo_on_failure(store: Storage) -> Iterator[list[str]]:
    """Yield a list for the keys written; when the block fails, delete them and report UploadFailed."""
    written: list[str] = []
    try:
        yield written
    except BaseException as exc:
        for key in written:
            _delete_quietly(store, key)
        if isinstance(exc, StorageError):
            raise UploadFailed(_l("The files could not be stored. Please try again.")) from exc
        raise
