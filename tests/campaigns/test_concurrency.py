"""Eight writers log 2,000 contributions at once: every write lands or is cleanly refused."""

import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from types import SimpleNamespace

from sqlalchemy import func, select

from campaigns.services import ActivityFields, publish, save_activity_type
from models import Contribution, LedgerEntry, db
from scoring import verify
from tests.campaigns.test_logging import log
from tests.conftest import DATABASE_URL, login, make_test_app

WRITERS = 8
PER_WRITER = 250


def _writer(database_url, moment, username, slug, activity_id) -> dict:
    app = make_test_app(SQLALCHEMY_DATABASE_URI=database_url, CLOCK=lambda: moment)
    campaign, activity = SimpleNamespace(slug=slug), SimpleNamespace(id=activity_id)
    statuses = Counter()
    with app.app_context():
        client = app.test_client()
        login(client, username)
        for number in range(PER_WRITER):
            day = date(2026, 11, 2) + timedelta(days=number % 4)
            response = log(client, campaign, activity, occurred_on=day.isoformat(), quantity="1")
            statuses[response.status_code] += 1
            if response.status_code == 422:
                statuses["refused: " + response.get_data(as_text=True).split('<div class="problems"')[1][:200]] += 1
        db.engine.dispose()
    return dict(statuses)


def test_eight_writers_at_once(app, runner, people, make_user, tree, make_campaign, clock):
    campaign = make_campaign(template="custom", published=False)
    installs = save_activity_type(
        people["leader1"],
        campaign,
        ActivityFields(name="Cài VNeTraffic cho người dân", points=2, needs_verification=False),
    )
    publish(people["leader1"], campaign, clock())
    writers = [make_user(f"writer{n}", "member", tree["Q1"], team=tree["T1"]) for n in range(WRITERS)]
    db.session.commit()
    # One process per writer, and no deadline: a loaded machine takes minutes, not a wrong answer.
    # A writer's exception comes back here with its traceback; a writer that dies breaks the pool.
    with ProcessPoolExecutor(WRITERS, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [
            pool.submit(_writer, DATABASE_URL, clock(), user.username, campaign.slug, installs.id) for user in writers
        ]
        totals = Counter()
        for future in futures:
            totals.update(future.result())
    db.session.commit()  # end this session's read snapshot so it sees what the writers committed
    assert totals[500] == 0 and totals[503] == 0, totals
    landed = totals[302]
    assert landed + totals[422] == WRITERS * PER_WRITER, totals
    assert landed == db.session.scalar(select(func.count()).select_from(Contribution))
    assert landed == db.session.scalar(select(func.count()).select_from(LedgerEntry))
    assert landed >= WRITERS * PER_WRITER * 0.99, totals
    assert verify() == []
    result = runner.invoke(args=["verify-scores"])
    assert result.exit_code == 0 and "match the ledger" in result.output
