"""Evidence photos: checked from the header, decoded outside any transaction, re-encoded from pixels only.

Where they are kept (a directory or an S3-compatible bucket) is core/storage.py's business. Every call
here that reaches the store runs with no transaction open: the store may be across the network.
A photo is stored before the row naming it is written, so a request that fails leaves it behind;
the request discards it when it can, and delete_unused_photos catches the rest. A submission the rules
refuse keeps its photo for the member's next try (keep_photo), which the sweep deletes if it never comes.
"""

import io
import itertools
import math
import re
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeSerializer
from PIL import Image, ImageOps
from sqlalchemy import select

from core import storage
from core.storage import StorageError
from models import Contribution, db

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 1600
# A 40-megapixel photo (more than any phone camera's default) decodes to ~120 MB of RGB. A PNG of a
# few kilobytes can declare 169 megapixels and take gigabytes, so the header's count decides first.
MAX_PIXELS = 40_000_000
# Many phones write JPEGs with a multi-picture index, which Pillow names MPO; the first frame is the photo.
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP"}
# The names save_photo makes (token_urlsafe(18) is 24 characters): the sweep deletes nothing else, even
# from a prefix or directory some other program shares.
PHOTO_NAME = re.compile(r"[A-Za-z0-9_-]{24}\.jpg")
# A photo is stored before its row commits: a younger one may be in a request still on its way.
UNUSED_GRACE = timedelta(days=1)
# A refused submission's photo is kept this long for the member's next try: far inside UNUSED_GRACE, so
# the sweep never deletes a kept photo between the check of its reference and the commit naming it.
KEPT_FOR = timedelta(hours=2)
_KEPT_SALT = "campaigns.kept-photo"
SWEEP_BATCH = 500


class PhotoRefused(ValueError):
    """The upload is not taken, with a message for the member: a bad photo, or a store that failed."""


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
    """Check, clean (prepare_photo) and store an upload under a new random name; returns the name.

    Raises PhotoRefused saying why not, a store that fails included: the contribution that would
    name the photo is then not written.
    """
    jpeg = prepare_photo(data)
    name = f"{secrets.token_urlsafe(18)}.jpg"
    try:
        storage.save(name, jpeg)
    except StorageError as error:
        current_app.logger.error("Evidence photo not saved: %s", error)
        raise PhotoRefused(
            _("Chưa lưu được ảnh minh chứng vì kho ảnh không phản hồi; chưa có gì được ghi. Hãy gửi lại sau ít phút.")
        ) from error
    return name


@dataclass(frozen=True)
class KeptPhoto:
    """A stored photo a refused submission keeps for its member's next try, and the signed reference to it."""

    name: str
    filename: str
    reference: str


def _kept_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_KEPT_SALT)


def keep_photo(name: str, filename: str, member_id: int, at: datetime) -> KeptPhoto:
    """Keep a photo stored for a submission that was refused: the reference, carried by the form the
    member gets back, names it for this member until KEPT_FOR after `at`. Unused, the sweep deletes it."""
    shown_name = PurePosixPath(filename.replace("\\", "/")).name[:80]
    reference = _kept_serializer().dumps([member_id, name, shown_name, at.timestamp()])
    return KeptPhoto(name, shown_name, reference)


def kept_photo(reference: str, member_id: int, at: datetime) -> KeptPhoto | None:
    """The photo behind a reference from keep_photo, when it was signed by this app for this member,
    less than KEPT_FOR before `at`, and no contribution names the photo yet; otherwise None."""
    try:
        owner, name, filename, kept_at = _kept_serializer().loads(reference)
    except (BadData, TypeError, ValueError):
        return None
    if owner != member_id or not PHOTO_NAME.fullmatch(str(name)):
        return None
    if not 0 <= at.timestamp() - float(kept_at) < KEPT_FOR.total_seconds():
        return None
    if db.session.scalar(select(Contribution.id).where(Contribution.photo_name == name).limit(1)) is not None:
        return None
    return KeptPhoto(name, str(filename), reference)


def read_photo(name: str) -> bytes | None:
    """A stored photo's bytes, or None when it is gone; raises StorageError when the store fails."""
    return storage.read(name)


def discard_photo(name: str | None) -> bool:
    """Delete a stored photo no row names (any longer); False when the store failed, which is logged:
    delete_unused_photos deletes it later."""
    if name is None:
        return True
    try:
        storage.delete(name)
    except StorageError as error:
        current_app.logger.warning("Unused evidence photo %s left for the sweep: %s", name, error)
        return False
    return True


def delete_unused_photos(at: datetime) -> int:
    """Delete the photos stored more than UNUSED_GRACE before `at` that no contribution names; returns
    how many. Raises StorageError when the store fails (what was deleted stays deleted).

    Each batch's names are looked up in one short read that ends before any deletion.
    """
    cutoff = at - UNUSED_GRACE
    old = (item.name for item in storage.stored() if PHOTO_NAME.fullmatch(item.name) and item.modified_at < cutoff)
    deleted = 0
    while batch := list(itertools.islice(old, SWEEP_BATCH)):
        named = set(db.session.scalars(select(Contribution.photo_name).where(Contribution.photo_name.in_(batch))))
        db.session.rollback()
        for name in batch:
            if name not in named:
                storage.delete(name)
                deleted += 1
    return deleted
