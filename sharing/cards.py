"""The standings card chat apps show under a shared link: a small PNG drawn with Pillow.

Drawn with the font vendored in static/fonts (DejaVu Sans Bold, which has every Vietnamese letter) and
Pillow's basic layout, so that every machine draws the same picture whether or not it has libraqm;
text is composed (NFC) first, because the basic layout cannot stack a combining mark on its letter.
"""

import io
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = Path(__file__).resolve().parent.parent / "static" / "fonts" / "DejaVuSans-Bold.ttf"
WIDTH, HEIGHT = 1200, 630  # what Facebook, Messenger and Zalo show large, 1.91:1
MARGIN = 64
RED, RED_DARK, GOLD, INK, PAPER, MUTED = "#b3261e", "#8c1d18", "#f2b705", "#1d1b1a", "#fffaf3", "#6b6562"
ROW_HEIGHT = 72
# Flat colours and antialiased text: a small palette keeps the file a few dozen kilobytes.
PALETTE_COLOURS = 48


@dataclass(frozen=True)
class CardLine:
    rank: int
    name: str
    detail: str  # the ward a unit lies in, on boards wider than one ward; "" otherwise
    value: str  # points, already worded in the card's language


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size, layout_engine=ImageFont.Layout.BASIC)


def _composed(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _fitted(draw: ImageDraw.ImageDraw, text: str, size: int, width: float) -> str:
    """The text, cut with an ellipsis where it would pass `width` pixels."""
    font = _font(size)
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _two_lines(draw: ImageDraw.ImageDraw, title: str, size: int, width: int) -> list[str]:
    """At most two lines, broken between words; the second cut if the title is longer still."""
    words, first = title.split(" "), ""
    while words and draw.textlength(f"{first} {words[0]}".strip(), font=_font(size)) <= width:
        first = f"{first} {words.pop(0)}".strip()
    if not first:  # one word wider than the card
        return [_fitted(draw, title, size, width)]
    return [first, _fitted(draw, " ".join(words), size, width)] if words else [first]


@lru_cache(maxsize=128)
def standings_card(title: str, heading: str, lines: tuple[CardLine, ...], empty: str, footer: str) -> bytes:
    """A 1200×630 PNG: the campaign's title, then its first rows with their points. Pure: the same
    arguments draw the same bytes, so the result is kept per argument (a campaign's title, language
    and standings, which move only with its scores version)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    width = WIDTH - 2 * MARGIN
    draw.rectangle((0, 0, WIDTH, 190), fill=RED)
    draw.rectangle((0, 190, WIDTH, 198), fill=GOLD)
    draw.text((MARGIN, 24), _composed(heading), font=_font(26), fill=GOLD)
    for number, text in enumerate(_two_lines(draw, _composed(title), 46, width)):
        draw.text((MARGIN, 64 + number * 56), text, font=_font(46), fill="#ffffff")
    top = 222
    if not lines:
        for number, text in enumerate(_two_lines(draw, _composed(empty), 34, width)):
            draw.text((MARGIN, top + 20 + number * 46), text, font=_font(34), fill=MUTED)
    for index, line in enumerate(lines):
        y = top + index * ROW_HEIGHT
        if index:
            draw.line((MARGIN, y - 6, WIDTH - MARGIN, y - 6), fill="#e8e0d8", width=2)
        colour = GOLD if line.rank == 1 else RED_DARK
        draw.ellipse((MARGIN, y + 4, MARGIN + 50, y + 54), fill=colour)
        draw.text((MARGIN + 25, y + 29), str(line.rank), font=_font(26), fill="#ffffff", anchor="mm")
        value = _composed(line.value)
        value_width = draw.textlength(value, font=_font(32))
        draw.text((WIDTH - MARGIN, y + 29), value, font=_font(32), fill=INK, anchor="rm")
        room = width - 80 - value_width - 24
        name = _fitted(draw, _composed(line.name), 32, room)
        draw.text((MARGIN + 72, y + 29 if not line.detail else y + 18), name, font=_font(32), fill=INK, anchor="lm")
        if line.detail:
            detail = _fitted(draw, _composed(line.detail), 20, room)
            draw.text((MARGIN + 72, y + 48), detail, font=_font(20), fill=MUTED, anchor="lm")
    draw.text((MARGIN, HEIGHT - 40), _composed(footer), font=_font(22), fill=MUTED, anchor="lm")
    buffer = io.BytesIO()
    image.quantize(PALETTE_COLOURS).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
