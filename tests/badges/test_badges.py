import secrets
import threading
from datetime import date, timedelta

from sqlalchemy import func, select

from badges.services import STREAK_DAYS, _grant, award_top_three
from campaigns.services import LogRequest, approve, approve_many, log_contributions
from models import BadgeAward, Notification, User, db, immediate_transactions
from tests.conftest import activity, login, make_test_app


def _kinds(member):
    return set(db.session.scalars(select(BadgeAward.kind).where(BadgeAward.member_id == member.id)))


def _log(member, campaign, activity_type, at, day=date(2026, 11, 5), **extra):
    return log_contributions(
        member,
        campaign,
        LogRequest(activity_type.id, extra.pop("quantity", 1), day, idempotency_key=secrets.token_hex(16), **extra),
        at,
    )


def test_first_contribution_badge_is_awarded_once_with_a_notification(client, people, make_campaign, clock):
    campaign = make_campaign(template="paperless_week")
    member = people["member"]
    for day in (date(2026, 11, 4), date(2026, 11, 5)):
        _log(member, campaign, activity(campaign, "Ngày không giấy"), clock(), day=day)
    db.session.commit()
    assert _kinds(member) == {"first_contribution"}
    assert db.session.scalar(select(func.count()).select_from(BadgeAward)) == 1
    assert db.session.scalar(select(Notification.kind)) == "badge:first_contribution"
    login(client, "member")
    assert "Đóng góp đầu tiên" in client.get("/").get_data(as_text=True)
    assert "Bạn nhận huy hiệu “Đóng góp đầu tiên”" in client.get("/notifications").get_data(as_text=True)


def test_ten_residents_helped(people, make_campaign, clock):
    campaign = make_campaign(starts=clock() - timedelta(days=10))
    member, leader = people["member"], people["teamlead"]
    signature = activity(campaign, "chữ ký số")
    for number in range(10):
        [contribution] = _log(
            member,
            campaign,
            signature,
            clock(),
            day=date(2026, 11, 1 + number % 4),
            beneficiaries=f"09123450{number:02d}",
            consent=True,
        )
        approve(leader, contribution, clock())
        db.session.commit()
        assert ("helped_10" in _kinds(member)) is (number == 9)


def test_seven_day_paperless_streak(people, make_campaign, clock):
    campaign = make_campaign(template="paperless_week", starts=clock() - timedelta(days=10))
    member = people["member"]
    check_in = activity(campaign, "Ngày không giấy")
    days = [date(2026, 10, 27) + timedelta(days=offset) for offset in range(8) if offset != 3]  # a gap on day 4
    for day in days[:-1]:
        _log(member, campaign, check_in, clock(), day=day)
    db.session.commit()
    assert "paperless_streak_7" not in _kinds(member)
    for day in (date(2026, 10, 30), date(2026, 11, 4)):  # fill the gap, then one more
        _log(member, campaign, check_in, clock(), day=day)
        db.session.commit()
    assert "paperless_streak_7" in _kinds(member)


def test_top_three_when_results_freeze(people, make_campaign, clock):
    campaign = make_campaign()
    standings = {
        "member": [
            {"rank": 1, "member_id": people["member"].id, "points": 9},
            {"rank": 2, "member_id": people["teamlead"].id, "points": 4},
            {"rank": 4, "member_id": people["member2"].id, "points": 1},
        ]
    }
    assert award_top_three(campaign, standings, clock()) == 2
    assert award_top_three(campaign, standings, clock()) == 0
    db.session.commit()
    assert _kinds(people["member"]) == {"top_three"} and _kinds(people["member2"]) == set()


def test_concurrent_events_award_a_badge_once(people, make_campaign, clock, tree):
    campaign = make_campaign()
    barrier = threading.Barrier(4, timeout=10)
    results, errors = [], []
    campaign_id, member_id, unit_id, at = campaign.id, people["member"].id, tree["Q1"].id, clock()

    workers = [make_test_app() for _ in range(4)]  # built here: see test_two_sweeps_at_once_make_one_snapshot

    def grant(worker):
        with worker.app_context(), immediate_transactions():  # as in a request or the scheduler
            try:
                barrier.wait()
                member = db.session.get(User, member_id)
                results.append(_grant(campaign_id, "first_contribution", f"member:{member_id}", unit_id, at, member))
                db.session.commit()
            except Exception as error:  # reported below
                errors.append(repr(error))
                db.session.rollback()
            finally:
                db.session.remove()
                db.engine.dispose()

    threads = [threading.Thread(target=grant, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(BadgeAward)) == 1
    assert errors == []
    assert sorted(results) == [False, False, False, True]


def test_bulk_approval_earns_what_approving_one_by_one_would(people, make_campaign, clock):
    """Ten residents helped and seven paperless days in a row, all approved in one call."""
    signatures = make_campaign(starts=clock() - timedelta(days=10))
    paperless = make_campaign(template="paperless_week", starts=clock() - timedelta(days=10))
    member, leader = people["member"], people["teamlead"]
    pending = [
        contribution
        for number in range(10)
        for contribution in _log(
            member,
            signatures,
            activity(signatures, "chữ ký số"),
            clock(),
            day=date(2026, 11, 1 + number % 4),
            beneficiaries=f"09123450{number:02d}",
            consent=True,
        )
    ]
    records = activity(paperless, "Hồ sơ")
    pending += [
        contribution
        for offset in range(STREAK_DAYS)
        for contribution in _log(member, paperless, records, clock(), day=date(2026, 10, 27) + timedelta(days=offset))
    ]
    db.session.commit()
    assert _kinds(member) == set()

    outcome = approve_many(leader, pending, clock())
    db.session.commit()

    assert len(outcome.approved) == 17 and outcome.refused == {}
    assert _kinds(member) == {"first_contribution", "helped_10", "paperless_streak_7"}
    badges = select(BadgeAward.campaign_id, BadgeAward.kind).where(BadgeAward.member_id == member.id)
    assert set(db.session.execute(badges)) == {
        (signatures.id, "first_contribution"),
        (signatures.id, "helped_10"),
        (paperless.id, "first_contribution"),
        (paperless.id, "paperless_streak_7"),
    }
    notices = select(Notification.campaign_id, Notification.kind).where(
        Notification.user_id == member.id, Notification.kind.like("badge:%")
    )
    told = {(campaign_id, kind.removeprefix("badge:")) for campaign_id, kind in db.session.execute(notices)}
    assert told == set(db.session.execute(badges))  # each badge told to the member once
