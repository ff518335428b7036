import re
from datetime import date

from sqlalchemy import select

from models import ScreenLink, db
from scoring import Award, award_many, scores_version
from screens.services import BOARD_REFRESH_SECONDS, create_screen, default_boards
from tests.conftest import csrf_token, login
from tests.sql_budget import request_statements


def _screen(people, make_campaign):
    campaign = make_campaign()
    screen = create_screen(people["leader1"], campaign, None)
    db.session.commit()
    return campaign, screen


def _version(page: str) -> str:
    return re.search(r'data-version="(\d+)"', page).group(1)


def test_leader_creates_and_revokes_a_screen_link(client, people, make_campaign):
    campaign = make_campaign()
    login(client, "leader1")
    token = csrf_token(client, f"/campaigns/{campaign.slug}/screens")
    client.post(f"/campaigns/{campaign.slug}/screens", data={"csrf_token": token, "quiz": ""})
    screen = db.session.scalar(select(ScreenLink))
    assert len(screen.token) >= 40
    stranger = client.application.test_client()
    assert stranger.get(f"/screen/{screen.token}").status_code == 200
    client.post(f"/screens/{screen.id}/revoke", data={"csrf_token": token})
    disabled = stranger.get(f"/screen/{screen.token}")
    assert disabled.status_code == 410 and "Màn hình đã tắt" in disabled.get_data(as_text=True)
    polled = stranger.get(f"/screen/{screen.token}/version?v=0")
    assert polled.headers["HX-Refresh"] == "true"
    other = client.application.test_client()
    login(other, "leader2")
    assert other.get(f"/campaigns/{campaign.slug}/screens").status_code == 403


def test_screen_shows_rankings_without_login(client, people, tree, make_campaign):
    campaign, screen = _screen(people, make_campaign)
    award_many([Award(campaign.id, "correction", 0, 30, date(2026, 11, 5), tree["Q1"].ancestor_ids)])
    db.session.commit()
    page = client.get(f"/screen/{screen.token}").get_data(as_text=True)
    assert "Unit W1" in page and "Phường/xã · Tỷ lệ chỉ tiêu" in page
    assert client.get("/screen/not-a-token").status_code == 404


def test_version_answers_204_until_scores_change(client, people, tree, make_campaign):
    campaign, screen = _screen(people, make_campaign)
    version = _version(client.get(f"/screen/{screen.token}").get_data(as_text=True))
    assert client.get(f"/screen/{screen.token}/version?v={version}").status_code == 204
    award_many([Award(campaign.id, "correction", 0, 5, date(2026, 11, 5), tree["Q1"].ancestor_ids)])
    db.session.commit()
    changed = client.get(f"/screen/{screen.token}/version?v={version}")
    assert changed.status_code == 200 and changed.headers["HX-Trigger"] == "scores-changed"
    assert _version(changed.get_data(as_text=True)) != version


def _poll_url(page: str) -> str:
    return re.search(r'hx-get="(/screen/[^"]+/version\?[^"]+)"', page).group(1).replace("&amp;", "&")


def test_an_unchanged_poll_is_one_indexed_statement(client, people, make_campaign):
    """Every TV asks every 2 s: the screen by its unique token, joined to its campaign's version by key."""
    _campaign, screen = _screen(people, make_campaign)
    poll = _poll_url(client.get(f"/screen/{screen.token}").get_data(as_text=True))
    response, statements = request_statements(client, "GET", poll)
    assert response.status_code == 204
    assert len(statements) == 1
    assert "FROM screen_link JOIN score_version ON score_version.campaign_id = screen_link.campaign_id" in statements[0]


def _award(campaign, tree, points=5):
    award_many([Award(campaign.id, "correction", 0, points, date(2026, 11, 5), tree["Q1"].ancestor_ids)])
    db.session.commit()


def test_a_tv_redraws_its_board_at_most_every_few_seconds_however_fast_scores_move(
    client, people, tree, make_campaign, clock
):
    campaign, screen = _screen(people, make_campaign)
    poll = _poll_url(client.get(f"/screen/{screen.token}").get_data(as_text=True))
    for _second in range(BOARD_REFRESH_SECONDS - 1):  # a quiz answer every second
        clock.advance(seconds=1)
        _award(campaign, tree)
        assert client.get(poll).status_code == 204
    clock.advance(seconds=1)
    changed = client.get(poll)
    assert changed.status_code == 200 and changed.headers["HX-Trigger"] == "scores-changed"
    page = changed.get_data(as_text=True)
    assert _version(page) == str(scores_version(campaign.id))
    poll = _poll_url(page)
    _award(campaign, tree)
    assert client.get(poll).status_code == 204  # the next change waits its turn...
    clock.advance(seconds=BOARD_REFRESH_SECONDS)
    assert client.get(poll).headers["HX-Trigger"] == "scores-changed"  # ...and is not lost


def test_a_poll_with_a_broken_missing_or_future_stamp_redraws(client, people, make_campaign):
    _campaign, screen = _screen(people, make_campaign)
    for query in ("", "?v=abc&t=zz", "?v=-1", f"?v={'9' * 40}&t=1", f"?v=999999&t={10**12}"):
        polled = client.get(f"/screen/{screen.token}/version{query}")
        assert polled.status_code == 200 and polled.headers["HX-Trigger"] == "scores-changed", query


def test_boards_rotate_through_every_level(client, people, make_campaign):
    campaign, screen = _screen(people, make_campaign)
    assert [board["level"] for board in default_boards(campaign)] == [
        "ward",
        "quarter",
        "youth_union",
        "team",
        "quarter",
    ]
    headings = [
        re.search(
            r"<h2>(.*?)</h2>", client.get(f"/screen/{screen.token}/board?i={index}").get_data(as_text=True)
        ).group(1)
        for index in range(6)
    ]
    assert headings[0] == headings[5]  # wraps around
    assert "Chi đoàn" in headings[2] and "Hôm nay" in headings[4]


def test_new_badges_run_in_the_ticker(client, people, make_campaign, clock):
    from badges.services import award_top_three

    campaign, screen = _screen(people, make_campaign)
    award_top_three(campaign, {"member": [{"rank": 1, "member_id": people["member"].id, "points": 3}]}, clock())
    db.session.commit()
    page = client.get(f"/screen/{screen.token}").get_data(as_text=True)
    assert "★ Top 3 chiến dịch — M · Unit Q1" in page  # initials until the member agrees
    people["member"].public_name_consent = True
    db.session.commit()
    page = client.get(f"/screen/{screen.token}").get_data(as_text=True)
    assert "★ Top 3 chiến dịch — Member · Unit Q1" in page
