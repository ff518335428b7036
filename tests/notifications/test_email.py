"""E-mail is optional: with SMTP set up the scheduler mails what the outbox holds, once, in the recipient's
saved language, after the decision is committed; a mail server that is down loses nothing and blocks
nothing, and its mails go when it is back."""

import socket
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from core.scheduler import GuardedJob, Leadership
from models import Contribution, NotificationAddress, User, db
from notifications.tasks import run_sweep
from notifications.tasks import sweep as notifications_sweep
from tests.conftest import csrf_token
from tests.notifications.helpers import notices, pending_contribution, signed_in
from tests.notifications.smtp_sink import SmtpSink

REASON = "Thiếu ảnh"
ADDRESS = "member@example.test"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(app):
    """SMTP set up, pointing at a port where nothing listens until a test starts a sink there."""
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=_closed_port(), SMTP_STARTTLS=False, SMTP_FROM="ThiĐua <t@x.test>"
    )
    return app.config


def _give_address(app, username: str, address: str = ADDRESS):
    client = signed_in(app, username)
    token = csrf_token(client, "/notifications")
    return client.post("/notifications/email", data={"csrf_token": token, "address": address}, follow_redirects=True)


def _reject(app, contribution, reason: str = REASON):
    leader = signed_in(app, "leader1")
    token = csrf_token(leader, "/review")
    response = leader.post(f"/review/{contribution.id}/reject", data={"csrf_token": token, "reason": reason})
    assert response.status_code == 302


def test_a_rejection_is_mailed_once_in_the_members_saved_language(app, smtp, people, make_campaign):
    assert "Đã lưu địa chỉ nhận thông báo qua email." in _give_address(app, "member").get_data(as_text=True)
    db.session.get(User, people["member"].id).language = "en"
    db.session.commit()
    campaign = make_campaign(template="paperless_week")
    _reject(app, pending_contribution(campaign, people["member"]), "Thiếu ảnh\ncần chụp lại")

    with SmtpSink() as sink:
        smtp["SMTP_PORT"] = sink.port
        assert run_sweep(app)["emails_sent"] == 1
        assert "emails_sent" not in run_sweep(app)
    [mail] = sink.messages
    assert mail["To"] == ADDRESS
    assert mail["Subject"].startswith("ThiĐua: Your contribution “Application handled online”")
    body = mail.get_content().replace("\r\n", "\n")  # lines end in CRLF on the wire
    assert "was rejected. Reason: Thiếu ảnh\ncần chụp lại" in body
    assert f"http://127.0.0.1:5000/campaigns/{campaign.slug}" in body
    assert notices(people["member"])[0].emailed_at is not None


def test_a_mail_server_that_is_down_blocks_no_decision_and_its_mail_goes_later(app, smtp, people, make_campaign):
    _give_address(app, "member")
    campaign = make_campaign(template="paperless_week")
    contribution = pending_contribution(campaign, people["member"])
    _reject(app, contribution)
    assert db.session.get(Contribution, contribution.id).status == "rejected"

    done = run_sweep(app)  # nothing listens on the port
    assert done["emails_failed"] == 1 and done["emails_sent"] == 0
    assert notices(people["member"])[0].emailed_at is None  # back in the outbox
    assert run_sweep(app)["emails_failed"] == 1

    with SmtpSink() as sink:
        smtp["SMTP_PORT"] = sink.port
        assert run_sweep(app)["emails_sent"] == 1
        run_sweep(app)
    assert len(sink.messages) == 1
    assert "bị từ chối. Lý do: Thiếu ảnh" in sink.messages[0].get_content()  # no saved language: Vietnamese


def test_two_schedulers_mail_each_notification_once(app, smtp, people, make_campaign):
    _give_address(app, "member")
    campaign = make_campaign(template="paperless_week")
    for _ in range(3):
        _reject(app, pending_contribution(campaign, people["member"]))
    with SmtpSink() as sink:
        smtp["SMTP_PORT"] = sink.port
        for holder in ("one:1:a", "two:2:b", "one:1:a", "two:2:b"):
            GuardedJob("notifications", notifications_sweep, Leadership(app, holder, 30), 20)()
    assert sorted(mail["To"] for mail in sink.messages) == [ADDRESS] * 3


def test_a_refused_recipient_is_not_retried_and_others_still_get_theirs(app, smtp, people, make_campaign, clock):
    _give_address(app, "member", "gone@example.test")
    _give_address(app, "leader1", "leader@example.test")
    campaign = make_campaign(template="paperless_week")
    _reject(app, pending_contribution(campaign, people["member"]))
    pending_contribution(campaign, people["member"])
    clock.moment = datetime(2026, 11, 6, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam: leader1's digest is due
    with SmtpSink() as sink:
        sink.refused.add("gone@example.test")
        smtp["SMTP_PORT"] = sink.port
        run_sweep(app)
        run_sweep(app)
    assert [mail["To"] for mail in sink.messages] == ["leader@example.test"]
    assert all(notice.emailed_at is not None for notice in notices(people["member"]))


def test_a_mail_turned_down_for_good_is_dropped_one_for_now_waits_and_neither_holds_back_the_rest(
    app, smtp, people, make_campaign, clock
):
    _give_address(app, "member", "filtered@example.test")
    _give_address(app, "member2", "busy@example.test")
    _give_address(app, "leader1", "leader@example.test")
    campaign = make_campaign(template="paperless_week")
    _reject(app, pending_contribution(campaign, people["member"]))
    pending_contribution(campaign, people["member"])  # work waiting: leader1's digest
    other = make_campaign(template="paperless_week", scope="W2", by="leader2")
    rejecter = signed_in(app, "leader2")
    waiting = pending_contribution(other, people["member2"])
    token = csrf_token(rejecter, "/review")
    rejecter.post(f"/review/{waiting.id}/reject", data={"csrf_token": token, "reason": REASON})
    clock.moment = datetime(2026, 11, 6, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam
    with SmtpSink() as sink:
        sink.data_refused["filtered@example.test"] = "554 message rejected by content filter"
        sink.data_refused["busy@example.test"] = "451 try again later"
        smtp["SMTP_PORT"] = sink.port
        run_sweep(app)
        assert [mail["To"] for mail in sink.messages] == ["leader@example.test"]
        del sink.data_refused["busy@example.test"]
        run_sweep(app)
    assert [mail["To"] for mail in sink.messages] == ["leader@example.test", "busy@example.test"]


def test_without_smtp_nothing_is_mailed_and_no_address_is_asked(app, people, make_campaign):
    campaign = make_campaign(template="paperless_week")
    _reject(app, pending_contribution(campaign, people["member"]))
    page = signed_in(app, "member").get("/notifications").get_data(as_text=True)
    assert "Nhận thông báo qua email" not in page
    assert "emails_sent" not in run_sweep(app)
    assert notices(people["member"])[0].emailed_at is None


@pytest.mark.parametrize("address", ["not-an-address", "a@b", "x" * 250 + "@example.test", "a@b.c\r\nBcc: x@y.z"])
def test_a_bad_address_is_refused_with_a_message_and_nothing_saved(app, smtp, people, address):
    page = _give_address(app, "member", address).get_data(as_text=True)
    assert "Địa chỉ email không hợp lệ." in page
    assert db.session.scalar(select(NotificationAddress)) is None


def test_an_empty_address_stops_the_mails(app, smtp, people):
    _give_address(app, "member")
    assert db.session.scalar(select(NotificationAddress.address)) == ADDRESS
    _give_address(app, "member", "")
    assert db.session.scalar(select(NotificationAddress)) is None


def test_a_locked_account_is_mailed_nothing(app, smtp, people, make_campaign):
    _give_address(app, "member")
    campaign = make_campaign(template="paperless_week")
    _reject(app, pending_contribution(campaign, people["member"]))
    db.session.get(User, people["member"].id).active = False
    db.session.commit()
    with SmtpSink() as sink:
        smtp["SMTP_PORT"] = sink.port
        run_sweep(app)
    assert sink.messages == []
