"""Opening a screen on the hall TV by a short code typed at /tv: asked for by the campaign's runner,
valid ten minutes and once, recorded in the audit log, and throttled against guessing."""

import re

from sqlalchemy import func, select

from models import AuditEntry, ScreenLink, db
from screens.services import TV_CODE_ALPHABET, TV_CODE_LENGTH, TV_CODE_MINUTES, create_screen
from screens.views import TV_CODE_LIMIT
from tests.conftest import csrf_token, login

CODE = re.compile(r'data-tv-code="([A-Z0-9]+)"')
WRONG = "Mã không đúng, đã hết hạn hoặc đã được dùng"


def _screen(people, make_campaign) -> ScreenLink:
    screen = create_screen(people["leader1"], make_campaign(), None)
    db.session.commit()
    return screen


def _ask_code(client, screen) -> str:
    page = f"/campaigns/{screen.campaign.slug}/screens"
    answer = client.post(
        f"/screens/{screen.id}/tv-code", data={"csrf_token": csrf_token(client, page)}, follow_redirects=True
    )
    return CODE.search(answer.get_data(as_text=True)).group(1)


def _type(tv, code: str):
    return tv.post("/tv", data={"csrf_token": csrf_token(tv, "/tv"), "code": code})


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_code_asked_for_by_the_leader_opens_the_screen_once(client, app, people, make_campaign):
    screen = _screen(people, make_campaign)
    login(client, "leader1")
    code = _ask_code(client, screen)
    assert len(code) == TV_CODE_LENGTH and set(code) <= set(TV_CODE_ALPHABET)
    assert _actions()[-1] == "screen.tv_code"
    assert code not in str(db.session.scalar(select(AuditEntry.after).order_by(AuditEntry.id.desc())))

    tv = app.test_client()
    assert tv.get("/tv").status_code == 200
    # As a remote types it: small letters, a space in the middle.
    opened = _type(tv, f" {code[:3].lower()} {code[3:]} ")
    assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/screen/{screen.token}")
    assert tv.get(opened.headers["Location"]).status_code == 200
    assert _actions()[-1] == "screen.tv_code_used"

    again = _type(app.test_client(), code)  # used: a second TV needs a code of its own
    assert again.status_code == 422 and WRONG in again.get_data(as_text=True)
    manage = client.get(f"/campaigns/{screen.campaign.slug}/screens").get_data(as_text=True)
    assert "data-tv-code" not in manage


def test_an_expired_replaced_or_revoked_code_opens_nothing(client, app, people, make_campaign, clock):
    screen = _screen(people, make_campaign)
    login(client, "leader1")
    expired = _ask_code(client, screen)
    clock.advance(minutes=TV_CODE_MINUTES)
    answer = _type(app.test_client(), expired)
    assert answer.status_code == 422 and WRONG in answer.get_data(as_text=True)

    replaced = _ask_code(client, screen)
    newer = _ask_code(client, screen)
    assert _type(app.test_client(), replaced).status_code == 422
    revoked = client.post(f"/screens/{screen.id}/revoke", data={"csrf_token": csrf_token(client, "/")})
    assert revoked.status_code == 302
    assert _type(app.test_client(), newer).status_code == 422
    before = _actions()
    refused = client.post(
        f"/screens/{screen.id}/tv-code", data={"csrf_token": csrf_token(client, "/")}, follow_redirects=True
    )
    assert "Màn hình này đã tắt" in refused.get_data(as_text=True)
    assert _actions() == before and db.session.get(ScreenLink, screen.id).tv_code is None


def test_wrong_codes_get_a_message_and_the_address_is_throttled(app, people, make_campaign):
    _screen(people, make_campaign)
    tv = app.test_client()
    allowed = int(TV_CODE_LIMIT.split()[0])
    for typed in ["", "0O1IL5", "ABC", "x" * 40, "ABCDEF\x00", *["ABCDEF"] * allowed]:
        answer = _type(tv, typed)
        if answer.status_code == 429:
            break
        assert answer.status_code in (400, 422), typed
    else:
        raise AssertionError("never throttled")
    throttled = _type(tv, "ABCDEF")
    assert throttled.status_code == 429 and "Quá nhiều lần thử" in throttled.get_data(as_text=True)
    assert tv.get("/tv").status_code == 200  # reading the form is never throttled


def test_only_the_campaigns_runners_ask_for_codes_and_get_never_writes(client, app, people, make_campaign):
    screen = _screen(people, make_campaign)
    entries = db.session.scalar(select(func.count()).select_from(AuditEntry))
    for username, status in (("leader2", 403), ("member", 403)):
        other = app.test_client()
        login(other, username)
        answer = other.post(f"/screens/{screen.id}/tv-code", data={"csrf_token": csrf_token(other, "/")})
        assert answer.status_code == status, username
    anonymous = app.test_client().post(f"/screens/{screen.id}/tv-code")
    assert anonymous.status_code in (302, 400)
    login(client, "leader1")
    page = client.get(f"/campaigns/{screen.campaign.slug}/screens").get_data(as_text=True)
    assert "<svg" in page and "data-tv-code" not in page  # the link's QR; no code until asked for
    assert app.test_client().get("/tv?code=ABCDEF").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == entries
    assert db.session.get(ScreenLink, screen.id).tv_code is None
