"""A ward campaign with standings at every level, members who did and did not agree to be named,
approved work, training and a quiz: what a week's report is made of."""

import secrets
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.enums import ContributionStatus
from models import Attempt, Completion, Contribution, Course, Quiz, db
from scoring import Award, award_many
from tests.conftest import activity
from tests.leaderboards.test_boards import _give


def give_member(campaign, member, points, day=date(2026, 11, 4)):
    award_many([Award(campaign.id, "correction", 0, points, day, [], member_id=member.id)])
    db.session.commit()


def contribution(campaign, member, name_part, quantity, day=date(2026, 11, 4), status=ContributionStatus.APPROVED):
    kind = activity(campaign, name_part)
    db.session.add(
        Contribution(
            campaign_id=campaign.id,
            activity_type_id=kind.id,
            member_id=member.id,
            quantity=quantity,
            points=quantity * kind.points,
            occurred_on=day,
            status=status,
            idempotency_key=secrets.token_hex(8),
        )
    )
    db.session.commit()


def attempts(quiz, quarter, count):
    started = datetime(2026, 11, 4, 3, 0, tzinfo=UTC)
    for number in range(count):
        db.session.add(
            Attempt(
                quiz_id=quiz.id,
                quarter_id=quarter.id,
                name=f"Cư dân {number}",
                device_hash=f"{quarter.id}-{number}",
                started_at=started,
                deadline_at=started + timedelta(minutes=3),
                finished_at=started + timedelta(minutes=2),
                correct_count=3,
                points=6,
            )
        )
    db.session.commit()


@pytest.fixture
def report_campaign(make_campaign, make_unit, make_user, tree, people):
    """W1's campaign: Q1 (2,000 adults) and Q3 (1,000 adults) with points and installs; the member in
    Q1 named (she agreed), member3 in Q3 not; 2 installs approved (a count of residents: "< 5")."""
    campaign = make_campaign()
    q3 = make_unit("Q3", "quarter", tree["W1"], adult_population=1_000, name="Khu phố Ba")
    tree["Q3"] = q3
    people["member3"] = make_user("member3", "member", q3, display_name="Trần Văn Ẩn")
    people["member"].display_name = "Nguyễn Thị Hoa"
    people["member"].public_name_consent = True
    db.session.commit()
    _give(campaign, tree["Q1"], points=40, outcome=8)
    _give(campaign, q3, points=70, outcome=12, day=date(2026, 11, 3))
    give_member(campaign, people["member"], 40)
    give_member(campaign, people["member3"], 70)
    contribution(campaign, people["member"], "cài chữ ký số", 1)
    contribution(campaign, people["member"], "cài chữ ký số", 1)
    contribution(campaign, people["member3"], "Buổi hướng dẫn", 2)
    contribution(campaign, people["member3"], "Buổi hướng dẫn", 5, status=ContributionStatus.PENDING)
    course = Course(code="KN1", name="Kỹ năng số cơ bản", name_en="Basic digital skills", target_percent=50)
    db.session.add(course)
    db.session.flush()
    db.session.add(
        Completion(
            course_id=course.id,
            member_id=people["member"].id,
            completed_on=date(2026, 11, 3),
            source="leader",
            status="verified",
        )
    )
    quiz = Quiz(
        slug="quiz1",
        title="Hiểu biết chữ ký số",
        scope_unit_id=tree["W1"].id,
        campaign_id=campaign.id,
        opens_at=datetime(2026, 11, 3, 1, 0, tzinfo=UTC),
        closes_at=datetime(2026, 11, 20, tzinfo=UTC),
        created_by_id=people["leader1"].id,
    )
    db.session.add(quiz)
    db.session.commit()
    attempts(quiz, tree["Q1"], 3)
    attempts(quiz, q3, 6)
    return campaign
