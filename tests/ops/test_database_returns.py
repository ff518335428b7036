"""PostgreSQL restarting under a running app: the app's own 503 while it is away, service again as
soon as it is back, with no restart of the app (issue 14, item 5); a database host that never answers
is a 503 too, not a request that hangs."""

import socket

import pytest
import requests

from models import db
from tests.conftest import DATABASE_URL, PASSWORD, csrf_from
from tests.ops.processes import set_database_reachable, wait_until

PAGES = ("/", "/campaigns", "/me")


@pytest.mark.skipif(
    DATABASE_URL.startswith("sqlite"),
    reason="a database server going away and coming back; SQLite is a file the app opens itself",
)
def test_while_postgresql_is_away_pages_are_503_and_they_come_back_with_it(app, processes, people):
    web = processes.web(workers=2)
    member = requests.Session()
    token = csrf_from(member.get(web.url + "/login").text)
    signed_in = member.post(web.url + "/login", data={"username": "member", "password": PASSWORD, "csrf_token": token})
    assert signed_in.status_code == 200 and "/logout" in signed_in.text
    assert all(member.get(web.url + path).status_code == 200 for path in PAGES)

    set_database_reachable(DATABASE_URL, False)
    try:
        for _ in range(3):  # each worker, with whatever its pool held
            for path in PAGES:
                away = member.get(web.url + path)
                assert away.status_code == 503, path
                assert "Tạm thời không kết nối được dữ liệu" in away.text
        assert requests.get(web.url + "/readyz").status_code == 503
        assert requests.get(web.url + "/healthz").status_code == 200  # alive: no restart is needed
    finally:
        set_database_reachable(DATABASE_URL, True)
        db.session.remove()  # the test's own connection was cut too
        db.engine.dispose()

    # Back at once: every worker's very first request after the return is served.
    answers = [member.get(web.url + path).status_code for _ in range(4) for path in PAGES]
    assert answers == [200] * len(answers)


def test_a_database_host_that_never_answers_is_a_503_and_a_scheduler_failure_not_a_hang(processes):
    # As a host that drops packets looks to libpq once connected: the kernel completes the handshake of
    # a socket that listens, and nobody ever answers. libpq alone would wait for it without end.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        settings = {
            "DATABASE_URL": f"postgresql+psycopg://thidua@127.0.0.1:{silent.getsockname()[1]}/thidua",
            "DATABASE_CONNECT_TIMEOUT": "2",
        }
        scheduler = processes.scheduler(**settings)
        web = processes.web(workers=1, **settings)
        # Far beyond the connect timeout, far below gunicorn's worker timeout (180 s): only a request
        # that hangs on the connection runs into it. A quiz's public link reads the database unsigned in.
        quiz = requests.get(web.url + "/q/any-quiz", timeout=60)
        assert quiz.status_code == 503
        assert "Tạm thời không kết nối được dữ liệu" in quiz.text
        assert requests.get(web.url + "/readyz", timeout=60).status_code == 503
        # The scheduler's jobs fail as for any database error, and it goes on.
        wait_until(lambda: "failed (1 in a row)" in scheduler.output(), scheduler, timeout=60)
        assert "timeout expired" in scheduler.output()
