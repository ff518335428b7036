"""Boards and screens key on the campaign's version row: fresh right after every change that moves a board."""

import contextvars
import io
import re
from datetime import date

import pytest
from sqlalchemy import select, update

from models import Contribution, LedgerEntry, UnitScore, db
from scoring import Award, award_many, verify
from screens.services import create_screen
from tests.campaigns.test_logging import log
from tests.conftest import DATABASE_URL, activity, csrf_from, csrf_token, login

SIGNATURE = "chữ ký số"  # the headline: 5 points and one outcome per person helped, target 60 % of adults


class Tv:
    """An event screen's browser: it keeps the version its poller last received, as htmx does."""

    def __init__(self, client, screen):
        self.client, self.token = client, screen.token
        self.version = self._version(client.get(f"/screen/{self.token}").get_data(as_text=True))

    @staticmethod
    def _version(html: str) -> str:
        return re.search(r'data-version="(\d+)"', html).group(1)

    def poll(self) -> int:
        response = self.client.get(f"/screen/{self.token}/version", query_string={"v": self.version, "c": ""})
        if response.status_code == 200:
            assert response.headers["HX-Trigger"] == "scores-changed"
            self.version = self._version(response.get_data(as_text=True))
        return response.status_code


def _give(campaign, unit, points: int, outcome: int = 0) -> None:
    award_many(
        [
            Award(
                campaign.id,
                "correction",
                0,
                points,
                date(2026, 11, 5),
                unit.ancestor_ids,
                activity_type_id=activity(campaign, SIGNATURE).id,
                outcome=outcome,
                outcome_unit_ids=unit.ancestor_ids,
            )
        ]
    )


def _board(client, campaign, metric: str = "points") -> dict:
    """Each quarter's value on the campaign's quarter board, read through the public API."""
    response = client.get(f"/api/v1/campaigns/{campaign.slug}/leaderboard?level=quarter&metric={metric}")
    assert response.status_code == 200
    return {row["unit_code"]: row["value"] for row in response.get_json()}


def _approve_a_pending_contribution(app, campaign) -> None:
    leader = app.test_client()
    login(leader, "teamlead")
    token = csrf_from(leader.get("/review").get_data(as_text=True))
    contribution = db.session.scalar(select(Contribution))
    assert leader.post(f"/review/{contribution.id}/approve", data={"csrf_token": token}).status_code == 302


def _halve_q1s_adults(app, campaign) -> None:
    admin = app.test_client()
    login(admin, "admin")
    path = "/admin/units/Q1/edit"
    data = {"code": "Q1", "name": "Unit Q1", "kind": "quarter", "parent_code": "W1", "adult_population": "1000"}
    assert admin.post(path, data=data | {"csrf_token": csrf_token(admin, path), "member_count": ""}).status_code == 302


def _import_a_quarter(app, campaign) -> None:
    admin = app.test_client()
    login(admin, "admin")
    csv = "code,name,kind,parent_code,adult_population\nQ9,Khu phố 9,quarter,W1,900\n"
    response = admin.post(
        "/admin/units/import",
        data={"csrf_token": csrf_token(admin, "/admin/units/import"), "file": (io.BytesIO(csv.encode()), "u.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302


def _halve_the_target(app, campaign) -> None:
    leader = app.test_client()
    login(leader, "leader1")
    path = f"/campaigns/{campaign.slug}/activities/{activity(campaign, SIGNATURE).id}/edit"
    data = {
        "csrf_token": csrf_token(leader, path),
        "name": "Hỗ trợ người dân cài chữ ký số",
        "points": "5",
        "unit_label": "người",
        "needs_verification": "y",
        "cap_per_member": "20",
        "cap_window": "day",
        "once_per_beneficiary": "y",
        "target_kind": "share",
        "target_value": "30",
        "is_headline": "y",
    }
    assert leader.post(path, data=data).status_code == 302


# Q1 (2,000 adults) starts with 50 points and 10 people helped: 25 points per 1,000 adults and
# 10 / (60 % of 2,000) = 0.83 % of its target.
CHANGES = {
    "approval": (_approve_a_pending_contribution, "points", {"Q1": 50}, {"Q1": 55}),
    "population": (_halve_q1s_adults, "per_capita", {"Q1": 25.0}, {"Q1": 50.0}),
    "new unit": (_import_a_quarter, "points", {"Q1": 50}, {"Q1": 50, "Q9": 0}),
    "target": (_halve_the_target, "target", {"Q1": 0.83}, {"Q1": 1.67}),
}


@pytest.mark.parametrize("change", CHANGES)
def test_boards_and_screens_are_fresh_right_after_every_change(app, client, people, tree, make_campaign, change):
    make, metric, before, after = CHANGES[change]
    campaign = make_campaign()
    _give(campaign, tree["Q1"], 50, outcome=10)
    db.session.commit()
    member = app.test_client()
    login(member, "member")
    assert (
        log(member, campaign, activity(campaign, SIGNATURE), beneficiaries="0912345678", consent="y").status_code == 302
    )
    tv = Tv(client, create_screen(people["leader1"], campaign, None))
    db.session.commit()
    assert _board(client, campaign, metric) == before
    assert tv.poll() == 204  # a pending contribution changes no board
    make(app, campaign)
    assert _board(client, campaign, metric) == after
    assert verify() == []  # what boards rank by was copied again from the changed unit
    assert tv.poll() == 200
    assert tv.poll() == 204


def test_a_change_in_another_campaign_leaves_a_screen_unchanged(client, people, tree, make_campaign):
    mine, other = make_campaign(), make_campaign(scope="W2", by="leader2")
    tv = Tv(client, create_screen(people["leader1"], mine, None))
    db.session.commit()
    _give(other, tree["Q2"], 7)
    db.session.commit()
    assert tv.poll() == 204
    _give(mine, tree["Q1"], 7)
    db.session.commit()
    assert tv.poll() == 200


def test_repaired_aggregates_reach_the_boards_at_once(client, runner, people, tree, make_campaign):
    campaign = make_campaign()
    _give(campaign, tree["Q1"], 50)
    db.session.execute(update(UnitScore).values(points=UnitScore.points + 1))  # tampering bumps nothing
    db.session.commit()
    assert _board(client, campaign) == {"Q1": 51}
    assert runner.invoke(args=["verify-scores", "--repair"]).exit_code == 0
    assert _board(client, campaign) == {"Q1": 50}


class OpenTransaction:
    """A writer on its own connection, left uncommitted between steps, as in another server process.

    Its own contextvars context holds its own app context, so Flask-SQLAlchemy gives it its own session.
    """

    def __init__(self, app):
        self._context, self._app_context = contextvars.Context(), app.app_context()
        self._context.run(self._app_context.push)

    def run(self, write, *args) -> None:
        self._context.run(write, *args)

    def commit(self) -> None:
        self._context.run(db.session.commit)
        self._context.run(self._app_context.pop)


@pytest.mark.skipif(DATABASE_URL.startswith("sqlite"), reason="SQLite serialises writers: commits follow id order")
def test_a_ledger_row_committed_after_one_with_a_higher_id_still_reaches_the_screen(
    app, client, people, tree, make_campaign
):
    mine, other = make_campaign(), make_campaign(scope="W2", by="leader2")
    tv, other_tv = (Tv(client, create_screen(people["leader1"], campaign, None)) for campaign in (mine, other))
    db.session.commit()
    first, second = OpenTransaction(app), OpenTransaction(app)
    first.run(_give, mine, tree["Q1"], 30)  # takes the lower ledger id...
    second.run(_give, other, tree["Q2"], 20)
    second.commit()
    assert other_tv.poll() == 200
    answers = [tv.poll()]
    assert _board(client, mine) == {"Q1": 0}
    first.commit()  # ...and commits last
    answers.append(tv.poll())
    assert answers == [204, 200]
    assert _board(client, mine) == {"Q1": 30}
    ids = dict(db.session.execute(select(LedgerEntry.campaign_id, LedgerEntry.id)).all())
    assert ids[mine.id] < ids[other.id]


def test_a_member_moved_to_another_ward_is_ranked_there_at_once(app, client, people, tree, make_campaign):
    campaign = make_campaign(template="paperless_week", scope="DN", by="admin")
    member = app.test_client()
    login(member, "member")
    assert log(member, campaign, activity(campaign, "điểm danh")).status_code == 302  # approved at once

    def ranked_within(code: str) -> int:
        response = client.get(f"/api/v1/campaigns/{campaign.slug}/leaderboard?level=member&within={code}")
        return len(response.get_json())

    assert (ranked_within("W1"), ranked_within("W2")) == (1, 0)
    admin = app.test_client()
    login(admin, "admin")
    path = f"/admin/users/{people['member'].id}/edit"
    data = {"username": "member", "display_name": "Member", "role": "member", "home_unit_code": "Q2"}
    data |= {"team_code": "", "youth_union_code": "", "phone": "", "csrf_token": csrf_token(admin, path)}
    assert admin.post(path, data=data).status_code == 302
    assert (ranked_within("W1"), ranked_within("W2")) == (0, 1)
