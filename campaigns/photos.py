"""Evidence photos: checked from the header, decoded outside any transaction, re-encoded from pixels only.

Where they are kept (a directory or an S3-compatible bucket) is core/storage.py's business.
"""

import io
import math
import re
import secrets
import warnings
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps

from core import storage
from core.storage import StorageError
from domain.refusals import Refused

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 1600
# A 40-megapixel photo (more than any phone camera's default) decodes to ~120 MB of RGB. A PNG of a
# few kilobytes can declare 169 megapixels and take gigabytes, so the header's count decides first.
MAX_PIXELS = 40_000_000
# Many phones write JPEGs with a multi-picture index, which Pillow names MPO; the first frame is the photo.
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP"}


class PhotoRefused(ValueError):
    pass


def evidence_dir() -> Path:
    """The directory photos are kept in when no bucket is configured (EVIDENCE_DIR or instance/evidence)."""
    path = storage.evidence_directory(current_app)
    path.mkdir(parents=True, exist_ok=True)
    return path


def prepare_photo(data: bytes) -> bytes:
    """Check an upload, then return it as a clean JPEG: upright, at most 1600 px, without any metadata.

    Decoding takes time and memory: call this with no database transaction open.
    """
    if len(data) > MAX_BYTES:
        raise PhotoRefused(_("Ảnh lớn hơn 5 MB. Hãy chụp lại với chất lượng thấp hơn."))
    check_header(data)
    try:
        image = _decode(data)
    except Exception as error:  # Pillow's decoders raise many kinds of error on damaged or crafted files
        raise PhotoRefused(_("Tệp này không phải là ảnh hợp lệ.")) from error
    return _encode(image)


def check_header(data: bytes) -> None:
    """Refuse by format and pixel count, read from the header alone: nothing is decoded here."""
    try:
        # We enforce a lower limit than Pillow's warning threshold ourselves, just below.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind, (width, height) = probe.format, probe.size
    except Image.DecompressionBombError as error:
        # Pillow refuses past twice its own limit before we see the size; its message carries the count.
        found = re.search(r"\((\d+) pixels\)", str(error))
        raise _too_large(int(found.group(1)) if found else 2 * (Image.MAX_IMAGE_PIXELS or MAX_PIXELS) + 1) from error
    except Exception as error:
        raise PhotoRefused(_("Tệp này không phải là ảnh hợp lệ.")) from error
    if kind not in ACCEPTED_FORMATS:
        raise PhotoRefused(_("Chỉ nhận ảnh JPEG, PNG hoặc WebP."))
    if width * height > MAX_PIXELS:
        raise _too_large(width * height)


def _too_large(pixels: int) -> PhotoRefused:
    return PhotoRefused(
        _(
            "Ảnh quá lớn (%(size)d megapixel); tối đa %(limit)d megapixel.",
            size=math.ceil(pixels / 1_000_000),
            limit=MAX_PIXELS // 1_000_000,
        )
    )


def _decode(data: bytes) -> Image.Image:
    """The expensive step: the first frame's pixels, upright, at most MAX_SIDE on each side."""
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        scale = min(1.0, MAX_SIDE / max(width, height))
        # JPEG only: decode at 1/2, 1/4 or 1/8 scale when that still covers the final size (a
        # 12-megapixel photo then takes 9 MB instead of 36 MB).
        image.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))
        # Shrink before turning upright (the box is square, so the order does not matter): the
        # rotation then copies a small image, not the full one.
        image.thumbnail((MAX_SIDE, MAX_SIDE))
        return ImageOps.exif_transpose(image).convert("RGB")


def _encode(image: Image.Image) -> bytes:
    """A new image built from the pixels alone, so no EXIF, GPS, comment, text chunk or ICC profile survives.

    Pillow copies some metadata (a JPEG comment, for one) from the source when saving; an ICC profile
    can name the device, and the copy is only for a verifier to look at, so it goes too.
    """
    clean = Image.frombytes("RGB", image.size, image.tobytes())
    buffer = io.BytesIO()
    clean.save(buffer, "JPEG", quality=82, optimize=True)
    return buffer.getvalue()


def store_photo(data: bytes) -> str:
    """Check, clean (prepare_photo) and store an upload; returns its name. Raises PhotoRefused saying why not.

    Decoding takes time and storing may cross the network: call this with no database transaction open.
    """
    try:
        return save_photo(prepare_photo(data))
    except Refused as refusal:  # the store did not answer
        raise PhotoRefused(" ".join(refusal.messages)) from refusal


def discard_photo(name: str | None) -> None:
    """Remove a stored photo that no contribution came to name; a store that fails leaves an orphan, logged."""
    if name is None:
        return
    try:
        delete_photo(name)
    except Refused:
        current_app.logger.warning("Unused evidence photo %s left in the store", name)


def save_photo(jpeg: bytes) -> str:
    """Store a clean JPEG from prepare_photo under a random name; returns the name.

    Raises Refused when the store fails, so the contribution that would name the photo is not written.
    """
    name = f"{secrets.token_urlsafe(18)}.jpg"
    try:
        storage.save(name, jpeg)
    except StorageError as error:
        current_app.logger.error("Evidence photo not saved: %s", error)
        raise Refused(
            _("Chưa lưu được ảnh minh chứng vì kho ảnh không phản hồi; chưa có gì được ghi. Hãy gửi lại sau ít phút.")
        ) from error
    return name


def read_photo(name: str) -> bytes | None:
    """A stored photo's bytes, or None when it is gone; raises StorageError when the store fails."""
    return storage.read(name)


def delete_photo(name: str) -> None:
    """Remove a stored photo (a missing one is no error); raises Refused when the store fails."""
    try:
        storage.delete(name)
    except StorageError as error:
        current_app.logger.error("Evidence photo not deleted: %s", error)
        raise Refused(
            _("Chưa xoá được ảnh minh chứng vì kho ảnh không phản hồi; chưa có gì thay đổi. Hãy thử lại sau ít phút.")
        ) from error
