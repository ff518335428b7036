import unicodedata


def ascii_slug(text: str, separator: str = "-") -> str:
    """'Tuần không giấy Bình Lộc' -> 'tuan-khong-giay-binh-loc': ASCII for codes, usernames, URLs."""
    plain = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    words = "".join(ch if ch.isascii() and ch.isalnum() else " " for ch in plain if not unicodedata.combining(ch))
    return separator.join(words.lower().split())
