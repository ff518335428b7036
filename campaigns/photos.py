"""Evidence photos: checked by decoding, re-encoded without metadata, stored under random names."""

import io
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 1600
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}


class PhotoRefused(ValueError):
    pass


def evidence_dir() -> Path:
    path = Path(current_app.config.get("EVIDENCE_DIR") or Path(current_app.instance_path) / "evidence")
    path.mkdir(parents=True, exist_ok=True)
    return path


def prepare_photo(data: bytes) -> Image.Image:
    """Decode an upload and return a clean copy: upright, at most 1600 px, no EXIF or GPS."""
    if len(data) > MAX_BYTES:
        raise PhotoRefused(_("Ảnh lớn hơn 5 MB. Hãy chụp lại với chất lượng thấp hơn."))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise PhotoRefused(_("Chỉ nhận ảnh JPEG, PNG hoặc WebP."))
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise PhotoRefused(_("Tệp này không phải là ảnh hợp lệ.")) from error


def save_photo(image: Image.Image) -> str:
    """Write the clean copy as JPEG under a random name; returns the name."""
    name = f"{secrets.token_urlsafe(18)}.jpg"
    image.save(evidence_dir() / name, "JPEG", quality=82, optimize=True)
    return name


def delete_photo(name: str) -> None:
    (evidence_dir() / name).unlink(missing_ok=True)
