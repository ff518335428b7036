"""Short codes for printed quiz posters: one per (quiz, quarter), derived, never stored.

A code carries the two row ids and a keyed tag of them, written in Crockford's base 32 (no I, L, O or U,
so a code copied from paper by hand survives a 0 read as an O). Deriving instead of storing keeps the
poster page a pure read (GET never writes) and a code the same on every reprint. The tag is an HMAC
under HASH_KEY, which is never rotated (phone hashes depend on it), so a pinned poster keeps working;
without the key a code cannot be made up, and quiz slugs, which are secrets, cannot be found by
trying codes (the route is also rate limited).
"""

import hmac

from core.privacy import keyed_hash

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
# What people type for what they see: Crockford's decoding, case-insensitive.
_READ_AS = {"o": "0", "i": "1", "l": "1"}
TAG_BYTES = 4  # 2^32 tries per code; at the route's rate limit, thousands of years per address
MAX_CODE_LENGTH = 32
MAX_ID = 2**63 - 1


def _varint(number: int) -> bytes:
    """Seven bits a byte, low first; the high bit says another byte follows. The first byte of a
    positive id is never zero, so the bytes survive the round trip through an integer."""
    out = bytearray()
    while True:
        low, number = number & 0x7F, number >> 7
        out.append(low | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _read_varints(data: bytes, count: int) -> tuple[list[int], bytes] | None:
    numbers, current, shift = [], 0, 0
    for position, byte in enumerate(data):
        current |= (byte & 0x7F) << shift
        shift += 7
        if shift > 63:
            return None
        if not byte & 0x80:
            numbers.append(current)
            current, shift = 0, 0
            if len(numbers) == count:
                return numbers, data[position + 1 :]
    return None


def _tag(body: bytes) -> bytes:
    return bytes.fromhex(keyed_hash(f"quarter-poster:{body.hex()}"))[:TAG_BYTES]


def poster_code(quiz_id: int, quarter_id: int) -> str:
    """The short code of one quarter's poster of one quiz."""
    body = _varint(quiz_id) + _varint(quarter_id)
    number = int.from_bytes(body + _tag(body), "big")
    digits = []
    while number:
        number, digit = divmod(number, 32)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def read_poster_code(code: str) -> tuple[int, int] | None:
    """(quiz id, quarter id) of a genuine code as typed (any case, hyphens ignored); None otherwise."""
    text = code.strip().lower().replace("-", "")
    if not text or len(text) > MAX_CODE_LENGTH:
        return None
    number = 0
    for char in text:
        digit = ALPHABET.find(_READ_AS.get(char, char))
        if digit < 0:
            return None
        number = number * 32 + digit
    data = number.to_bytes((number.bit_length() + 7) // 8, "big")
    read = _read_varints(data, 2)
    if read is None:
        return None
    (quiz_id, quarter_id), tag = read
    body = _varint(quiz_id) + _varint(quarter_id)
    if not (0 < quiz_id <= MAX_ID and 0 < quarter_id <= MAX_ID) or not hmac.compare_digest(tag, _tag(body)):
        return None
    return quiz_id, quarter_id
