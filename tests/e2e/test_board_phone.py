"""The leaderboard on a 360×740 phone, in both languages: no sideways scrolling, and on every row the
rank, the name with its ward, the value under its heading and the movement in view; the signed-in
member's own row after the top ones; no serious or critical axe finding."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from models import db
from tests.conftest import PASSWORD
from tests.e2e.conftest import PHONE, open_context, screenshot
from tests.e2e.test_accessibility import blocking_violations
from tests.leaderboards.test_boards import _give

LONG_WARD = "Phường Tân Hiệp Thạnh Xuân Đông"

# Per shown row: whether each of its cells lies whole inside the viewport, and the page's widths.
MEASURE = """() => {
  const inside = (cell) => { const r = cell.getBoundingClientRect();
    return r.width > 0 && r.left >= 0 && r.right <= innerWidth + .5; };
  const rows = [...document.querySelectorAll('table.board tbody tr:not(.gap)')];
  return {
    scrollWidth: document.scrollingElement.scrollWidth, width: innerWidth,
    region: document.querySelector('.table-scroll').scrollWidth - document.querySelector('.table-scroll').clientWidth,
    cells: rows.map((row) => ['.rank', '.name', '.value', '.movement'].map((c) => inside(row.querySelector(c)))),
  };
}"""


@pytest.fixture
def province_board(make_campaign, make_unit, tree):
    """A running province campaign; two "Khu phố 5" in wards with long names ahead of the member's Q1."""
    tree["W1"].name, tree["W2"].name = LONG_WARD, f"{LONG_WARD} Mở Rộng"
    campaign = make_campaign(scope="DN", by="admin", starts=datetime.now(UTC) - timedelta(days=1))
    for number, ward in enumerate(("W1", "W2", "W2", "W1")):
        quarter = make_unit(f"K5{number}", "quarter", tree[ward], adult_population=1_000)
        quarter.name = "Khu phố 5" if number < 2 else f"Khu phố Tân Hiệp {number}"
        db.session.commit()
        _give(campaign, quarter, points=100 - number, outcome=10)
    _give(campaign, tree["Q1"], points=1, outcome=1)
    return campaign


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("metric", ["points", "per_capita"])
def test_the_board_fits_a_phone_with_my_row_in_view(browser, live_server, province_board, people, language, metric):
    context = open_context(browser, viewport=PHONE, locale="vi-VN", is_mobile=True, has_touch=True)
    context.add_cookies([{"name": "lang", "value": language, "url": live_server}])
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.locator("input[name=username]").fill("member")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/campaigns/{province_board.slug}/leaderboard?level=quarter&metric={metric}&limit=3")
    expect(page.locator("tbody.my-standing tr.mine")).to_contain_text("Unit Q1")
    expect(page.locator("table.board tbody tr").first).to_contain_text(LONG_WARD)
    found = page.evaluate(MEASURE)
    assert found["scrollWidth"] <= found["width"] and found["region"] <= 0, found
    assert len(found["cells"]) == 4 and all(all(row) for row in found["cells"]), found
    screenshot(page, f"board-phone-{language}-{metric}")
    assert blocking_violations(page, f"leaderboard on a phone ({language}, {metric})") == []
    context.close()
