from datetime import UTC, datetime, timedelta

import pytest

from campaigns.services import CampaignFields, create_campaign, publish
from models import db

# Monday 10:00 in Vietnam.
START = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


class Clock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture
def clock(app):
    clock = Clock(START + timedelta(days=3))
    app.config["CLOCK"] = clock
    yield clock
    app.config.pop("CLOCK", None)


@pytest.fixture
def make_campaign(clock, people, tree):
    def make(template="digital_signature", scope="W1", published=True, days=30, starts=START, by="leader1"):
        campaign = create_campaign(
            people[by],
            CampaignFields(
                title=f"Chiến dịch {template}",
                description="",
                template=template,
                scope_unit=tree[scope],
                ranked_kinds=["ward", "quarter", "team", "youth_union"],
                starts_at=starts,
                ends_at=starts + timedelta(days=days),
            ),
        )
        if published:
            publish(campaign, min(clock(), starts - timedelta(hours=1)))
        db.session.commit()
        return campaign

    return make


def activity(campaign, name_part: str):
    return next(item for item in campaign.activity_types if name_part in item.name)
