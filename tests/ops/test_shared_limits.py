"""Throttles shared by two app instances through Redis (issue 14, item 3).

Two gunicorn instances of two workers each, as two machines behind one proxy would run, and the
requests alternate between them. With Redis every limit counts once for all of them; with the
in-memory store (the control) each process counts on its own and more than the limit gets
through, which is why production refuses it with several workers (tests/core/test_config_limits.py).
When Redis stops, the limits go on in each process's memory, and return to Redis when it is back.
"""

import subprocess
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import requests
from redis import Redis
from redis.exceptions import RedisError

from models import db
from quizzes.services import QuizFields, create_quiz, seed_question_bank
from tests.conftest import PASSWORD, csrf_from
from tests.ops.processes import Process, Processes, children, ready_workers, wait_until

TOO_MANY = "Bạn đã thử quá nhiều lần trong thời gian ngắn"
# What production needs beyond the harness's environment (its cheap password hashing is refused there).
PRODUCTION = {"THIDUA_ENV": "production", "PUBLIC_URL": "http://127.0.0.1", "PASSWORD_HASH_METHOD": "scrypt"}
QUIZ_START_LIMIT = "5 per 10 minutes"


@pytest.fixture
def quiz(people, tree):
    """A quiz open now by the real clock, which the app processes read."""
    seed_question_bank()
    at = datetime.now(UTC)
    quiz = create_quiz(
        people["leader1"],
        QuizFields("Nhanh", tree["W1"], None, 1, 180, 2, at - timedelta(hours=1), at + timedelta(days=1)),
    )
    db.session.commit()
    return quiz


def failed_login(instance: Process, username: str = "member") -> requests.Response:
    """A wrong password from a browser of its own (its own cookies and CSRF token)."""
    return sign_in(instance, username, "wrong password")


def sign_in(instance: Process, username: str, password: str) -> requests.Response:
    with requests.Session() as browser:  # closed: an idle kept-alive connection would hold a worker
        token = csrf_from(browser.get(instance.url + "/login", timeout=10).text)
        form = {"username": username, "password": password, "csrf_token": token}
        return browser.post(instance.url + "/login", data=form, allow_redirects=False, timeout=10)


def start_quiz(instance: Process, quiz, number: int) -> requests.Response:
    """One resident's start from a phone of its own (a new device each time, so a new attempt)."""
    with requests.Session() as phone:
        token = csrf_from(phone.get(f"{instance.url}/q/{quiz.slug}?u=Q1", timeout=10).text)
        form = {"csrf_token": token, "quarter": "Q1", "name": f"Người {number}", "consent": "y"}
        return phone.post(f"{instance.url}/q/{quiz.slug}/start", data=form, allow_redirects=False, timeout=10)


def alternating(instances: list[Process], count: int, request) -> list[requests.Response]:
    return [request(instances[number % len(instances)], number) for number in range(count)]


def test_two_instances_sharing_redis_count_each_limit_once(processes, people, quiz):
    redis = processes.redis()
    env = {**PRODUCTION, "RATELIMIT_STORAGE_URI": redis, "QUIZ_START_LIMIT": QUIZ_START_LIMIT}
    instances = [processes.web(workers=2, **env), processes.web(workers=2, **env)]  # production starts with Redis

    # LOGIN_LIMIT_PER_ACCOUNT: 5 failed sign-ins per 5 minutes for one account from one address.
    logins = alternating(instances, 6, lambda instance, _number: failed_login(instance))
    assert [response.status_code for response in logins] == [422] * 5 + [429]
    assert TOO_MANY in logins[-1].text
    # The right password is refused as well until the window ends: the count is the account's.
    assert sign_in(instances[0], "member", PASSWORD).status_code == 429
    assert sign_in(instances[1], "member2", PASSWORD).status_code == 302  # another account is not

    starts = alternating(instances, 6, lambda instance, number: start_quiz(instance, quiz, number))
    assert [response.status_code for response in starts] == [302] * 5 + [429]
    assert TOO_MANY in starts[-1].text


def test_without_redis_each_instance_counts_on_its_own(processes, people, quiz):
    """The control: the same requests with memory:// get past both limits (so the test above can fail)."""
    env = {"RATELIMIT_STORAGE_URI": "memory://", "QUIZ_START_LIMIT": QUIZ_START_LIMIT}
    instances = [processes.web(workers=2, **env), processes.web(workers=2, **env)]
    logins = alternating(instances, 10, lambda instance, _number: failed_login(instance))
    assert [response.status_code for response in logins] == [422] * 10  # twice the limit of 5, none refused
    starts = alternating(instances, 10, lambda instance, number: start_quiz(instance, quiz, number))
    assert [response.status_code for response in starts] == [302] * 10


def _redis_on(processes: Processes, port: int) -> Process:
    """A Redis server on a given port (processes.redis() picks a new one), stopped with the others."""
    log = processes.workdir / f"redis-again-{port}.log"
    with log.open("w") as handle:
        popen = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    process = Process("redis", popen, log)
    processes.started.append(process)
    return process


def test_when_redis_stops_or_hangs_the_limits_hold_in_each_process_and_come_back_to_redis(processes, people):
    redis = processes.redis()
    redis_process = processes.started[-1]  # the server that redis() just started
    port = urlsplit(redis).port
    # One worker, so that "each process" is one known counter; many probes below from one address.
    web = processes.web(workers=1, RATELIMIT_STORAGE_URI=redis, LOGIN_LIMIT_PER_ADDRESS="1000 per 5 minutes")
    assert [failed_login(web).status_code for _ in range(2)] == [422, 422]  # counted in Redis

    redis_process.kill9()
    began = time.monotonic()
    down = [failed_login(web) for _ in range(6)]
    # No 500 and no wait: the process counts in its own memory from zero, and still refuses the 6th.
    assert [response.status_code for response in down] == [422] * 5 + [429]
    assert TOO_MANY in down[-1].text
    assert sign_in(web, "member2", PASSWORD).status_code == 302  # nobody is locked out
    assert time.monotonic() - began < 10

    _redis_on(processes, port)
    _wait_for_redis(port)
    with Redis(port=port) as store:

        def counted_in_redis() -> bool:
            failed_login(web, "probe")
            return bool(store.keys("*probe*"))

        # Flask-Limiter looks for the store again at growing intervals (1, 2, 4... up to 32 s).
        wait_until(counted_in_redis, web, timeout=60, every=0.5)

        # A Redis that hangs instead of refusing: a request waits LIMIT_STORE_TIMEOUT_SECONDS, not 5 s.
        store.client_pause(5000)
        began = time.monotonic()
        assert failed_login(web, "hung").status_code == 422
        assert time.monotonic() - began < 3


def _wait_for_redis(port: int) -> None:
    def answers() -> bool:
        try:
            with Redis(port=port, socket_connect_timeout=1) as probe:
                return bool(probe.ping())
        except RedisError:
            return False

    wait_until(answers, timeout=20)


def test_the_command_line_workers_win_over_gunicorn_conf(processes):
    """tests/ops and `make serve` pass --workers; gunicorn.conf.py's WEB_CONCURRENCY default must not win."""
    web = processes.web(workers=1)  # answering on the harness's port: its --bind won too
    assert len(children(web.popen.pid)) == 1


def test_each_worker_sets_the_loaded_app_aside_from_garbage_collection_and_says_it_is_ready(processes):
    """gunicorn.conf.py freezes what the app loaded (a full collection walking it held a request up for
    100 ms), then logs a line per worker: what a start (this harness, the benchmarks) waits for before
    it sends a crowd, rather than the first worker answering /healthz."""
    web = processes.web(workers=2)
    ready = ready_workers(web)
    assert sorted(ready) == sorted(children(web.popen.pid))
    assert min(ready.values()) > 100_000  # the app's modules, tables and translations
