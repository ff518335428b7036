"""A board's JSON answered from a worker's memory while Redis says its campaign's scores have not moved
(core/shared_versions.py; docs/ARCHITECTURE.md, "A board's JSON without the database").

Two app instances stand for two workers, or two machines, sharing the test database and a Redis of
the test's own: one reads, the other writes through the doors a leader uses. What is tested is that the
reader asks the database nothing while nothing moved, and that whatever moves a board (an approval,
archiving the campaign) is seen by the reader's very next request, with Redis up, down, or missing a
delete.
"""

import gzip
import json
import time
from collections.abc import Iterator

import brotli
import pytest
from flask import Flask

import core.shared_versions
from models import Contribution, db
from tests.campaigns.test_query_budgets import _pending
from tests.conftest import csrf_token, login, make_test_app
from tests.ops.processes import Processes
from tests.sql_budget import counted_statements

BOARD = "/api/v1/campaigns/{slug}/leaderboard?level=quarter&metric=points&limit=10"


@pytest.fixture
def redis_url(processes: Processes) -> str:
    return processes.redis()


@pytest.fixture
def workers(redis_url, clock) -> Iterator[tuple[Flask, Flask]]:
    """A reader and a writer, both told of the same Redis, on the test's clock."""
    apps = make_test_app(REDIS_URL=redis_url, CLOCK=clock), make_test_app(REDIS_URL=redis_url, CLOCK=clock)
    yield apps
    for app in apps:  # their connections closed now, not whenever a later test collects them
        with app.app_context():
            db.engine.dispose()
        shared = app.extensions[core.shared_versions.EXTENSION]
        if shared.client is not None:
            shared.client.close()


@pytest.fixture
def board(make_campaign, people, tree):
    """A running campaign with one piece of the member's work waiting for review in Q1."""
    campaign = make_campaign(template="paperless_week")
    waiting = _pending([campaign], [people["member"]], 1)[0]
    db.session.commit()
    return campaign, waiting


def _read(app: Flask, path: str) -> tuple[int, object, int]:
    """Status, JSON and how many SQL statements the request sent, counted on that app's own engine."""
    with app.app_context():
        engine = db.engine
    with counted_statements(engine) as statements:
        response = app.test_client().get(path)
    return response.status_code, response.get_json(), len(statements)


def _points_of(rows, code: str) -> int:
    return next(row["points"] for row in rows if row["unit_code"] == code)


def _approve(app: Flask, contribution: Contribution) -> None:
    leader = app.test_client()
    login(leader, "leader1")
    token = csrf_token(leader, "/review")
    assert leader.post(f"/review/{contribution.id}/approve", data={"csrf_token": token}).status_code in (200, 302)


def test_a_kept_board_is_read_without_the_database_and_an_approval_elsewhere_is_seen_at_once(workers, board):
    reader, writer = workers
    campaign, waiting = board
    path = BOARD.format(slug=campaign.slug)
    status, before, _ = _read(reader, path)
    assert status == 200 and _points_of(before, "Q1") == 0
    _read(reader, path)  # the campaign's id is learnt on the first read, its JSON kept on the second
    status, again, statements = _read(reader, path)
    assert (status, again, statements) == (200, before, 0)

    _approve(writer, waiting)  # another worker's commit deletes the token
    status, after, statements = _read(reader, path)
    assert status == 200 and statements > 0
    assert _points_of(after, "Q1") == waiting.points
    assert _read(reader, path) == (200, after, 0)  # kept again, under the new token


@pytest.mark.parametrize("encoding, decode", [("br", brotli.decompress), ("gzip", gzip.decompress)])
def test_a_kept_board_is_sent_compressed_once_as_the_browser_asks(workers, board, encoding, decode):
    reader, _ = workers
    path = BOARD.format(slug=board[0].slug)
    for _ in range(2):
        _read(reader, path)
    plain = reader.test_client().get(path, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    packed = reader.test_client().get(path, headers={"Accept-Encoding": encoding})
    assert packed.headers["Content-Encoding"] == encoding and "Accept-Encoding" in packed.headers["Vary"]
    assert json.loads(decode(packed.get_data())) == plain.get_json() and len(packed.get_data()) < len(plain.get_data())


def test_archiving_moves_the_token_so_a_kept_board_is_not_shown_any_more(workers, board, clock):
    reader, writer = workers
    campaign, _ = board
    path = BOARD.format(slug=campaign.slug)
    clock.advance(days=40)  # ended: still public
    for _ in range(2):
        _read(reader, path)
    assert _read(reader, path)[::2] == (200, 0)
    leader = writer.test_client()
    login(leader, "leader1")
    token = csrf_token(leader, f"/campaigns/{campaign.slug}")
    assert leader.post(f"/campaigns/{campaign.slug}/archive", data={"csrf_token": token}).status_code == 302
    assert _read(reader, path)[0] == 404


def test_with_redis_gone_the_board_is_read_from_the_database_and_stays_fresh(workers, board, processes):
    reader, writer = workers
    campaign, waiting = board
    path = BOARD.format(slug=campaign.slug)
    for _ in range(3):
        _read(reader, path)
    for process in processes.started:
        if process.name == "redis":
            process.stop()
    status, rows, statements = _read(reader, path)
    assert status == 200 and statements > 0 and _points_of(rows, "Q1") == 0
    _approve(writer, waiting)  # its delete fails: logged, the approval stands
    status, rows, statements = _read(reader, path)
    assert status == 200 and statements > 0 and _points_of(rows, "Q1") == waiting.points


def test_a_lost_delete_leaves_a_board_stale_no_longer_than_a_token_lives(workers, board, app, monkeypatch):
    reader, _ = workers
    campaign, waiting = board
    monkeypatch.setattr(core.shared_versions, "TOKEN_SECONDS", 1)
    path = BOARD.format(slug=campaign.slug)
    for _ in range(3):
        _read(reader, path)
    _approve(app, waiting)  # an app without Redis: as if the writer died between commit and delete
    assert _points_of(_read(reader, path)[1], "Q1") == 0  # stale, as documented
    time.sleep(1.5)
    assert _points_of(_read(reader, path)[1], "Q1") == waiting.points
