"""PostgreSQL restarting under a running app: the app's own 503 while it is away, service again as
soon as it is back, with no restart of the app (issue 14, item 5)."""

import pytest
import requests
from sqlalchemy import create_engine, text

from models import db
from tests.conftest import DATABASE_URL, PASSWORD, csrf_from

pytestmark = pytest.mark.skipif(
    DATABASE_URL.startswith("sqlite"),
    reason="a database server going away and coming back; SQLite is a file the app opens itself",
)
PAGES = ("/", "/campaigns", "/me")


def _set_reachable(reachable: bool) -> None:
    """Let the test database take connections again, or refuse new ones and cut every existing one,
    which is what the app sees of a server being restarted."""
    engine = create_engine(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = DATABASE_URL.rsplit("/", 1)[1].split("?")[0]
    with engine.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(reachable).lower()}'))
        if not reachable:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name}
            )
    engine.dispose()


def test_while_postgresql_is_away_pages_are_503_and_they_come_back_with_it(app, processes, people):
    web = processes.web(workers=2)
    member = requests.Session()
    token = csrf_from(member.get(web.url + "/login").text)
    signed_in = member.post(web.url + "/login", data={"username": "member", "password": PASSWORD, "csrf_token": token})
    assert signed_in.status_code == 200 and "/logout" in signed_in.text
    assert all(member.get(web.url + path).status_code == 200 for path in PAGES)

    _set_reachable(False)
    try:
        for _ in range(3):  # each worker, with whatever its pool held
            for path in PAGES:
                away = member.get(web.url + path)
                assert away.status_code == 503, path
                assert "Tạm thời không kết nối được dữ liệu" in away.text
        assert requests.get(web.url + "/readyz").status_code == 503
        assert requests.get(web.url + "/healthz").status_code == 200  # alive: no restart is needed
    finally:
        _set_reachable(True)
        db.session.remove()  # the test's own connection was cut too
        db.engine.dispose()

    # Back at once: every worker's very first request after the return is served.
    answers = [member.get(web.url + path).status_code for _ in range(4) for path in PAGES]
    assert answers == [200] * len(answers)
