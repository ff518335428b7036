"""The board as people read it: quarters that share a name carry their ward, one heading per metric,
the viewer's own units marked (in words, not colour alone), her ward one tab away, and her row shown
after the top rows when they do not reach it, at its true rank."""

import re

import pytest

from models import db
from scoring import Award, award_many
from screens.services import create_screen
from tests.conftest import login
from tests.leaderboards.test_boards import _give


@pytest.fixture
def province(make_campaign, make_unit, tree):
    """A province campaign where W1 and W2 each have a "Khu phố 5"; the member's Q1 has 1 point and
    four quarters have more, so a top 3 does not reach it."""
    campaign = make_campaign(scope="DN", by="admin")
    fives = [make_unit(f"K5{ward}", "quarter", tree[ward], adult_population=1_000) for ward in ("W1", "W2")]
    for quarter in fives:
        quarter.name = "Khu phố 5"
    db.session.commit()
    for unit, points in (
        (fives[0], 50),
        (fives[1], 40),
        (tree["Q2"], 30),
        (make_unit("QX", "quarter", tree["W2"]), 30),
    ):
        _give(campaign, unit, points=points, outcome=points)
    _give(campaign, tree["Q1"], points=1, outcome=1)
    return campaign


def _page(client, campaign, **params) -> str:
    response = client.get(f"/campaigns/{campaign.slug}/leaderboard", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def _headings(html: str) -> list[str]:
    head = html.split("<thead>")[1].split("</thead>")[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]


def _rows(html: str) -> list[str]:
    """Each body row (after the first <tbody>, if any) as its text, tags removed and spaces folded."""
    body = html.split("<tbody", 1)[-1]
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def test_quarters_sharing_a_name_show_their_ward_on_the_page_the_api_and_the_tv(client, province, people):
    rows = _rows(_page(client, province, level="quarter"))
    assert rows[0].startswith("1 Khu phố 5 · Unit W1") and rows[1].startswith("2 Khu phố 5 · Unit W2")
    api = client.get(f"/api/v1/campaigns/{province.slug}/leaderboard?level=quarter").get_json()
    assert [(row["name"], row["ward"]) for row in api[:2]] == [("Khu phố 5", "Unit W1"), ("Khu phố 5", "Unit W2")]
    screen = create_screen(people["admin"], province, None)
    screen.boards = [{"level": "quarter", "metric": "points", "period": "all"}]
    db.session.commit()
    tv = client.get(f"/screen/{screen.token}/board?i=0").get_data(as_text=True)
    assert (
        '<span class="name">Khu phố 5 · Unit W1</span>' in tv and '<span class="name">Khu phố 5 · Unit W2</span>' in tv
    )


def test_a_team_of_a_quarter_and_a_youth_union_of_an_agency_show_the_ward_above_them(client, province, make_unit, tree):
    """The ward is a team's grandparent when the team belongs to a quarter, and a youth union's when it
    belongs to an agency of the ward; a team of the province itself is in no ward."""
    team = make_unit("T-K5", "team", tree["Q2"], member_count=5)
    agency = make_unit("AG", "agency", tree["W2"])
    union = make_unit("YU-AG", "youth_union", agency, member_count=5)
    loose = make_unit("T-DN", "team", tree["DN"], member_count=5)
    for unit, points in ((team, 9), (union, 8), (loose, 7)):
        _give(province, unit, points=points, outcome=points)
    for level, expected in (
        ("team", [("Unit T-K5", "Unit W2"), ("Unit T-DN", None)]),
        ("youth_union", [("Unit YU-AG", "Unit W2")]),
    ):
        rows = client.get(f"/api/v1/campaigns/{province.slug}/leaderboard?level={level}").get_json()
        assert [(row["name"], row["ward"]) for row in rows if row["points"]] == expected, level


def test_boards_inside_one_ward_and_boards_of_wards_name_no_ward(client, make_campaign, province):
    ward_campaign = make_campaign()
    for campaign, level in ((ward_campaign, "quarter"), (province, "ward")):
        rows = client.get(f"/api/v1/campaigns/{campaign.slug}/leaderboard?level={level}").get_json()
        assert rows and all(row["ward"] is None for row in rows), (campaign.slug, level)
    assert 'class="ward"' not in _page(client, province, level="quarter", within="W1")


@pytest.mark.parametrize(
    "level, metric, heading",
    [
        ("quarter", "points", "Điểm"),
        ("quarter", "per_capita", "Điểm / 1.000 người"),
        ("team", "per_capita", "Điểm / thành viên"),
        ("quarter", "target", "Phần trăm chỉ tiêu"),
    ],
)
def test_each_metric_has_one_clear_heading(client, province, level, metric, heading):
    headings = _headings(_page(client, province, level=level, metric=metric))
    assert headings[2] == heading and headings[-1] == "So với hôm qua"
    assert "Giá trị" not in headings
    assert len(headings) == len(set(headings))
    assert ("Tổng điểm" in headings) == (metric != "points")


def test_the_viewers_own_units_are_marked_in_words(client, province, people):
    assert "của bạn" not in _page(client, province, level="quarter")
    login(client, "member")
    for level, own in (("quarter", "Unit Q1"), ("ward", "Unit W1"), ("youth_union", "Unit Y1")):
        html = _page(client, province, level=level, limit=50)
        marked = re.findall(r'<tr class="mine"[^>]*aria-current="true">(.*?)</tr>', html, re.S)
        assert len(marked) == 1 and own in marked[0] and "của bạn" in marked[0], level


def test_a_ward_leader_sees_the_quarters_she_leads_marked(client, province):
    login(client, "leader1")
    rows = _rows(_page(client, province, level="quarter"))
    led = [row for row in rows if "bạn phụ trách" in row]
    assert led and all("Unit W1" in row for row in led)
    assert not any("Unit W2" in row and "bạn phụ trách" in row for row in rows)


def test_my_ward_is_one_tab_away_for_signed_in_people(client, province, make_campaign):
    assert "Phường của tôi" not in _page(client, province)
    login(client, "member")
    html = _page(client, province, level="team", metric="points")
    tab = re.search(r'<a href="([^"]+)">Phường của tôi: Unit W1</a>', html)
    assert tab and "within=W1" in tab.group(1) and "level=team" in tab.group(1)
    inside = _page(client, province, level="quarter", within="W1")
    assert re.search(r'aria-current="page">Phường của tôi: Unit W1</a>', inside)
    assert "Unit W2" not in "".join(_rows(inside))
    assert "Phường của tôi" not in _page(client, make_campaign())  # a ward's own campaign: the same board


@pytest.mark.parametrize("metric", ["points", "per_capita", "target"])
def test_my_row_follows_a_top_that_does_not_reach_it_at_its_true_rank(client, province, metric):
    login(client, "member")
    everyone = client.get(f"/api/v1/campaigns/{province.slug}/leaderboard?level=quarter&metric={metric}").get_json()
    true_rank = next(row["rank"] for row in everyone if row["unit_code"] == "Q1")
    html = _page(client, province, level="quarter", metric=metric, limit=3)
    assert 'href="#my-position"' in html
    top, mine = html.split('<tbody class="my-standing">')
    assert "Unit Q1" not in top
    gap, row = _rows(mine)
    assert gap.endswith("Vị trí của bạn")
    assert row.startswith(f"{true_rank} Unit Q1") and "của bạn" in row and true_rank > 3


def test_no_extra_row_when_my_unit_is_shown_or_i_am_not_signed_in(client, province):
    assert "my-standing" not in _page(client, province, level="quarter", limit=3)
    login(client, "member")
    html = _page(client, province, level="quarter", limit=50)
    assert "my-standing" not in html and 'id="my-position"' in html


def test_my_member_row_follows_the_top_members(client, province, people, make_user, tree):
    day = province.starts_at.date()
    top = [make_user(f"top{number}", "member", tree["Q2"]) for number in range(3)]
    awards = [Award(province.id, "correction", 0, 100, day, tree["Q2"].ancestor_ids, member_id=user.id) for user in top]
    awards.append(Award(province.id, "correction", 0, 2, day, tree["Q1"].ancestor_ids, member_id=people["member"].id))
    award_many(awards)
    db.session.commit()
    login(client, "member")
    html = _page(client, province, level="member", limit=2)
    assert _headings(html) == ["#", "Tên", "Điểm", "So với hôm qua"]
    _top, mine = html.split('<tbody class="my-standing">')
    assert _rows(mine)[1].startswith("4 M · Unit Q1")
