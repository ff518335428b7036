"""Link previews (issue 12, item 8): Open Graph tags on the campaign, board and report pages, and the
standings card they point to, public exactly when the campaign's board is."""

import html
import io
import re
from datetime import date, timedelta

import pytest
from PIL import Image, ImageFont

from campaigns.services import archive
from models import db
from scoring import Award, award_many
from sharing.cards import FONT
from tests.conftest import START, login

META = re.compile(r'<meta (?:property|name)="((?:og|twitter):[^"]+)" content="([^"]*)">')
VIETNAMESE = "ĐđƯưƠơẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợỤụỦủỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹ"


def _tags(response) -> dict[str, str]:
    assert response.status_code == 200, response.status_code
    return {name: html.unescape(value) for name, value in META.findall(response.get_data(as_text=True))}


def _give(campaign, quarter, points: int, cause_id: int) -> None:
    award_many([Award(campaign.id, "correction", cause_id, points, date(2026, 11, 4), quarter.ancestor_ids)])
    db.session.commit()


@pytest.fixture
def scored(make_campaign, make_unit, tree):
    """A running campaign of ward W1 whose quarters have points: Đông Hưng first, Q1 second."""
    campaign = make_campaign()
    east = make_unit("QDH", "quarter", tree["W1"], name="Khu phố Đông Hưng", adult_population=1_000)
    _give(campaign, east, 120, 1)
    _give(campaign, tree["Q1"], 80, 2)
    return campaign


def _shared_pages(client, campaign) -> dict[str, object]:
    """Each shared page as the one who opens it: a crawler for the board and for the login page a signed-out
    visitor of a campaign or report link lands on, a member for the campaign, a leader for the report."""
    pages = {
        "board": client.get(f"/campaigns/{campaign.slug}/leaderboard"),
        "campaign link, signed out": client.get(f"/campaigns/{campaign.slug}", follow_redirects=True),
        "report link, signed out": client.get(f"/campaigns/{campaign.slug}/reports/print", follow_redirects=True),
    }
    login(client, "member")
    pages["campaign"] = client.get(f"/campaigns/{campaign.slug}")
    client.post("/logout", data={"csrf_token": _csrf(client)})
    login(client, "leader1")
    pages["report"] = client.get(f"/campaigns/{campaign.slug}/reports/print")
    return pages


def _csrf(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)


def test_campaign_board_and_report_pages_carry_open_graph_tags_with_absolute_urls(app, client, scored):
    site = app.config["PUBLIC_URL"].rstrip("/")
    expected_url = {
        "board": f"{site}/campaigns/{scored.slug}/leaderboard",
        "campaign": f"{site}/campaigns/{scored.slug}",
        "campaign link, signed out": f"{site}/campaigns/{scored.slug}",
        "report": f"{site}/campaigns/{scored.slug}/reports/print",
        "report link, signed out": f"{site}/campaigns/{scored.slug}/reports/print",
    }
    for page, response in _shared_pages(client, scored).items():
        tags = _tags(response)
        assert tags["og:url"] == expected_url[page], page
        assert tags["og:type"] == "website" and tags["twitter:card"] == "summary_large_image", page
        assert scored.title in tags["og:title"], page
        assert tags["og:image"].startswith(f"{site}/campaigns/{scored.slug}/card.png?v="), page
        assert tags["twitter:image"] == tags["og:image"], page
        assert tags["og:description"].startswith("1. Khu phố Đông Hưng — 120 điểm · 2. Unit Q1 — 80 điểm"), page
    assert _tags(client.get(f"/campaigns/{scored.slug}/leaderboard"))["og:title"] == f"Bảng xếp hạng: {scored.title}"


def test_other_pages_carry_no_tags(client, scored):
    assert _tags(client.get("/login")) == {}
    assert _tags(client.get("/login?next=/healthz")) == {}
    assert _tags(client.get("/login?next=//evil.example/campaigns/x")) == {}


@pytest.mark.parametrize("kind", ["draft", "scheduled", "archived"], ids=["a draft", "not yet started", "archived"])
def test_a_campaign_whose_board_is_private_gets_no_tags_and_no_card(client, make_campaign, clock, people, kind):
    campaign = make_campaign(
        published=kind != "draft", starts=START + timedelta(days=10) if kind == "scheduled" else START
    )
    if kind == "archived":
        clock.advance(days=40)
        archive(people["leader1"], campaign, clock())
        db.session.commit()
    assert client.get(f"/campaigns/{campaign.slug}/card.png").status_code == 404
    assert _tags(client.get(f"/login?next=/campaigns/{campaign.slug}")) == {}
    login(client, "leader1")
    page = client.get(f"/campaigns/{campaign.slug}")
    assert _tags(page) == {} and "card.png" not in page.get_data(as_text=True)


def test_unknown_campaign_card_is_a_translated_404(client):
    response = client.get("/campaigns/no-such-campaign/card.png?lang=en")
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)


def test_the_card_is_a_small_png_of_the_size_the_tags_state(client, scored):
    tags = _tags(client.get(f"/campaigns/{scored.slug}/leaderboard"))
    response = client.get(tags["og:image"])
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.format == "PNG"
    assert image.size == (int(tags["og:image:width"]), int(tags["og:image:height"])) == (1200, 630)
    assert len(response.data) < 100_000
    assert "public" in response.headers["Cache-Control"] and "max-age" in response.headers["Cache-Control"]


def test_the_card_changes_when_the_standings_change_and_is_revalidated_by_its_etag(client, scored, tree):
    path = f"/campaigns/{scored.slug}/card.png"
    first = client.get(path)
    etag = first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag and again.data == b""
    assert client.get(path, headers={"If-None-Match": f"W/{etag}"}).status_code == 304  # as a proxy may send it

    _give(scored, tree["Q1"], 100, 3)  # Q1 overtakes Đông Hưng
    moved = client.get(path, headers={"If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["ETag"] != etag and moved.data != first.data
    assert _tags(client.get(f"/campaigns/{scored.slug}/leaderboard"))["og:description"].startswith(
        "1. Unit Q1 — 180 điểm"
    )


def test_the_card_follows_the_page_language(client, scored):
    tags = _tags(client.get(f"/campaigns/{scored.slug}/leaderboard?lang=en"))
    assert "language=en" in tags["og:image"]
    path = f"/campaigns/{scored.slug}/card.png"
    english, vietnamese = client.get(f"{path}?language=en"), client.get(path)
    assert english.headers["ETag"] != vietnamese.headers["ETag"] and english.data != vietnamese.data
    assert tags["og:description"].startswith("1. Khu phố Đông Hưng — 120 points")


def test_the_vendored_font_draws_every_vietnamese_letter():
    """DejaVu Sans ships in the repository (a CI machine may lack it) and has a glyph for each letter:
    a missing one would draw the same empty box as an unassigned code point."""
    assert FONT.is_file() and "static/fonts" in FONT.as_posix()
    font = ImageFont.truetype(str(FONT), 40, layout_engine=ImageFont.Layout.BASIC)
    box = bytes(font.getmask("\U000e0fff"))
    assert [letter for letter in VIETNAMESE if bytes(font.getmask(letter)) == box] == []
