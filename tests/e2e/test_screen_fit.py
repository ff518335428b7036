"""The hall TV at the sizes halls have, in both languages: the whole board on one screen with no scroll
bar and no row cut off, names readable from the back (32 px at 1080p, growing with the TV), movement
and the ticker as large as the names, and the board filling the height rather than half of it."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from admin.services import UnitFields, create_unit
from badges.services import award_top_three
from models import db
from quizzes.events import open_event
from quizzes.services import QuizFields, create_quiz, seed_question_bank
from screens.services import create_screen
from tests.e2e.conftest import PHONE, open_context, screenshot
from tests.e2e.test_accessibility import blocking_violations

SIZES = [(1280, 720), (1366, 768), (1920, 1080), (3840, 2160)]
LONG_WARD = "Phường Tân Hiệp Thạnh Xuân Đông"
# The lead's names for quarters that share one carry their ward: the longest a TV row must hold.
LONGEST = f"Khu phố Tân Hiệp 12 · {LONG_WARD}"

# Everything the checks need, measured in the page as it is drawn.
MEASURE = """() => {
  const box = (element) => element.getBoundingClientRect();
  const size = (element) => parseFloat(getComputedStyle(element).fontSize);
  const all = (selector) => [...document.querySelectorAll(selector)];
  const rows = all('.screen-rows li');
  const names = all('.screen-rows .name');
  const blocks = [...rows, ...all('.screen-head, .screen-board h2, .ticker, .screen-qr:not([hidden])')];
  const outside = (r) => r.top < 0 || r.left < 0 || r.bottom > innerHeight + .5 || r.right > innerWidth + .5;
  const cut = (n) => n.scrollHeight > n.clientHeight + 1 || n.scrollWidth > n.clientWidth + 1;
  const ticker = document.querySelector('.ticker');
  return {
    scrollHeight: document.scrollingElement.scrollHeight, scrollWidth: document.scrollingElement.scrollWidth,
    width: innerWidth, height: innerHeight,
    outside: blocks.filter((b) => outside(box(b))).map((b) => b.outerHTML.slice(0, 80)),
    clipped: names.filter(cut).map((n) => n.textContent),
    rows: rows.length,
    lastBottom: rows.length ? box(rows[rows.length - 1]).bottom : 0,
    name: Math.min(...names.map(size)),
    move: Math.min(...all('.screen-rows .move').map(size)),
    ticker: ticker ? size(ticker) : null,
  };
}"""


@pytest.fixture
def hall(app, people, tree, make_campaign):
    """A ward with a long name and a dozen quarters under it, one named as long as a quarter with its
    ward; a quiz in an event session (code, QR and text in the corner) and badges in the ticker."""
    tree["W1"].name = LONG_WARD
    # Created first, so it is on the board when all score nothing (padded in id order).
    names = [LONGEST, *(f"Khu phố Tân Hiệp {number}" for number in range(1, 11))]
    for number, name in enumerate(names):
        create_unit(UnitFields(f"QH{number}", name, "quarter", tree["W1"], adult_population=1_000 + number))
    seed_question_bank()
    campaign = make_campaign()
    moment = datetime.now(UTC)  # the live server runs on the real clock
    quiz = create_quiz(
        people["leader1"],
        QuizFields("Quiz", tree["W1"], campaign, 5, 180, 2, moment - timedelta(hours=1), moment + timedelta(days=1)),
    )
    quarters = create_screen(people["leader1"], campaign, quiz)
    quarters.boards = [{"level": "quarter", "metric": "points", "period": "all"}]
    wards = create_screen(people["leader1"], campaign, None)
    wards.boards = [{"level": "ward", "metric": "points", "period": "all"}]
    open_event(people["leader1"], quarters, 60, moment)
    award_top_three(
        campaign,
        {
            "member": [
                {"rank": rank, "member_id": people[name].id, "points": 9 - rank}
                for rank, name in enumerate(("member", "member2", "teamlead"), start=1)
            ]
        },
        moment,
    )
    db.session.commit()
    return {"quarters": quarters.token, "wards": wards.token}


def _check(found: dict, where: str, full_board: bool) -> None:
    assert found["scrollHeight"] <= found["height"] and found["scrollWidth"] <= found["width"], where
    assert found["outside"] == [], where
    assert found["clipped"] == [], where
    # Names scale with the TV: 3% of its height, which is 32 px at 1080p.
    assert found["name"] >= 0.0295 * found["height"], where
    if found["height"] == 1080:
        assert found["name"] >= 32, where
    assert found["move"] >= found["name"], where
    if found["ticker"] is not None:
        assert found["ticker"] >= found["name"], where
    if full_board:
        assert found["rows"] == 10, where
    # However many rows, they reach the lower part of the screen: no half-empty TV.
    assert found["lastBottom"] >= 0.8 * found["height"], where


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_event_screen_fills_every_hall_tv_without_scrolling(browser, live_server, hall, language):
    context = open_context(browser, viewport={"width": 1280, "height": 720}, locale="vi-VN")
    context.add_cookies([{"name": "lang", "value": language, "url": live_server}])
    page = context.new_page()
    for board, token in hall.items():
        page.goto(f"{live_server}/screen/{token}")
        if board == "quarters":
            expect(page.locator(".screen-code")).to_be_visible()
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            _check(page.evaluate(MEASURE), f"{board} board at {width}×{height} in {language}", board == "quarters")
            if board == "quarters" and (width, height) == (1280, 720):
                screenshot(page, f"event-screen-{language}-{width}x{height}")
                assert blocking_violations(page, "event screen") == []
        # Opened on a phone, the page scrolls down (the small-screen rules) but never sideways.
        page.set_viewport_size(PHONE)
        found = page.evaluate(MEASURE)
        assert found["scrollWidth"] <= found["width"] and found["clipped"] == [], f"{board} on a phone"
        assert blocking_violations(page, "event screen on a phone") == []
        if board == "quarters":
            screenshot(page, f"event-screen-{language}-phone")
    context.close()
