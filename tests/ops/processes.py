"""Real processes for the operations tests: gunicorn instances, scheduler processes, Redis.

Each runs the app the way deploy/ does (several workers, a separate scheduler, the environment as
configuration) against the test database, so that what one instance writes the test and the other
instances read. Every process started here is stopped by the `processes` fixture (tests/ops/conftest.py).
Each is the leader of a process group of its own, so that kill -9 and the final stop reach everything
it started (gunicorn's workers, and what they started), and none outlives its test.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# gunicorn binds port 0 and says which port the system gave it: no other process can take it meanwhile.
LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")
REDIS_TRIES = 5


def free_port() -> int:
    """A port free a moment ago; another process may take it before it is used: retry on failure."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path
    url: str = ""
    extra: dict = field(default_factory=dict)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> None:
        """SIGKILL to the whole process group at once (gunicorn's master and workers alike): nothing
        gets to clean up, and no master is left to start a worker that would outlive it."""
        _kill_group(self.popen.pid)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM to the process, as systemd or compose would stop it; then SIGKILL to whatever of its
        group is left, so that nothing it started outlives the test."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        self.kill9()


def _kill_group(leader: int) -> None:
    try:
        os.killpg(leader, signal.SIGKILL)
    except ProcessLookupError:  # every process of the group has ended already
        pass


def children(pid: int) -> list[int]:
    """The direct children of a process (gunicorn's workers), read from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


class Processes:
    """Starts processes with one base environment and stops them all at the end of a test."""

    def __init__(self, workdir: Path, env: dict[str, str]):
        self.workdir = workdir
        self.env = env
        self.started: list[Process] = []

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> Process:
        log = self.workdir / f"{name}-{len(self.started)}.log"
        with log.open("w") as handle:  # the child writes through its own copy of the descriptor
            popen = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, **self.env, **env},
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a process group of its own, which kill9 and stop end whole
            )
        process = Process(name, popen, log)
        self.started.append(process)
        return process

    def web(self, workers: int = 3, **env: str) -> Process:
        """A gunicorn instance on a port of its own, returned once every worker has loaded the app and
        /healthz answers."""
        command = [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", "127.0.0.1:0"]
        command += ["--graceful-timeout", "5", "app:create_app()"]
        process = self._start("web", command, env)
        process.url = listening_url(process)
        wait_until(lambda: len(ready_workers(process)) >= workers, process, timeout=60)
        wait_until(lambda: _answers(process.url + "/healthz"), process, timeout=60)
        return process

    def scheduler(self, **env: str) -> Process:
        return self._start("scheduler", [str(BIN / "flask"), "--app", "app", "scheduler"], env)

    def flask(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        """A CLI command of the app, run to the end."""
        return subprocess.run(
            [str(BIN / "flask"), "--app", "app", *args],
            cwd=ROOT,
            env={**os.environ, **self.env, **env},
            capture_output=True,
            text=True,
            timeout=300,
        )

    def redis(self) -> str:
        """A Redis server of this test's own; its URL. Redis cannot bind port 0 and say which port it
        got, so a port taken between free_port and the start means another try on another port."""
        for _ in range(REDIS_TRIES):
            port = free_port()
            command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            process = self._start("redis", command, {})
            # Its own line, not a PING: a PING could be answered by whichever server took the port.
            wait_until(lambda started=process: _redis_ready(started) or not started.alive(), timeout=20)
            if process.alive():
                return f"redis://127.0.0.1:{port}/0"
            if "Address already in use" not in process.output():
                raise AssertionError(f"redis-server ended with {process.popen.returncode}:\n{process.output()[-4000:]}")
        raise AssertionError(f"redis-server found no free port in {REDIS_TRIES} tries")

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.stop()


def _redis_ready(process: Process) -> bool:
    return "Ready to accept connections" in process.output()


def listening_url(process: Process) -> str:
    """The address gunicorn says it listens at, once it has bound (its log, text or JSON)."""
    wait_until(lambda: LISTENING.search(process.output()) is not None, process, timeout=60)
    found = LISTENING.search(process.output())
    assert found is not None
    return found.group(1)


def ready_workers(process: Process) -> dict[int, int]:
    """Per worker that said it had loaded the app (gunicorn.conf.py), the objects it froze."""
    lines = re.findall(r"Worker ready \(pid: (\d+), (\d+) objects", process.output())
    return {int(pid): int(frozen) for pid, frozen in lines}


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False


def wait_until(condition, process: Process | None = None, timeout: float = 30, every: float = 0.1) -> None:
    """Poll until the condition holds; fail with the process's output if it ended or time ran out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and not process.alive():
            raise AssertionError(f"{process.name} ended with {process.popen.returncode}:\n{process.output()[-4000:]}")
        if time.monotonic() > deadline:
            tail = process.output()[-4000:] if process is not None else ""
            raise AssertionError(f"timed out after {timeout} s\n{tail}")
        time.sleep(every)


def scheduler_id(process: Process) -> str | None:
    """The lease holder id a scheduler process announces when it starts; None until it has."""
    found = re.search(r"Scheduler (\S+): sweeps every", process.output())
    return found.group(1) if found else None


def leads(process: Process) -> bool:
    """Whether the scheduler process has said it holds the lease."""
    holder = scheduler_id(process)
    return holder is not None and f"Scheduler {holder} leads" in process.output()


def set_database_reachable(url: str, reachable: bool) -> None:
    """PostgreSQL: let the database take connections again, or refuse new ones and cut every existing
    one, which is what the app sees of a server being restarted. The caller's own connections are cut
    too: dispose of its engine afterwards."""
    engine = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1].split("?")[0]
    with engine.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(reachable).lower()}'))
        if not reachable:
            # Waits (up to 5 s) until each backend has ended, so no pooled connection is still answering.
            connection.execute(
                text("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = :name"),
                {"name": name},
            )
    engine.dispose()
