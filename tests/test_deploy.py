"""The deployment recipe (deploy/) stays in step with the code: its settings exist, its commands exist,
every long-running service restarts and reports its health, and the app starts the way compose starts it.

CI cannot run Docker or systemd; what it can check without them is checked here.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import requests
import yaml

from deploy.scheduler_leads import lease_holder
from tests.conftest import _TMP, DATABASE_URL
from tests.ops.conftest import processes  # noqa: F401  (the fixture, for the process tests below)
from tests.ops.processes import BIN, ROOT, listening_url, wait_until

DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
CADDYFILE = (DEPLOY / "Caddyfile").read_text()
SERVICES = COMPOSE["services"]
LONG_RUNNING = ("app", "scheduler", "postgres", "redis", "proxy")
# Variables the recipe names that belong to other programs, not to ThiĐua's config.py: the postgres
# image's, compose's own interpolations for Caddy, and boto3's credentials.
EXTERNAL = {
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "THIDUA_DOMAIN",
    "ACME_EMAIL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
}
ENV_LINE = re.compile(r"^#? ?([A-Z][A-Z0-9_]*)=", re.MULTILINE)
INTERPOLATION = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")
SETTING_READ = re.compile(r"""environ(?:\.get)?[(\[]["']([A-Z][A-Z0-9_]*)["']""")
README_ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]*)`(?: / `([A-Z][A-Z0-9_]*)`)?", re.MULTILINE)


def readme_settings() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return {name for row in README_ROW.findall(table) for name in row if name}


def settings_read_by_the_code() -> set[str]:
    return {
        name
        for source in ("config.py", "gunicorn.conf.py")
        for name in SETTING_READ.findall((ROOT / source).read_text())
    }


def compose_variables() -> set[str]:
    names = set(INTERPOLATION.findall((DEPLOY / "compose.yaml").read_text()))
    for service in SERVICES.values():
        names |= set(service.get("environment") or {})
    return names


def unit(name: str) -> dict[str, list[str]]:
    """A unit file's settings, each key with all its values (systemd allows repeats)."""
    settings: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def flask_commands() -> list[list[str]]:
    """Every `flask --app app ...` the recipe runs (units, compose services, the backup loop), as arguments."""
    lines = [
        value
        for path in UNITS.glob("*.service")
        for key in ("ExecStartPre", "ExecStart")
        for value in unit(path.name).get(key, [])
    ]
    for service in SERVICES.values():
        command = service.get("command") or []
        lines.append(command[-1] if command[:2] == ["sh", "-c"] else shlex.join(command))
    found = []
    for line in lines:
        for match in re.finditer(r"flask --app app ([a-z][a-z0-9 -]*[0-9a-z])", line):
            found.append(match.group(1).split())
    return found


def test_every_long_running_service_restarts_and_reports_its_health():
    for name in LONG_RUNNING:
        service = SERVICES[name]
        assert service["restart"] in ("unless-stopped", "always"), name
        healthcheck = service["healthcheck"]
        assert healthcheck["test"] and not healthcheck.get("disable"), name
    assert SERVICES["postgres"]["image"].startswith("postgres:15")
    assert SERVICES["migrate"]["restart"] == "no"
    for name in ("app", "scheduler", "backup"):
        assert SERVICES[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
    assert SERVICES["app"]["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert SERVICES["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_the_app_runs_as_the_recipe_says():
    app = SERVICES["app"]
    assert app["command"][:3] == ["gunicorn", "--config", "gunicorn.conf.py"]
    environment = app["environment"]
    assert environment["THIDUA_ENV"] == "production" and environment["LOG_FORMAT"] == "json"
    assert environment["RATELIMIT_STORAGE_URI"].startswith("redis://redis:")
    assert environment["TRUSTED_PROXIES"] == "1"  # Caddy alone in front
    assert environment["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "header_up X-Request-ID {http.request.uuid}" in CADDYFILE
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile and "USER thidua" in dockerfile
    assert "pybabel compile" in dockerfile and "/healthz" in dockerfile
    # The same gunicorn command in the image, compose and the systemd unit.
    web = unit("thidua-web.service")["ExecStart"][0]
    for arguments in (app["command"], re.search(r"^CMD \[(.*?)\]$", dockerfile, re.DOTALL | re.MULTILINE).group(1)):
        text = arguments if isinstance(arguments, str) else " ".join(arguments)
        assert "gunicorn.conf.py" in text and "deploy/gunicorn-logging.json" in text
    assert "--config gunicorn.conf.py --log-config-json deploy/gunicorn-logging.json" in web


def test_every_variable_the_recipe_names_is_a_setting_of_the_app():
    known = readme_settings() | settings_read_by_the_code() | EXTERNAL
    example = set(ENV_LINE.findall((DEPLOY / ".env.example").read_text()))
    assert compose_variables() - known == set()
    assert example - known == set()


def test_the_example_environment_lists_every_documented_setting():
    example = set(ENV_LINE.findall((DEPLOY / ".env.example").read_text()))
    assert readme_settings() - example == set()


def test_every_setting_the_code_reads_is_documented():
    assert settings_read_by_the_code() - readme_settings() == set()


def test_every_command_the_recipe_runs_is_a_command_of_the_app(runner):
    commands = flask_commands()
    assert {"scheduler", "backup"} <= {command[0] for command in commands}
    assert ["db", "upgrade"] in commands
    for command in commands:
        words = [word for word in command if not word.startswith("-") and not word.isdigit()]
        result = runner.invoke(args=[*words, "--help"])
        assert result.exit_code == 0, (command, result.output)
        for option in (word for word in command if word.startswith("--")):
            assert option in result.output, (command, option)


def test_a_service_whose_command_is_a_shell_loop_runs_under_an_init():
    # sh as process 1 gets no default signal actions: `docker compose stop` would wait out its grace
    # period and kill it, and the programs it started would never be reaped. An init forwards the
    # signal and reaps them.
    loops = [name for name, service in SERVICES.items() if (service.get("command") or [])[:1] == ["sh"]]
    assert "backup" in loops
    for name in loops:
        assert SERVICES[name].get("init") is True, name


def caddy_reverse_proxy() -> dict[str, list[str]]:
    """The Caddyfile's reverse_proxy block: each subdirective with its arguments, comments left out."""
    block = re.search(r"^\treverse_proxy app:8000 \{\n(.*?)^\t\}", CADDYFILE, re.DOTALL | re.MULTILINE)
    assert block, "deploy/Caddyfile proxies to app:8000"
    lines = [line.split("#", 1)[0].split() for line in block.group(1).splitlines()]
    return {words[0]: words[1:] for words in lines if words}


def test_caddy_passes_the_apps_own_503_page_to_the_visitor():
    # With the database down the app answers its own translated 503 page. An active health check on
    # /readyz would take the only upstream out, and visitors would get Caddy's empty 503 instead.
    directives = caddy_reverse_proxy()
    assert not [name for name in directives if name.startswith("health_")], directives
    # Passive: only connections that fail take the app out, for a moment; no answer of the app does.
    assert directives["fail_duration"] and "unhealthy_status" not in directives
    assert "unhealthy_latency" not in directives  # a slow page is still the app's page
    # A request held while the app restarts outlives the app's time out, so it is served once it is back.
    fail, hold = (int(directives[name][0].removesuffix("s")) for name in ("fail_duration", "lb_try_duration"))
    assert fail < hold
    assert not re.search(r"^\s*(handle_errors|handle_response|intercept)\b", CADDYFILE, re.MULTILINE)


def test_caddy_reads_the_caddyfile_as_passive_health_checks_only():
    caddy = shutil.which("caddy")
    if caddy is None:
        reason = "caddy is not installed (Debian: apt install caddy; .ci/run installs it)"
        if os.environ.get("CI") == "true":  # in CI a check that cannot run is a failure, never a silent skip
            pytest.fail(reason)
        pytest.skip(reason + "; the structural test above still ran")
    adapted = subprocess.run(
        [caddy, "adapt", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
        env={**os.environ, "THIDUA_DOMAIN": "thidua.example.vn", "ACME_EMAIL": "ops@thidua.example.vn"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert adapted.returncode == 0, adapted.stderr
    proxies = re.findall(r'"handler":"reverse_proxy".*?"upstreams"', adapted.stdout.replace(" ", ""))
    assert len(proxies) == 1 and '"passive"' in proxies[0] and '"active"' not in proxies[0], adapted.stdout


def test_the_units_restart_and_read_one_environment_file():
    for path in UNITS.glob("*.service"):
        settings = unit(path.name)
        assert settings["EnvironmentFile"] == ["/etc/thidua/thidua.env"], path.name
        assert settings["User"] == ["thidua"], path.name
    scheduler = unit("thidua-scheduler.service")
    assert scheduler["Restart"] == ["always"] and scheduler["RestartSec"] == ["5"]
    web = unit("thidua-web.service")
    # Migrations first, retried with the start while the database is not reachable yet.
    assert web["Restart"] == ["on-failure"] and web["ExecStartPre"][0].endswith("flask --app app db upgrade")
    assert unit("thidua-backup.service")["ExecStart"][0].endswith("flask --app app backup --keep 14")
    assert unit("thidua-backup.timer")["OnCalendar"] and unit("thidua-backup.timer")["Persistent"] == ["true"]


def test_the_gunicorn_logging_file_leaves_out_the_access_log():
    config = json.loads((DEPLOY / "gunicorn-logging.json").read_text())
    assert config["loggers"]["gunicorn.access"]["handlers"] == []
    assert config["formatters"]["json"]["()"] == "web.logs.json_formatter"
    assert config["root"]["handlers"] == []  # the app adds its own handler, with the request id filter


def _production_env(**overrides: str) -> dict[str, str]:
    """The app service's environment from compose.yaml, with this machine's addresses for its services."""
    env = {name: str(value) for name, value in SERVICES["app"]["environment"].items()}
    env.update(
        DATABASE_URL=DATABASE_URL,
        PUBLIC_URL="https://thidua.example",
        EVIDENCE_DIR=f"{_TMP}/evidence",
        BACKUP_DIR=f"{_TMP}/backups",
        PASSWORD_HASH_METHOD="scrypt",  # production refuses the tests' cheap hashes
    )
    env.update(overrides)
    return env


def test_the_app_starts_the_way_compose_starts_it(processes):  # noqa: F811
    env = _production_env(RATELIMIT_STORAGE_URI=processes.redis(), GUNICORN_BIND="127.0.0.1:0", WEB_CONCURRENCY="2")
    command = [str(BIN / "gunicorn"), *SERVICES["app"]["command"][1:]]
    web = processes._start("web", command, env)
    base = listening_url(web)
    wait_until(lambda: _status(base + "/healthz") == 200, web, timeout=60)

    ready = requests.get(base + "/readyz", headers={"X-Request-ID": "deploy-1", "X-Forwarded-For": "203.0.113.7"})
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    assert ready.headers["X-Request-ID"] == "deploy-1"
    web.stop()

    lines = [json.loads(line) for line in web.output().splitlines() if line.strip()]  # every line is JSON
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in lines)
    [access] = [line for line in lines if line["logger"] == "thidua.access" and line["path"] == "/readyz"]
    assert access["request_id"] == "deploy-1" and access["remote_addr"] == "203.0.113.7"
    assert not any(line["logger"] == "gunicorn.access" for line in lines)  # the app's line replaces it


def test_the_scheduler_healthcheck_follows_the_lease(app, processes):  # noqa: F811
    assert lease_holder(app) is None  # no scheduler yet
    scheduler = processes.scheduler(**_production_env())
    wait_until(lambda: lease_holder(app) is not None, scheduler, timeout=60)
    check = subprocess.run(
        [sys.executable, str(DEPLOY / "scheduler_leads.py")],
        env={**os.environ, **processes.env, **_production_env()},
        cwd="/",  # the healthcheck finds the app from wherever it runs
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0 and lease_holder(app) in check.stdout
    scheduler.stop()  # SIGTERM: it gives the lease up
    assert lease_holder(app) is None


def _status(url: str) -> int | None:
    try:
        return requests.get(url, timeout=2).status_code
    except requests.RequestException:
        return None
