"""Event sessions on a screen: opened and closed by the campaign's runners, a code that rotates every
minute on the TV, and the code's window (this minute and the last) for quiz credit."""

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
import segno
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from domain.refusals import Refused
from models import AuditEntry, EventSession, db
from quizzes.events import close_event, current_code, event_for_code, open_event, open_event_for
from quizzes.services import QuizFields, create_quiz, seed_question_bank
from scoring import Award, award_many
from screens.services import BOARD_REFRESH_SECONDS, create_screen
from tests.conftest import START, csrf_token, login
from tests.sql_budget import request_statements

CODE = re.compile(r'data-code="(\d{6})"')


@pytest.fixture
def quiz(people, tree, make_campaign, clock):
    seed_question_bank()
    campaign = make_campaign(template="digital_signature")
    quiz = create_quiz(
        people["leader1"],
        QuizFields("An toàn mạng", tree["W1"], campaign, 5, 180, 2, START, START + timedelta(days=30)),
    )
    db.session.commit()
    return quiz


@pytest.fixture
def screen(people, quiz):
    screen = create_screen(people["leader1"], quiz.campaign, quiz)
    db.session.commit()
    return screen


def _open(client, screen, minutes="30"):
    token = csrf_token(client, f"/campaigns/{screen.campaign.slug}/screens")
    return client.post(
        f"/screens/{screen.id}/event", data={"csrf_token": token, "minutes": minutes}, follow_redirects=True
    )


def _close(client, screen, event):
    token = csrf_token(client, f"/campaigns/{screen.campaign.slug}/screens")
    return client.post(f"/events/{event.id}/close", data={"csrf_token": token}, follow_redirects=True)


def _counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(EventSession)),
        db.session.scalar(select(func.count()).select_from(AuditEntry)),
    )


def _fixed(event: EventSession) -> EventSession:
    """A known key, so that two minutes' codes are known to differ (a random pair could collide)."""
    event.secret = "k" * 64
    db.session.commit()
    return event


def _qr(link: str) -> str:
    return segno.make(link, error="m").svg_inline(scale=6, omitsize=True)


def test_leader_opens_and_closes_an_event_session_with_audit(client, people, tree, screen, clock):
    login(client, "leader1")
    page = client.get(f"/campaigns/{screen.campaign.slug}/screens").get_data(as_text=True)
    assert "Bắt đầu phiên sự kiện" in page and "Phiên sự kiện đang mở" not in page

    opened = _open(client, screen, " 30 ").get_data(as_text=True)
    assert "Đã mở phiên sự kiện đến 10:30" in opened  # Thursday 10:00 in Vietnam, plus 30 minutes
    assert "Phiên sự kiện đang mở" in opened and "đến 10:30 05/11/2026" in opened
    assert "Kết thúc phiên sự kiện" in opened and "Bắt đầu phiên sự kiện" not in opened
    event = db.session.scalar(select(EventSession))
    assert (event.screen_id, event.quiz_id, event.opened_by_id) == (screen.id, screen.quiz_id, people["leader1"].id)
    assert event.opened_at == clock() and event.closes_at == clock() + timedelta(minutes=30)
    assert len(event.secret) == 64
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "event.open"))
    assert (entry.actor_id, entry.target_type, entry.target_id, entry.unit_id) == (
        people["leader1"].id,
        "event_session",
        event.id,
        tree["W1"].id,
    )
    assert entry.after["minutes"] == 30 and entry.after["screen_id"] == screen.id

    clock.advance(minutes=5)
    closed = _close(client, screen, event).get_data(as_text=True)
    assert "Đã đóng phiên sự kiện" in closed and "Phiên sự kiện đang mở" not in closed
    db.session.refresh(event)
    assert event.closed_at == clock()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "event.close"))
    assert entry.actor_id == people["leader1"].id and entry.target_id == event.id
    assert entry.after == {"closed_at": clock().isoformat()}

    before = _counts()
    again = _close(client, screen, event).get_data(as_text=True)
    assert "Phiên sự kiện này đã kết thúc." in again and _counts() == before
    # Once closed, a new session may be opened on the same screen.
    assert "Đã mở phiên sự kiện" in _open(client, screen).get_data(as_text=True)


def test_bad_requests_are_refused_and_change_nothing(client, people, make_campaign, screen, quiz, clock):
    login(client, "leader1")
    before = _counts()
    for minutes in ("4", "241", "abc", "", "-10", "1e3", "99999"):
        page = _open(client, screen, minutes).get_data(as_text=True)
        assert "Thời lượng phiên từ 5 đến 240 phút." in page, minutes
        assert _counts() == before

    bare = create_screen(people["leader1"], screen.campaign, None)
    db.session.commit()
    before = _counts()  # creating the screen is itself audited
    page = _open(client, bare).get_data(as_text=True)
    assert "Màn hình này không hiện bài kiểm tra nào." in page and _counts() == before

    assert "Đã mở phiên sự kiện" in _open(client, screen).get_data(as_text=True)
    before = _counts()
    page = _open(client, screen).get_data(as_text=True)
    assert "Màn hình này đang có một phiên sự kiện mở." in page and _counts() == before

    clock.advance(days=30)  # the quiz has closed (and the session with it)
    page = _open(client, screen).get_data(as_text=True)
    assert "Bài kiểm tra của màn hình này đang không mở." in page and _counts() == before
    assert "Bài kiểm tra đang không mở nên chưa mở được phiên sự kiện." in page

    assert client.post(f"/screens/{screen.id}/event", data={"minutes": "30"}).status_code == 400  # no CSRF
    assert client.post("/screens/999999/event", data={"csrf_token": csrf_token(client, "/")}).status_code == 404
    assert _counts() == before


def test_a_session_never_outlasts_its_quiz(people, screen, quiz, clock):
    clock.moment = quiz.closes_at - timedelta(minutes=10)
    event = open_event(people["leader1"], screen, 60, clock())
    assert event.closes_at == quiz.closes_at


def test_only_the_campaigns_runners_open_and_close_sessions(client, people, screen, clock):
    event = open_event(people["leader1"], screen, 30, clock())
    db.session.commit()
    before = _counts()
    for username in ("leader2", "teamlead", "member"):
        other = client.application.test_client()
        login(other, username)
        token = csrf_token(other, "/")
        assert other.post(f"/screens/{screen.id}/event", data={"csrf_token": token, "minutes": "30"}).status_code == 403
        assert other.post(f"/events/{event.id}/close", data={"csrf_token": token}).status_code == 403
    assert _counts() == before and open_event_for(screen, clock()) == event

    with pytest.raises(Refused) as refusal:
        close_event(people["leader2"], event, clock())
    assert refusal.value.messages == ["Bạn không điều hành chiến dịch này."]
    with pytest.raises(Refused):
        open_event(people["member"], screen, 30, clock())
    db.session.rollback()

    admin = client.application.test_client()
    login(admin, "admin")
    assert "Đã đóng phiên sự kiện" in _close(admin, screen, event).get_data(as_text=True)


def test_the_code_rotates_every_minute_and_the_last_one_still_counts(people, screen, quiz, clock):
    clock.advance(seconds=20)
    event = _fixed(open_event(people["leader1"], screen, 30, clock()))
    first = current_code(event, clock())
    assert re.fullmatch(r"\d{6}", first)
    assert current_code(event, clock() + timedelta(seconds=39)) == first  # same minute
    assert event_for_code(quiz, first, clock()) == event
    assert event_for_code(quiz, f" {first[:3]} {first[3:]} ", clock()) == event  # as read off the TV
    # The minute before the session opened was never on the TV.
    assert event_for_code(quiz, current_code(event, clock() - timedelta(minutes=1)), clock()) is None

    clock.advance(minutes=1)
    second = current_code(event, clock())
    assert second != first
    assert event_for_code(quiz, second, clock()) == event
    assert event_for_code(quiz, first, clock()) == event  # scanned just before the TV rotated

    clock.advance(minutes=1)
    assert event_for_code(quiz, first, clock()) is None  # two minutes old
    assert event_for_code(quiz, second, clock()) == event
    for junk in ("", "12345", "1234567", "abcdef", "１２３４５６"):
        assert event_for_code(quiz, junk, clock()) is None


def test_a_closed_expired_or_revoked_session_gives_no_credit(client, people, screen, quiz, clock):
    event = open_event(people["leader1"], screen, 5, clock())
    db.session.commit()
    code = current_code(event, clock())
    close_event(people["leader1"], event, clock())
    db.session.commit()
    assert event_for_code(quiz, code, clock()) is None

    clock.advance(minutes=1)
    event = open_event(people["leader1"], screen, 5, clock())
    db.session.commit()
    clock.advance(minutes=4, seconds=59)
    code = current_code(event, clock())
    assert event_for_code(quiz, code, clock()) == event
    clock.advance(seconds=1)  # the session's five minutes are up
    assert event_for_code(quiz, code, clock()) is None and open_event_for(screen, clock()) is None

    event = open_event(people["leader1"], screen, 30, clock())
    db.session.commit()
    code = current_code(event, clock())
    login(client, "leader1")
    token = csrf_token(client, f"/campaigns/{screen.campaign.slug}/screens")
    client.post(f"/screens/{screen.id}/revoke", data={"csrf_token": token})
    db.session.refresh(event)
    assert event.closed_at == clock() and event_for_code(quiz, code, clock()) is None
    closing = select(AuditEntry).where(AuditEntry.action == "event.close").order_by(AuditEntry.id.desc())
    assert db.session.scalar(closing).target_id == event.id


def test_the_tv_shows_the_code_and_a_qr_that_carries_it(client, app, people, screen, quiz, clock):
    plain = _qr(f"{app.config['PUBLIC_URL']}/q/{quiz.slug}")
    page = client.get(f"/screen/{screen.token}").get_data(as_text=True)
    assert plain in page and "Mã sự kiện" not in page and not CODE.search(page)

    event = _fixed(open_event(people["leader1"], screen, 30, clock()))
    code = current_code(event, clock())
    page = client.get(f"/screen/{screen.token}", headers={"Host": "evil.example"}).get_data(as_text=True)
    assert CODE.search(page).group(1) == code and f"{code[:3]} {code[3:]}" in page and "Mã sự kiện" in page
    assert _qr(f"{app.config['PUBLIC_URL']}/q/{quiz.slug}?e={code}") in page  # PUBLIC_URL, never the Host
    assert plain not in page and "evil.example" not in page

    clock.advance(days=30)  # quiz closed: no QR and no code, though the corner still listens
    page = client.get(f"/screen/{screen.token}").get_data(as_text=True)
    assert 'id="screen-qr" class="screen-qr" hidden' in page and "<svg" not in page and not CODE.search(page)


def test_the_quiz_corner_refreshes_when_the_code_rotates(client, people, screen, quiz, clock):
    page = client.get(f"/screen/{screen.token}").get_data(as_text=True)
    panel = re.search(r'<aside id="screen-qr"[^>]*>', page).group(0)
    assert f'hx-get="/screen/{screen.token}/quiz"' in panel
    assert 'hx-trigger="code-changed from:body, every 60s"' in panel and "<script>" not in page
    poll = re.search(r'hx-get="(/screen/[^"]+/version\?[^"]+)"', page).group(1).replace("&amp;", "&")
    assert client.get(poll).status_code == 204

    event = _fixed(open_event(people["leader1"], screen, 30, clock()))
    changed = client.get(poll)
    assert changed.status_code == 200 and changed.headers["HX-Trigger"] == "code-changed"
    poll = re.search(r'hx-get="([^"]+)"', changed.get_data(as_text=True)).group(1).replace("&amp;", "&")
    assert client.get(poll).status_code == 204
    first = CODE.search(client.get(f"/screen/{screen.token}/quiz").get_data(as_text=True)).group(1)
    assert current_code(event, clock()) not in poll  # the code stays out of polled URLs

    clock.advance(minutes=1)
    assert client.get(poll).headers["HX-Trigger"] == "code-changed"
    fragment = client.get(f"/screen/{screen.token}/quiz")
    assert fragment.headers["Cache-Control"] == "no-store"
    second = CODE.search(fragment.get_data(as_text=True)).group(1)
    assert second == current_code(event, clock()) and second != first

    close_event(people["leader1"], event, clock())
    db.session.commit()
    fragment = client.get(f"/screen/{screen.token}/quiz").get_data(as_text=True)
    assert not CODE.search(fragment) and "<svg" in fragment  # back to the plain quiz QR


@contextmanager
def _writes():
    """Collects every statement that would change the database."""
    seen = []

    def listen(conn, cursor, statement, *args):
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", listen)


def test_get_never_writes(client, people, screen, clock):
    open_event(people["leader1"], screen, 30, clock())
    db.session.commit()
    login(client, "leader1")
    with _writes() as seen:
        for path in (
            f"/campaigns/{screen.campaign.slug}/screens",
            f"/screen/{screen.token}",
            f"/screen/{screen.token}/quiz",
            f"/screen/{screen.token}/version?v=0&c=",
            f"/screens/{screen.id}/event",
        ):
            assert client.get(path).status_code in (200, 405), path
        assert seen == []
        event = db.session.scalar(select(EventSession))
        _close(client, screen, event)
    assert any(statement.startswith("UPDATE event_session") for statement in seen)  # the listener does listen


def _poll(page: str) -> str:
    return re.search(r'hx-get="(/screen/[^"]+/version\?[^"]+)"', page).group(1).replace("&amp;", "&")


def test_a_poll_during_an_event_is_one_statement(client, people, screen, clock):
    _fixed(open_event(people["leader1"], screen, 30, clock()))
    db.session.commit()
    poll = _poll(client.get(f"/screen/{screen.token}").get_data(as_text=True))
    response, statements = request_statements(client, "GET", poll)
    assert response.status_code == 204 and len(statements) == 1


def test_a_new_code_shows_at_once_while_the_board_waits_its_turn(client, people, screen, tree, clock):
    poll = _poll(client.get(f"/screen/{screen.token}").get_data(as_text=True))
    award_many([Award(screen.campaign_id, "correction", 0, 5, clock().date(), tree["Q1"].ancestor_ids)])
    _fixed(open_event(people["leader1"], screen, 30, clock()))
    db.session.commit()
    changed = client.get(poll)
    assert changed.status_code == 200 and changed.headers["HX-Trigger"] == "code-changed"
    poll = _poll(changed.get_data(as_text=True))
    assert client.get(poll).status_code == 204  # the board keeps the version it shows...
    clock.advance(seconds=BOARD_REFRESH_SECONDS)
    assert client.get(poll).headers["HX-Trigger"] == "scores-changed"  # ...and redraws when its turn comes
