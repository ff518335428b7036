"""The scheduler's notifications: reminders the day before a campaign starts and before its last day, by
Vietnam's calendar; a daily digest for leaders with work waiting; old read notifications swept. Each
exactly once, however often the sweep runs and whoever runs it."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from models import Notification, db
from notifications.services import READ_RETENTION
from notifications.tasks import run_notification_events, run_sweep, send_digests
from tests.notifications.helpers import notices, pending_completion, pending_contribution, signed_in
from tests.sql_budget import counted_statements

W1_PEOPLE = ("leader1", "teamlead", "member")


def _told(kind: str) -> list[int]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(Notification.user_id).where(Notification.kind == kind)))


def _ids(people, *names) -> list[int]:
    return sorted(people[name].id for name in names)


def test_the_start_reminder_goes_the_day_before_by_vietnams_calendar_once(app, people, make_campaign, clock):
    # Starts at 06:00 on Saturday 7 November in Vietnam, which is still Friday the 6th in UTC.
    campaign = make_campaign(starts=datetime(2026, 11, 6, 23, 0, tzinfo=UTC))
    clock.moment = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)  # Thursday 19:00 in Vietnam: two days before
    run_notification_events(clock())
    assert _told("campaign_starts_tomorrow") == []
    clock.moment = datetime(2026, 11, 5, 23, 30, tzinfo=UTC)  # Friday 06:30 in Vietnam: too early to send
    run_notification_events(clock())
    assert _told("campaign_starts_tomorrow") == []

    clock.moment = datetime(2026, 11, 6, 1, 0, tzinfo=UTC)  # Friday 08:00 in Vietnam
    assert run_notification_events(clock())["reminders"] == 1
    db.session.commit()
    assert run_notification_events(clock())["reminders"] == 0
    db.session.commit()
    assert run_sweep(app)["reminders"] == 0  # as the scheduler runs it
    assert _told("campaign_starts_tomorrow") == _ids(people, *W1_PEOPLE)  # W1's people, nobody twice

    page = signed_in(app, "member").get("/notifications").get_data(as_text=True)
    assert f"Chiến dịch “{campaign.title}” bắt đầu ngày mai, 07/11/2026." in page
    english = signed_in(app, "member").get("/notifications?lang=en").get_data(as_text=True)
    assert f"The campaign “{campaign.title}” starts tomorrow, 07/11/2026." in english


def test_a_member_in_the_scope_by_team_alone_is_reminded_too(people, tree, make_user, make_campaign, clock):
    """Living in W2 but in W1's team T1, she takes part in W1's campaign (campaigns.services.in_scope)."""
    commuter = make_user("commuter", "member", tree["Q2"], team=tree["T1"])
    make_campaign(starts=datetime(2026, 11, 6, 23, 0, tzinfo=UTC))
    clock.moment = datetime(2026, 11, 6, 1, 0, tzinfo=UTC)
    run_notification_events(clock())
    assert _told("campaign_starts_tomorrow") == sorted([*_ids(people, *W1_PEOPLE), commuter.id])


def test_the_last_day_reminder_counts_a_midnight_end_as_the_day_before(app, people, make_campaign, clock):
    # Ends at midnight between 1 and 2 December in Vietnam: 1 December is its last day.
    ends = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    campaign = make_campaign(starts=ends - timedelta(days=29), days=29)
    clock.moment = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 1 December 08:00 in Vietnam: the last day itself
    run_notification_events(clock())
    assert _told("campaign_ends_tomorrow") == []

    clock.moment = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 30 November 08:00 in Vietnam
    run_notification_events(clock())
    run_notification_events(clock())
    assert _told("campaign_ends_tomorrow") == _ids(people, *W1_PEOPLE)
    page = signed_in(app, "member").get("/notifications").get_data(as_text=True)
    assert f"Ngày mai, 01/12/2026, là ngày cuối của chiến dịch “{campaign.title}”." in page


def test_the_digest_goes_once_a_day_to_leaders_with_work_waiting_and_only_to_them(app, people, make_campaign, clock):
    campaign = make_campaign(template="paperless_week")
    for _ in range(2):
        pending_contribution(campaign, people["member"])  # Q1, team T1: leader1, teamlead and the admin
    pending_completion(people["member2"], clock())  # Q2 in W2: leader2 and the admin
    pending_contribution(campaign, people["leader1"])  # one's own work waits for others only
    clock.moment = datetime(2026, 11, 6, 1, 0, tzinfo=UTC)

    run_notification_events(clock())
    db.session.commit()
    run_notification_events(clock())
    db.session.commit()

    assert _told("leader_digest") == _ids(people, "admin", "leader1", "leader2", "teamlead")
    counts = {
        notice.user_id: notice.params
        for notice in db.session.scalars(select(Notification).where(Notification.kind == "leader_digest"))
    }
    assert counts[people["leader1"].id] == {"contributions": 2, "completions": 0}
    assert counts[people["leader2"].id] == {"contributions": 0, "completions": 1}
    assert counts[people["admin"].id] == {"contributions": 3, "completions": 1}
    leader = signed_in(app, "leader1")
    page = leader.get("/notifications").get_data(as_text=True)
    assert "Việc đang chờ bạn: 2 đóng góp cần duyệt, 0 khoá học cần xác nhận." in page
    assert 'href="/review"' in page
    assert "Waiting for you: 2 contributions to review" in leader.get("/notifications?lang=en").get_data(as_text=True)

    clock.advance(days=1)  # the next day: another digest, since the work still waits
    run_notification_events(clock())
    assert len(notices(people["leader1"], "leader_digest")) == 2


def test_the_digest_reads_the_waiting_work_once_however_many_leaders(app, people, tree, make_unit, make_user, clock):
    """At 07:00 the digest runs under the scheduler's lease, which holds SQLite's write lock: a query per
    leader (two thousand in a province) would hold back every writer for seconds."""

    def digests_on_day(day: int, new_leaders: int) -> tuple[int, int]:
        for n in range(new_leaders):
            quarter = make_unit(f"QD{day}{n}", "quarter", tree["W1"])
            team = make_unit(f"TD{day}{n}", "team", quarter)
            make_user(f"td{day}{n}", "team_leader", quarter, team=team)
            pending_completion(make_user(f"md{day}{n}", "member", quarter, team=team), clock())
        clock.moment = datetime(2026, 11, 6 + day, 1, 0, tzinfo=UTC)
        with counted_statements(db.engine) as statements:
            sent = send_digests(clock())
        db.session.commit()
        return sent, len(statements)

    first, second = digests_on_day(0, 2), digests_on_day(1, 20)
    assert (first[0], second[0]) == (2 + 2, 22 + 2)  # each team leader, leader1 for W1, and the admin
    assert first[1] == second[1]
    told = db.session.scalars(
        select(Notification.params).where(Notification.user_id == people["leader1"].id).order_by(Notification.id)
    ).all()
    assert told == [{"contributions": 0, "completions": 2}, {"contributions": 0, "completions": 22}]


def test_a_leader_of_no_team_with_work_of_their_own_waiting_gets_no_digest(
    people, tree, make_user, make_campaign, clock
):
    """Their own work waits for others; with nobody to manage, nothing waits for them (never "-1")."""
    adrift = make_user("adrift", "team_leader", tree["Q1"])
    pending_contribution(make_campaign(template="paperless_week"), adrift)
    clock.moment = datetime(2026, 11, 6, 1, 0, tzinfo=UTC)
    send_digests(clock())
    assert adrift.id not in _told("leader_digest")
    assert people["leader1"].id in _told("leader_digest")


def test_the_cli_runs_the_sweep_and_a_second_run_adds_nothing(app, runner, people, make_campaign, clock):
    make_campaign(starts=datetime(2026, 11, 6, 23, 0, tzinfo=UTC))
    clock.moment = datetime(2026, 11, 6, 1, 0, tzinfo=UTC)
    db.session.commit()
    first = runner.invoke(args=["notifications", "sweep"])
    assert first.exit_code == 0, first.output
    assert "reminders=1" in first.output
    second = runner.invoke(args=["notifications", "sweep"])
    assert "reminders=0" in second.output
    assert len(_told("campaign_starts_tomorrow")) == 3


def test_old_read_notifications_are_swept_unread_ones_kept(app, people, make_campaign, clock):
    campaign = make_campaign(template="paperless_week")
    old = clock() - READ_RETENTION - timedelta(days=1)
    member = people["member"]
    rows = [
        Notification(user_id=member.id, kind="campaign_started", subject="a", created_at=old, read_at=old),
        Notification(user_id=member.id, kind="campaign_started", subject="b", created_at=old),
        Notification(user_id=member.id, kind="campaign_started", subject="c", created_at=old, read_at=clock()),
    ]
    for row in rows:
        row.campaign_id = campaign.id
    db.session.add_all(rows)
    db.session.commit()
    assert run_sweep(app)["forgotten_notifications"] == 1
    left = db.session.scalars(select(Notification.subject).where(Notification.user_id == member.id))
    assert sorted(left) == ["b", "c"]
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 2
