"""The live quiz through HTTP: a host paces it, phones join and answer, the TV follows, the quarters
are credited once; refusals change nothing; a reload finds the same player."""

import re

import pytest
from sqlalchemy import func, select

from models import AuditEntry, LedgerEntry, Question, UnitScore, db
from models.live import LiveAnswer, LivePlayer, LiveSession
from quizzes.services import seed_question_bank
from screens.services import create_screen
from tests.conftest import csrf_from, csrf_token, login
from tests.sql_budget import counted_statements, request_statements

HX = {"HX-Request": "true"}


@pytest.fixture
def hall(people, tree, make_campaign):
    """A province-wide campaign (quarters Q1 and Q2) with a hall screen, and the question bank."""
    seed_question_bank()
    campaign = make_campaign(scope="DN", by="admin")
    screen = create_screen(people["admin"], campaign, None)
    db.session.commit()
    return campaign, screen


def _create(client, campaign, screen, count=3, **extra):
    form = {
        "screen": str(screen.id),
        "question_count": str(count),
        "seconds_per_question": "20",
        "tags": "",
        "hall_quarter": "",
    }
    form |= extra
    form["csrf_token"] = csrf_token(client, f"/campaigns/{campaign.slug}/live")
    return client.post(f"/campaigns/{campaign.slug}/live", data=form)


def _session() -> LiveSession:
    session = db.session.scalar(select(LiveSession).order_by(LiveSession.id.desc()))
    db.session.refresh(session)
    return session


def _step(client, session, step, version=None):
    page = client.get(f"/live/host/{session.id}").get_data(as_text=True)
    shown = version if version is not None else re.search(r'name="v" value="(\d+)"', page).group(1)
    return client.post(f"/live/host/{session.id}/{step}", data={"csrf_token": csrf_from(page), "v": shown})


def _join(app, session, quarter, name="", consent=False):
    phone = app.test_client()
    page = phone.get(f"/live/{session.join_code}").get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "quarter": str(quarter.id), "name": name}
    if consent:
        form["consent"] = "y"
    response = phone.post(f"/live/{session.join_code}", data=form)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/live/play/{session.id}")
    return phone


def _right_index(session) -> int:
    question = db.session.get(Question, session.question_ids[session.position])
    return next(index for index, choice in enumerate(question.choices) if choice.is_correct)


def _answer(phone, session, choice, position=None, headers=None):
    page = phone.get(f"/live/play/{session.id}").get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "position": str(session.position if position is None else position)}
    data["choice"] = str(choice)
    return phone.post(f"/live/play/{session.id}/answer", data=data, headers=headers or {})


def _lobby(client, hall, count=2, **extra):
    """The host signed in and a session of `count` questions in its lobby."""
    campaign, screen = hall
    login(client, "admin")
    _create(client, campaign, screen, count=count, **extra)
    return _session()


def open_first_question(app, client, hall, quarter):
    """The host signed in, a one-question session started, and one phone of `quarter` in it."""
    phone = _join(app, _lobby(client, hall, count=1), quarter)
    _step(client, _session(), "start")
    return _session(), phone


def _answers() -> int:
    return db.session.scalar(select(func.count()).select_from(LiveAnswer))


def test_a_host_runs_a_session_the_tv_follows_and_the_quarters_are_credited_once(app, client, hall, tree):
    campaign, screen = hall
    login(client, "admin")
    assert _create(client, campaign, screen, count=2).status_code == 303
    session = _session()
    tv = app.test_client()
    lobby = tv.get(f"/screen/{screen.token}/live").get_data(as_text=True)
    assert f'data-code="{session.join_code}"' in lobby and "<svg" in lobby

    alice = _join(app, session, tree["Q1"], name="Chị Lan", consent=True)
    bob = _join(app, session, tree["Q1"], name="Anh Bình")  # no consent: the name is not kept
    carol = _join(app, session, tree["Q2"])
    count = tv.get(f"/screen/{screen.token}/live/count").get_data(as_text=True)
    assert "3 người chơi" in count and "Chị Lan" in count and "Bình" not in count
    assert db.session.scalar(select(LivePlayer.display_name).where(LivePlayer.display_name != "")) == "Chị Lan"

    for question in range(2):
        assert _step(client, session, "start" if question == 0 else "next").status_code == 303
        session = _session()
        shown = tv.get(f"/screen/{screen.token}/live").get_data(as_text=True)
        assert db.session.get(Question, session.question_ids[question]).text_vi in shown and "data-countdown" in shown
        right = _right_index(session)
        assert _answer(alice, session, right).status_code == 303
        assert _answer(bob, session, right).status_code == 303
        choices = len(db.session.get(Question, session.question_ids[question]).choices)  # some have two
        assert _answer(carol, session, (right + 1) % choices).status_code == 303
        assert "Bạn đã chọn" in alice.get(f"/live/play/{session.id}").get_data(as_text=True)
        _step(client, session, "reveal")
        revealed = tv.get(f"/screen/{screen.token}/live").get_data(as_text=True)
        assert '<span class="live-count">2 ✓</span>' in revealed and '<span class="live-count">1</span>' in revealed
        assert "Đúng rồi!" in alice.get(f"/live/play/{session.id}").get_data(as_text=True)
        _step(client, session, "standings")
    standings = tv.get(f"/screen/{screen.token}/live").get_data(as_text=True)
    assert standings.index("Unit Q1") < standings.index("Unit Q2")

    assert _step(client, session, "end").status_code == 303
    podium = tv.get(f"/screen/{screen.token}/live").get_data(as_text=True)
    assert 'class="podium-1"' in podium and "Unit Q1" in podium
    credited = db.session.scalars(select(LedgerEntry).where(LedgerEntry.cause_type == "live_quiz")).all()
    assert sorted(entry.points for entry in credited) == [4]
    q1 = db.session.scalar(select(UnitScore).where(UnitScore.unit_id == tree["Q1"].id))
    assert q1.points == 4
    board = client.get(f"/api/v1/campaigns/{campaign.slug}/leaderboard?level=quarter&metric=points").get_json()
    assert (board[0]["unit_code"], board[0]["points"]) == ("Q1", 4)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "live.end")).after["credited"] == {"Q1": 4}
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "live.step")) == 6


def test_ending_twice_credits_once(client, hall, tree, app):
    session, phone = open_first_question(app, client, hall, tree["Q2"])
    _answer(phone, session, _right_index(session))
    page = client.get(f"/live/host/{session.id}").get_data(as_text=True)
    version = re.search(r'name="v" value="(\d+)"', page).group(1)
    data = {"csrf_token": csrf_from(page), "v": version}
    assert client.post(f"/live/host/{session.id}/end", data=data).status_code == 303
    again = client.post(f"/live/host/{session.id}/end", data=data, follow_redirects=True)
    assert "Phiên đã chuyển sang bước khác" in again.get_data(as_text=True)
    data["v"] = str(_session().version)  # another tab that saw the end
    once_more = client.post(f"/live/host/{session.id}/end", data=data, follow_redirects=True)
    assert "Bước này không thực hiện được lúc này." in once_more.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).where(LedgerEntry.cause_type == "live_quiz")) == 1
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "live.end")) == 1


def test_a_double_tap_moves_the_session_once(client, hall, app):
    session = _lobby(client, hall, count=3)
    _step(client, session, "start")
    session = _session()
    _step(client, session, "reveal")
    page = client.get(f"/live/host/{session.id}").get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "v": re.search(r'name="v" value="(\d+)"', page).group(1)}
    client.post(f"/live/host/{session.id}/next", data=data)
    stale = client.post(f"/live/host/{session.id}/next", data=data, follow_redirects=True)
    assert "Phiên đã chuyển sang bước khác" in stale.get_data(as_text=True)
    assert _session().position == 1


def test_answering_twice_late_or_closed_is_refused_and_changes_nothing(app, client, hall, tree, clock):
    session = _lobby(client, hall)
    phone = _join(app, session, tree["Q1"])
    slow = _join(app, session, tree["Q2"])
    closed = _join(app, session, tree["Q2"])
    _step(client, session, "start")
    session = _session()
    _answer(phone, session, 0)
    twice = _answer(phone, session, 1, headers=HX)
    assert twice.status_code == 422 and "chỉ câu trả lời đầu tiên được tính" in twice.get_data(as_text=True)
    flashed = _answer(phone, session, 1, headers={})
    assert "chỉ câu trả lời đầu tiên được tính" in phone.get(flashed.headers["Location"]).get_data(as_text=True)
    first_choice = db.session.get(Question, session.question_ids[0]).choices[0]
    assert _answers() == 1 and db.session.scalar(select(LiveAnswer)).choice_id == first_choice.id

    clock.advance(seconds=21)
    late = _answer(slow, session, 0, headers=HX)
    assert late.status_code == 422 and "Đã hết giờ" in late.get_data(as_text=True)
    _step(client, session, "reveal")
    refused = _answer(closed, session, 0, headers=HX)
    assert refused.status_code == 422 and "Câu hỏi này đã đóng" in refused.get_data(as_text=True)
    wrong_question = _answer(closed, session, 0, position=1, headers=HX)
    assert wrong_question.status_code == 422
    out_of_range = _answer(slow, session, 9, headers=HX)
    assert out_of_range.status_code == 422
    assert _answers() == 1


def test_a_reload_or_a_closed_tab_rejoins_the_same_player(app, client, hall, tree):
    session = _lobby(client, hall)
    phone = _join(app, session, tree["Q1"])
    back = phone.get(f"/live/{session.join_code}")  # the QR scanned again, or the tab reopened
    assert back.status_code == 303 and back.headers["Location"].endswith(f"/live/play/{session.id}")
    _step(client, session, "start")
    session = _session()
    _answer(phone, session, 1)  # every question in the bank has at least two choices
    page = phone.get(f"/live/play/{session.id}").get_data(as_text=True)
    assert "Bạn đã chọn B" in page
    assert db.session.scalar(select(func.count()).select_from(LivePlayer)) == 1
    stranger = app.test_client()  # no cookie: another phone, sent to join
    assert stranger.get(f"/live/play/{session.id}").headers["Location"].endswith(f"/live/{session.join_code}")


def test_polls_answer_204_in_one_statement_until_the_host_moves_on(app, client, hall, tree):
    screen = hall[1]
    session = _lobby(client, hall)
    phone = _join(app, session, tree["Q1"])
    tv = app.test_client()
    response, statements = request_statements(phone, "GET", f"/live/play/{session.id}?v={session.version}", headers=HX)
    assert response.status_code == 204 and len(statements) == 1
    first = tv.get(f"/screen/{screen.token}/version?v=0&t=0&c=&l=").headers["HX-Trigger"]
    assert "live-changed" in first
    live_state = f"{session.id}-{session.version}"
    unchanged = tv.get(f"/screen/{screen.token}/version?v=0&t=9999999999&c=&l={live_state}")
    assert "live-changed" not in unchanged.headers.get("HX-Trigger", "")
    lobby_version = session.version
    _step(client, session, "start")
    moved = phone.get(f"/live/play/{session.id}?v={lobby_version}", headers=HX)
    assert moved.status_code == 200 and 'name="choice"' in moved.get_data(as_text=True)
    polled = tv.get(f"/screen/{screen.token}/version?v=0&t=9999999999&c=&l={live_state}")
    assert "live-changed" in polled.headers["HX-Trigger"]


def test_after_a_step_each_phone_costs_three_statements_once_the_question_is_read(app, client, hall, tree):
    """At a step all 500 phones fetch the new fragment within a second: the question, its counts and the
    standings are read once per version in a worker, each phone then pays for its own line only."""
    session = _lobby(client, hall, count=2)
    phones = [_join(app, session, tree["Q1" if index % 2 else "Q2"]) for index in range(3)]
    for step in ("start", "reveal", "standings"):
        shown_version = _session().version
        _step(client, session, step)
        session = _session()
        first, _ = request_statements(phones[0], "GET", f"/live/play/{session.id}?v={shown_version}", headers=HX)
        # Every second while the next question is awaited; every 2 s while phones answer.
        interval = "every 2s" if step == "start" else "every 1s"
        assert first.status_code == 200 and f'hx-trigger="{interval}"' in first.get_data(as_text=True)
        if step == "start":
            _answer(phones[1], session, _right_index(session))
        response, statements = request_statements(
            phones[1], "GET", f"/live/play/{session.id}?v={shown_version}", headers=HX
        )
        page = response.get_data(as_text=True)
        # The version polled, the session, the player: the question, counts and standings were read already.
        assert response.status_code == 200 and len(statements) == 3, statements
        # The right answer counts once revealed, not while the question is open: no hint for the neighbours.
        assert "Unit Q1" in page and ("1 câu đúng" in page) == (step != "start"), page
    assert "Bạn đã chọn" not in phones[2].get(f"/live/play/{session.id}").get_data(as_text=True)
    assert re.search(r'class="mine".*Unit Q1\s*<b>1</b>', page, re.S), page  # phone 1 is of Q1


def test_a_wrong_code_is_refused_with_a_message(client, hall):
    refused = client.get("/live?code=000000")
    assert refused.status_code == 422
    assert "Không có phiên đố vui nào đang mở với mã này" in refused.get_data(as_text=True)
    assert client.get("/live/abc").status_code == 404
    assert client.get("/live?code=12").status_code == 422


def test_the_code_form_leads_to_the_join_page_with_the_hall_quarter_preset(app, client, hall, tree):
    screen = hall[1]
    session = _lobby(client, hall, count=1, hall_quarter=str(tree["Q2"].id))
    phone = app.test_client()
    found = phone.get(f"/live?code={session.join_code[:3]} {session.join_code[3:]}")
    assert found.headers["Location"].endswith(f"/live/{session.join_code}")
    tv = app.test_client().get(f"/screen/{screen.token}/live").get_data(as_text=True)
    assert "<svg" in tv
    page = phone.get(f"/live/{session.join_code}?q={tree['Q2'].id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{tree["Q2"].id}">|<option value="{tree["Q2"].id}" selected>', page)


def test_an_ended_session_takes_no_players(app, client, hall, tree):
    session = _lobby(client, hall, count=1)
    code = session.join_code
    _step(client, session, "end")
    assert app.test_client().get(f"/live/{code}").status_code == 404
    assert db.session.scalar(select(func.count()).where(LedgerEntry.cause_type == "live_quiz")) == 0


def test_leaders_host_only_campaigns_they_manage(app, client, people, tree, make_campaign):
    seed_question_bank()
    campaign = make_campaign(scope="W1")
    screen = create_screen(people["leader1"], campaign, None)
    db.session.commit()
    login(client, "leader1")
    assert _create(client, campaign, screen, count=1).status_code == 303
    session = _session()
    other = app.test_client()
    login(other, "leader2")
    assert other.get(f"/campaigns/{campaign.slug}/live").status_code == 403
    assert other.get(f"/live/host/{session.id}").status_code == 403
    token = csrf_token(other, "/")
    assert other.post(f"/live/host/{session.id}/start", data={"csrf_token": token, "v": "1"}).status_code == 403
    member = app.test_client()
    login(member, "member")
    assert member.get(f"/campaigns/{campaign.slug}/live").status_code == 403
    team = app.test_client()
    login(team, "teamlead")  # a team inside the campaign's ward
    assert team.get(f"/live/host/{session.id}").status_code == 200
    assert _session().phase == "lobby"
    assert app.test_client().get(f"/live/host/{session.id}").status_code == 302


def test_host_steps_need_the_csrf_token(client, hall):
    campaign, screen = hall
    session = _lobby(client, hall, count=1)
    assert client.post(f"/live/host/{session.id}/start", data={"v": str(session.version)}).status_code == 400
    assert _session().phase == "lobby"
    no_token = client.post(f"/campaigns/{campaign.slug}/live", data={"screen": str(screen.id), "question_count": "1"})
    assert no_token.status_code in (400, 422)
    assert db.session.scalar(select(func.count()).select_from(LiveSession)) == 1


def test_bad_session_settings_are_refused_with_messages(client, hall, people, make_campaign):
    campaign, screen = hall
    login(client, "admin")
    refused = _create(client, campaign, screen, count=99)
    assert refused.status_code == 422
    too_many = _create(client, campaign, screen, count=30, tags="không-có-nhãn-này")
    assert "Chỉ có 0 câu hỏi phù hợp" in too_many.get_data(as_text=True)
    _create(client, campaign, screen, count=1)
    busy = _create(client, campaign, screen, count=1)
    assert busy.status_code == 422 and "Màn hình này đang có một phiên đố vui" in busy.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(LiveSession)) == 1


def test_pages_in_english(app, client, hall, tree):
    campaign, screen = hall
    session = _lobby(client, hall, count=1)
    assert "Live quiz" in client.get(f"/campaigns/{campaign.slug}/live?lang=en").get_data(as_text=True)
    phone = app.test_client()
    join = phone.get(f"/live/{session.join_code}?lang=en").get_data(as_text=True)
    assert "Join" in join and "Your quarter" in join
    tv = app.test_client().get(f"/screen/{screen.token}/live?lang=en").get_data(as_text=True)
    assert "Live quiz" in tv


def test_no_get_of_the_live_quiz_writes(app, client, hall, tree):
    session, phone = open_first_question(app, client, hall, tree["Q1"])
    screen = hall[1]
    db.session.commit()
    paths = [
        (phone, f"/live/{session.join_code}"),
        (phone, f"/live/play/{session.id}"),
        (phone, f"/live/play/{session.id}?v=0"),
        (phone, f"/live?code={session.join_code}"),
        (client, f"/live/host/{session.id}"),
        (client, f"/campaigns/{hall[0].slug}/live"),
        (app.test_client(), f"/screen/{screen.token}/live"),
        (app.test_client(), f"/screen/{screen.token}/live/count"),
        (app.test_client(), f"/screen/{screen.token}/version?l="),
    ]
    with counted_statements(db.engine) as statements:
        for who, path in paths:
            assert who.get(path).status_code in (200, 204, 302, 303), path
    assert statements and not [text for text in statements if re.match(r"\s*(INSERT|UPDATE|DELETE)", text)]


def test_guessing_join_codes_is_throttled(client, hall):
    for _ in range(30):
        assert client.get("/live?code=000000").status_code == 422
    assert client.get("/live?code=000001").status_code == 429


def test_speed_counts_only_when_the_host_switches_it_on(app, client, hall, tree, clock):
    campaign, screen = hall
    login(client, "admin")
    _create(client, campaign, screen, count=2, speed_bonus="y")
    session = _session()
    quick, slow = _join(app, session, tree["Q1"]), _join(app, session, tree["Q2"])
    _step(client, session, "start")
    session = _session()
    _answer(quick, session, _right_index(session))
    clock.advance(seconds=10)  # past a third of the 20 seconds
    _answer(slow, session, _right_index(session))
    assert sorted(db.session.scalars(select(LiveAnswer.points))) == [1, 2]
    assert "0 điểm" in quick.get(f"/live/play/{session.id}").get_data(as_text=True)  # until the answers show
    _step(client, session, "reveal")
    assert "2 điểm" in quick.get(f"/live/play/{session.id}").get_data(as_text=True)
