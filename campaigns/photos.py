"""Evidence photos: checked from the header, decoded outside any transaction, re-encoded from pixels only."""

import io
import math
import re
import secrets
import warnings
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps

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
    path = Path(current_app.config.get("EVIDENCE_DIR") or Path(current_app.instance_path) / "evidence")
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


def save_photo(jpeg: bytes) -> str:
    """Write a clean JPEG from prepare_photo under a random name; returns the name."""
    name = f"{secrets.token_urlsafe(18)}.jpg"
    (evidence_dir() / name).write_bytes(jpeg)
    return name


def delete_photo(name: str) -> None:
    (evidence_dir() / name).unlink(missing_ok=True)
