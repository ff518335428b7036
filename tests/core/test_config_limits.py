"""Throttles that every worker shares: production refuses to count them per process.

Several gunicorn workers with the in-memory store each count on their own, so a limit of 5 lets
5 times the workers through (issue 14). `config.check_shared_limits` is the one check: gunicorn
calls it with the worker count it is about to start (gunicorn.conf.py), `config_from_env` with
WEB_CONCURRENCY, so that `flask` commands and other servers refuse too. The two-instance tests
with Redis are in tests/ops/test_shared_limits.py.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from config import LIMIT_STORE_TIMEOUT_SECONDS, check_shared_limits, config_from_env, web_workers
from core.extensions import check_limit_settings
from tests.conftest import make_test_app

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PRODUCTION = {
    "THIDUA_ENV": "production",
    "SECRET_KEY": "test-secret",
    "HASH_KEY": "test-hash-key",
    "PUBLIC_URL": "https://thidua.example.vn",
    "PASSWORD_HASH_METHOD": "scrypt",
}
REDIS = "redis://127.0.0.1:6379/0"


def _environment(**changes: str | None) -> dict[str, str]:
    """This process's environment with production's variables and the given changes (None removes)."""
    environ = {**os.environ, **PRODUCTION}
    environ.pop("WEB_CONCURRENCY", None)
    for name, value in changes.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return environ


@pytest.mark.parametrize("store", ["memory://", None])  # None: unset, which is memory://
def test_production_refuses_throttles_counted_per_process_with_several_workers(store):
    environ = {"THIDUA_ENV": "production"} | ({"RATELIMIT_STORAGE_URI": store} if store else {})
    with pytest.raises(RuntimeError) as refusal:
        check_shared_limits(3, environ)
    message = str(refusal.value)
    assert "3 workers" in message and "RATELIMIT_STORAGE_URI" in message
    assert "redis://" in message and "WEB_CONCURRENCY=1" in message


@pytest.mark.parametrize(
    ("environ", "workers"),
    [
        ({"THIDUA_ENV": "production", "RATELIMIT_STORAGE_URI": "memory://"}, 1),  # one process counts it all
        ({"THIDUA_ENV": "production", "RATELIMIT_STORAGE_URI": REDIS}, 8),
        ({"THIDUA_ENV": "production", "RATELIMIT_STORAGE_URI": "rediss://cache.internal:6380/2"}, 8),
        ({"RATELIMIT_STORAGE_URI": "memory://"}, 3),  # development
    ],
)
def test_shared_stores_and_single_processes_may_start(environ, workers):
    check_shared_limits(workers, environ)


def test_web_concurrency_is_a_whole_number_of_workers_three_by_default():
    assert web_workers({}) == 3
    assert web_workers({"WEB_CONCURRENCY": "5"}) == 5
    for wrong in ("0", "many", "-2", "1.5"):
        with pytest.raises(RuntimeError, match="WEB_CONCURRENCY"):
            web_workers({"WEB_CONCURRENCY": wrong})


def test_the_configuration_refuses_what_web_concurrency_says_would_count_per_worker(monkeypatch, tmp_path):
    for name, value in _environment(RATELIMIT_STORAGE_URI="memory://", WEB_CONCURRENCY="2").items():
        monkeypatch.setenv(name, value)
    with pytest.raises(RuntimeError, match="2 workers"):
        config_from_env(str(tmp_path))
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    assert config_from_env(str(tmp_path))["RATELIMIT_STORAGE_URI"] == "memory://"
    monkeypatch.delenv("WEB_CONCURRENCY")  # a single-process server or a command: nothing to share with
    assert config_from_env(str(tmp_path))["RATELIMIT_STORAGE_URI"] == "memory://"


def test_redis_gets_timeouts_so_a_hung_redis_cannot_hold_requests(monkeypatch, tmp_path):
    for name, value in _environment(RATELIMIT_STORAGE_URI=REDIS, WEB_CONCURRENCY="4").items():
        monkeypatch.setenv(name, value)
    config = config_from_env(str(tmp_path))
    assert config["RATELIMIT_STORAGE_OPTIONS"] == {
        "socket_connect_timeout": LIMIT_STORE_TIMEOUT_SECONDS,
        "socket_timeout": LIMIT_STORE_TIMEOUT_SECONDS,
    }
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    assert config_from_env(str(tmp_path))["RATELIMIT_STORAGE_OPTIONS"] == {}


def test_gunicorn_refuses_to_start_two_workers_counting_on_their_own():
    gunicorn = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"]
    started = subprocess.run(
        [*gunicorn, "--workers", "2", "--bind", "127.0.0.1:0", "app:create_app()"],
        cwd=ROOT,
        env=_environment(RATELIMIT_STORAGE_URI="memory://"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "2 workers" in started.stderr and "RATELIMIT_STORAGE_URI" in started.stderr
    assert "Booting worker" not in started.stderr  # refused before any worker started


def test_gunicorn_takes_its_workers_from_web_concurrency_and_the_command_line_wins():
    def configured(*flags: str, **changes: str | None) -> dict[str, str]:
        # --print-config imports the application too: the standard library's demo app loads at once.
        printed = subprocess.run(
            [str(BIN / "gunicorn"), "--print-config", *flags, "wsgiref.simple_server:demo_app"],
            cwd=ROOT,  # gunicorn reads ./gunicorn.conf.py from here, as deploy/ and tests/ops do
            env=_environment(THIDUA_ENV=None, **changes),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert printed.returncode == 0, printed.stderr
        return dict(re.findall(r"^(\w+)\s+= (.*)$", printed.stdout, re.MULTILINE))

    defaults = configured()
    assert defaults["workers"] == "3" and defaults["bind"] == "['127.0.0.1:8000']" and defaults["timeout"] == "180"
    assert configured(WEB_CONCURRENCY="5")["workers"] == "5"
    assert configured("--workers", "2", WEB_CONCURRENCY="5")["workers"] == "2"
    assert configured(GUNICORN_BIND="0.0.0.0:9000")["bind"] == "['0.0.0.0:9000']"


def test_flask_commands_refuse_too_when_web_concurrency_says_several_workers():
    ran = subprocess.run(
        [str(BIN / "flask"), "--app", "app", "routes"],
        cwd=ROOT,
        env=_environment(RATELIMIT_STORAGE_URI="memory://", WEB_CONCURRENCY="3"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode != 0
    assert "3 workers" in ran.stderr


@pytest.mark.parametrize("setting", ["LOGIN_LIMIT_PER_ACCOUNT", "LOGIN_LIMIT_PER_ADDRESS", "QUIZ_START_LIMIT"])
def test_a_limit_that_is_not_a_rate_refuses_to_start(setting):
    # flask-limiter swallows errors so that a Redis outage fails no request; a typo in a limit would
    # be swallowed too, at every request, and leave that door unthrottled without a word.
    ran = subprocess.run(
        [str(BIN / "flask"), "--app", "app", "routes"],
        cwd=ROOT,
        env=_environment(THIDUA_ENV=None, RATELIMIT_STORAGE_URI="memory://", **{setting: "5 per 5 minuts"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode != 0
    assert f"{setting} is '5 per 5 minuts', which is not a rate limit" in ran.stderr, ran.stderr


def test_flask_limiters_own_limit_settings_are_checked_too():
    with pytest.raises(RuntimeError, match="RATELIMIT_DEFAULT is '100 per fortnight', which is not a rate limit"):
        make_test_app(RATELIMIT_DEFAULT="100 per fortnight")
    # Good ones pass. Checked without binding an app: the limiter is one object for every app in this
    # process, and a default limit bound to it would stay on every later test's routes.
    check_limit_settings({"RATELIMIT_DEFAULT": "100/hour;1000/day", "QUIZ_START_LIMIT": "10 per minute"})
