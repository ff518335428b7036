"""What a shared link may show of a campaign, and which quiz poster a short code stands for.

Only what anyone may already see: a campaign's standings are public exactly when its board page is
(active or ended: leaderboards.views), and rows carry the names that board shows.
"""

import hashlib

from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.clock import local_date, now
from leaderboards.services import BoardRow, cached_board
from models import Campaign, Quiz, Unit, db
from sharing.cards import CardLine, standings_card
from sharing.codes import read_poster_code

CARD_ROWS = 5
# Bump when the card's drawing changes, so that caches holding the old picture ask again.
CARD_DESIGN = 1
NO_POINTS = _l("Chưa có điểm nào. Hãy là người đầu tiên ghi nhận hoạt động!")


def main_standings(campaign: Campaign, version: int) -> list[BoardRow]:
    """The first rows of the campaign's main board, from the board cache (one read per scores version)."""
    # The board the board page shows without parameters: quarters by points over the whole campaign.
    return cached_board(campaign, "quarter", "points", "all", None, CARD_ROWS, local_date(now()), version)


def _points(points: int) -> str:
    return _("%(n)s điểm", n=format_number(points))


def standings_summary(rows: list[BoardRow]) -> str:
    """One line for a link's description: "1. Khu phố 3 — 120 điểm · 2. …"."""
    if not rows:
        return str(NO_POINTS)
    return " · ".join(f"{row.rank}. {row.name} — {_points(row.points)}" for row in rows)


def card_etag(campaign: Campaign, version: int, language: str) -> str:
    """Changes with the standings (the scores version), the title, the language and the drawing."""
    key = f"{campaign.id}:{campaign.created_at.isoformat()}:{version}:{campaign.title}:{language}:{CARD_DESIGN}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def standings_card_png(campaign: Campaign, version: int, site: str) -> bytes:
    """The campaign's card in the current language (kept per title, language and standings)."""
    lines = tuple(
        CardLine(row.rank, row.name, row.ward or "", _points(row.points)) for row in main_standings(campaign, version)
    )
    return standings_card(
        campaign.title,
        _("ThiĐua · Bảng xếp hạng khu phố"),
        lines,
        str(NO_POINTS),
        site,
    )


def _open_to(quiz: Quiz, quarter: Unit | None) -> bool:
    """Whether residents of this quarter take the quiz (the quarters its join form lists)."""
    return quarter is not None and quarter.kind == "quarter" and quiz.scope_unit_id in quarter.ancestor_ids


def quiz_quarter(quiz: Quiz, quarter_code: str) -> Unit | None:
    """A quarter the quiz is open to, by its code."""
    quarter = db.session.scalar(select(Unit).where(Unit.code == quarter_code))
    return quarter if _open_to(quiz, quarter) else None


def poster_target(code: str) -> tuple[Quiz, Unit] | None:
    """The quiz and quarter a genuine short code stands for, while the quarter is still in the quiz."""
    ids = read_poster_code(code)
    if ids is None:
        return None
    quiz, quarter = db.session.get(Quiz, ids[0]), db.session.get(Unit, ids[1])
    return (quiz, quarter) if quiz is not None and quarter is not None and _open_to(quiz, quarter) else None
