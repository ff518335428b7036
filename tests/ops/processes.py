"""Real processes for the operations tests: gunicorn instances, scheduler processes, Redis.

Each runs the app the way deploy/ does (several workers, a separate scheduler, the environment as
configuration) against the test database, so that what one instance writes the test and the other
instances read. Every process started here is stopped by the `processes` fixture (tests/ops/conftest.py).
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


def free_port() -> int:
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
        """SIGKILL to the process and, for gunicorn, to its workers first: nothing gets to clean up."""
        for child in children(self.popen.pid):
            os.kill(child, signal.SIGKILL)
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill9()


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
                command, cwd=ROOT, env={**os.environ, **self.env, **env}, stdout=handle, stderr=subprocess.STDOUT
            )
        process = Process(name, popen, log)
        self.started.append(process)
        return process

    def web(self, workers: int = 3, **env: str) -> Process:
        """A gunicorn instance on its own port, returned once /healthz answers."""
        port = free_port()
        command = [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}"]
        command += ["--graceful-timeout", "5", "app:create_app()"]
        process = self._start("web", command, env)
        process.url = f"http://127.0.0.1:{port}"
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
        """A Redis server of this test's own; its URL."""
        port = free_port()
        command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        process = self._start("redis", command, {})
        url = f"redis://127.0.0.1:{port}/0"
        wait_until(lambda: _redis_answers(port), process, timeout=20)
        return url

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.stop()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
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
