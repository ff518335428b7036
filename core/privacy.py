"""Personal numbers (phones, ID numbers) are kept only as keyed hashes."""

import hashlib
import hmac
import re

from flask import current_app


def normalise_phone(raw: str) -> str:
    """Digits only, with +84 / 84 written as the domestic leading 0."""
    digits = re.sub(r"\D", "", raw or "")
    if digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    return digits


def is_valid_phone(raw: str) -> bool:
    """Vietnamese mobile and landline numbers: 10 or 11 digits starting with 0."""
    digits = normalise_phone(raw)
    return len(digits) in (10, 11) and digits.startswith("0")


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 of a normalised personal number under the server's HASH_KEY."""
    key = current_app.config["HASH_KEY"].encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def masked(value: str) -> str:
    """What may be shown of a number: its last three digits."""
    return "*******" + value[-3:]
