import contextvars
import gc
import os
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from jinja2 import FileSystemBytecodeCache, StrictUndefined
from sqlalchemy import MetaData, create_engine, delete, text
from sqlalchemy.engine import make_url
from werkzeug.security import generate_password_hash

os.environ.setdefault("SECRET_KEY", "test-secret")
os.environ.setdefault("HASH_KEY", "test-hash-key")

from admin.services import UnitFields, create_unit  # noqa: E402
from app import create_app  # noqa: E402
from campaigns.services import CampaignFields, create_campaign, publish  # noqa: E402
from core.extensions import limiter  # noqa: E402
from models import User, db  # noqa: E402

TESTS = Path(__file__).parent
PASSWORD = "correct horse battery"
# One PBKDF2 round: every account a test creates, resets or signs in with costs nothing, where the
# production default (scrypt) costs ~0.1 s each time. config.py refuses it in production.
PASSWORD_HASH_METHOD = "pbkdf2:sha256:1"
_TMP = tempfile.mkdtemp(prefix="thidua-tests-")


def _database_of_this_process(url: str | None) -> str:
    """Each process (xdist worker) resets a database of its own: SQLite's file is in its own _TMP; on a
    server, the worker id is added to the database's name (thidua_test_gw0), created when missing."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url:
        return f"sqlite:///{_TMP}/test.db"
    if not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


DATABASE_URL = _database_of_this_process(os.environ.get("TEST_DATABASE_URL"))
# Every test builds its own app; compiled templates are shared so that each is compiled once a run.
TEMPLATE_CACHE = FileSystemBytecodeCache(tempfile.mkdtemp(prefix="templates-", dir=_TMP))
# A visitor's forms carry an empty token (web/forgery.py): the field is there, its value is a member's only.
CSRF_PATTERN = re.compile(r'name="csrf_token" type="hidden" value="([^"]*)"|name="csrf_token" value="([^"]*)"')


# Markers (declared in pyproject.toml), set by path here so that no test has to remember one:
#   unit     tests/domain: the pure rules on plain values, no app and no database (milliseconds)
#   browser  tests/e2e: Debian's Chromium against a live server
#   slow     the few tests in SLOW, each seconds to a minute on SQLite (`pytest --durations=40`), and
#            tests/ops, which start gunicorn, scheduler and Redis processes
#   db       everything else: through the app, on the test database
# `make test-fast` runs `-m "not browser and not slow"`; `make test` (CI) runs them all.
SLOW = {
    "tests/campaigns/test_concurrency.py::test_eight_writers_at_once",
    "tests/campaigns/test_ledger_properties.py::test_aggregates_and_boards_always_match_the_ledger",
    "tests/quizzes/test_quiz_credit.py::test_a_hall_of_300_behind_one_address_is_credited_with_the_event_code",
    "tests/test_crawler.py::test_no_page_of_the_demo_fails_for_any_role_in_either_language",
    "tests/test_deploy.py::test_the_app_starts_the_way_compose_starts_it",
    "tests/test_deploy.py::test_the_scheduler_healthcheck_follows_the_lease",
    "tests/test_seed.py::test_province_demo_has_province_scale",
}


def pytest_configure(config: pytest.Config) -> None:
    # Every test builds an app whose objects outlive the young generations, so the collector walked
    # the whole heap every few tests (a fifth of the suite's time): what the imports made is left out
    # of its walks, and the young generation is collected less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(TESTS / "domain"):
            item.add_marker(pytest.mark.unit)
        elif item.path.is_relative_to(TESTS / "e2e"):
            item.add_marker(pytest.mark.browser)
        elif item.nodeid.partition("[")[0] in SLOW or item.path.is_relative_to(TESTS / "ops"):
            item.add_marker(pytest.mark.slow)
        else:
            item.add_marker(pytest.mark.db)
        if _starts_processes(item):
            item.add_marker(pytest.mark.xdist_group("processes"))


# Under xdist (`make test`; `--dist loadgroup` in pyproject.toml) the tests that start processes of their own
# (gunicorn and its workers, schedulers, Redis, eight writers) run on one worker, one after the other: two
# such tests at once on a two-core machine would each wait on the other's processes, and their timeouts
# (SQLite's busy timeout, gunicorn's start) are what a loaded machine runs out of.
MANY_PROCESSES = {"tests/campaigns/test_concurrency.py::test_eight_writers_at_once"}


def _starts_processes(item: pytest.Item) -> bool:
    return (
        item.path.is_relative_to(TESTS / "ops")
        or "processes" in getattr(item, "fixturenames", ())
        or item.nodeid.partition("[")[0] in MANY_PROCESSES
    )


def _create_if_missing(url: str) -> None:
    """A server database per xdist worker, made from the server's default template like `createdb`."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    engine = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        found = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database})
        if not found:
            connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    engine.dispose()


def _drop_everything(url: str) -> None:
    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)
    engine.dispose()


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context and database session, as under a real server.

    Flask would otherwise reuse the test's app context, sharing `g` and the session between the
    test and every request. The test's own transaction is committed before and after, so the
    request sees what the test set up and the test then reads what the request committed.
    """

    def open(self, *args, **kwargs):
        if not has_app_context():  # a redirect followed from inside the isolated request
            return super().open(*args, **kwargs)
        db.session.commit()
        response = contextvars.Context().run(super().open, *args, **kwargs)
        db.session.commit()
        return response


def make_test_app(**overrides):
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
        "RATELIMIT_STORAGE_URI": "memory://",
        "EVIDENCE_DIR": f"{_TMP}/evidence",
        "EVIDENCE_S3_BUCKET": "",  # the directory, whatever the shell exports; S3 tests set their own
        "PASSWORD_HASH_METHOD": PASSWORD_HASH_METHOD,
    }
    config.update(overrides)
    app = create_app(config)
    app.jinja_env.undefined = StrictUndefined
    app.jinja_env.bytecode_cache = TEMPLATE_CACHE
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture(scope="session")
def database_url():
    """The test database, built once per run (per worker) by the real migrations."""
    _create_if_missing(DATABASE_URL)
    _drop_everything(DATABASE_URL)
    app = make_test_app()
    with app.app_context():
        upgrade(directory=str(TESTS.parent / "migrations"))
        db.engine.dispose()
    return DATABASE_URL


@pytest.fixture
def app(database_url):
    app = make_test_app()
    with app.app_context():
        yield app
        db.session.rollback()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(delete(table))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    limiter.reset()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_from(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    assert match, "no CSRF token field in page"
    return match.group(1) if match.group(1) is not None else match.group(2)


def csrf_token(client, path: str = "/login") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def login(client, username: str, password: str = PASSWORD, **kwargs):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token}, **kwargs)


@pytest.fixture
def make_unit(app):
    def make(code, kind, parent=None, name=None, **sizes):
        unit = create_unit(UnitFields(code, name or f"Unit {code}", kind, parent, **sizes))
        db.session.commit()
        return unit

    return make


_HASH = generate_password_hash(PASSWORD, method=PASSWORD_HASH_METHOD)


@pytest.fixture
def make_user(app):
    def make(username, role="member", home_unit=None, team=None, youth_union=None, **fields):
        user = User(
            username=username,
            display_name=fields.pop("display_name", username.title()),
            password_hash=_HASH,
            role=role,
            home_unit=home_unit,
            team=team,
            youth_union=youth_union,
            **fields,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def tree(make_unit):
    """Province DN with two wards; each ward has a quarter, Q1 has a team, W1 a youth union."""
    province = make_unit("DN", "province", adult_population=100_000)
    w1 = make_unit("W1", "ward", province, adult_population=20_000)
    w2 = make_unit("W2", "ward", province, adult_population=30_000)
    q1 = make_unit("Q1", "quarter", w1, adult_population=2_000)
    q2 = make_unit("Q2", "quarter", w2, adult_population=3_000)
    t1 = make_unit("T1", "team", q1, member_count=5)
    y1 = make_unit("Y1", "youth_union", w1, member_count=40)
    return {"DN": province, "W1": w1, "W2": w2, "Q1": q1, "Q2": q2, "T1": t1, "Y1": y1}


@pytest.fixture
def people(tree, make_user):
    """One account of each role: admin, ward leaders of W1 and W2, team leader and member in Q1."""
    return {
        "admin": make_user("admin", "admin", tree["DN"]),
        "leader1": make_user("leader1", "ward_leader", tree["W1"]),
        "leader2": make_user("leader2", "ward_leader", tree["W2"]),
        "teamlead": make_user("teamlead", "team_leader", tree["Q1"], team=tree["T1"]),
        "member": make_user("member", "member", tree["Q1"], team=tree["T1"], youth_union=tree["Y1"]),
        "member2": make_user("member2", "member", tree["Q2"]),
    }


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
            publish(people[by], campaign, min(clock(), starts - timedelta(hours=1)))
        db.session.commit()
        return campaign

    return make


def activity(campaign, name_part: str):
    return next(item for item in campaign.activity_types if name_part in item.name)
