"""What a TV costs the server: its page and board in a few statements whatever the badges on the ticker,
the ticker read down an index, the open session looked up once, the quiz link's QR drawn once."""

import itertools
from datetime import timedelta

import pytest

from badges.services import recent_badges
from models import BadgeAward, User, db
from quizzes.services import QuizFields, create_quiz, seed_question_bank
from screens import views as screen_views
from screens.services import create_screen
from tests.conftest import START
from tests.sql_budget import query_plans, read_down_index, request_statements

TV_PAGE_BUDGET = 5
TV_BOARD_BUDGET = 3
_SUBJECTS = itertools.count()


@pytest.fixture
def screen(people, tree, make_campaign):
    seed_question_bank()
    campaign = make_campaign()
    quiz = create_quiz(
        people["leader1"],
        QuizFields("An toàn mạng", tree["W1"], campaign, 5, 180, 2, START, START + timedelta(days=30)),
    )
    screen = create_screen(people["leader1"], campaign, quiz)
    db.session.commit()
    return screen


def _badges(screen, members: list[User], count: int) -> None:
    """`count` badges of the screen's campaign, each for another of `members` and their home quarter."""
    for n in range(count):
        member = members[n % len(members)]
        subject = f"member:{next(_SUBJECTS)}"
        db.session.add(
            BadgeAward(
                campaign_id=screen.campaign_id,
                kind="first_contribution",
                subject=subject,
                member_id=member.id,
                unit_id=member.home_unit_id,
                awarded_at=START + timedelta(minutes=n),
            )
        )
    db.session.commit()


def _members(make_user, tree, count: int) -> list[User]:
    return [make_user(f"ticker{n}", "member", tree["Q1"]) for n in range(count)]


@pytest.mark.parametrize("path, budget", [("", TV_PAGE_BUDGET), ("/board?i=1", TV_BOARD_BUDGET)])
def test_a_tv_costs_the_same_few_statements_for_one_badge_or_eight(client, screen, make_user, tree, path, budget):
    members = _members(make_user, tree, 8)
    _badges(screen, members[:1], 1)
    client.get(f"/screen/{screen.token}{path}")  # the board cached: both requests below reuse it
    one = request_statements(client, "GET", f"/screen/{screen.token}{path}")
    _badges(screen, members, 7)
    response, eight = request_statements(client, "GET", f"/screen/{screen.token}{path}")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert all(member.display_name.split()[0][0] in page for member in members)
    assert len(eight) == len(one[1]) <= budget, "\n".join(eight)


def test_the_tv_page_looks_up_the_open_session_once(client, screen):
    _response, statements = request_statements(client, "GET", f"/screen/{screen.token}")
    assert sum("FROM event_session" in statement for statement in statements) == 1, "\n".join(statements)


def test_the_quiz_qr_is_drawn_once_per_link(client, screen, monkeypatch):
    drawn = []
    real_make = screen_views.segno.make
    monkeypatch.setattr(
        screen_views.segno, "make", lambda *args, **kwargs: drawn.append(args) or real_make(*args, **kwargs)
    )
    first = client.get(f"/screen/{screen.token}").get_data(as_text=True)
    second = client.get(f"/screen/{screen.token}").get_data(as_text=True)
    assert len(drawn) <= 1 and "<svg" in first and first.count("<svg") == second.count("<svg")


def test_the_ticker_reads_the_latest_badges_down_an_index(screen, make_user, tree):
    _badges(screen, _members(make_user, tree, 2), 3)
    campaign = screen.campaign
    [(_statement, plan)] = query_plans(lambda: recent_badges(campaign))
    assert read_down_index(plan, "ix_badge_award_campaign_latest"), plan
