"""The app under gunicorn on a free loopback port, and a Redis beside it, for the benchmarks; stopped on exit."""

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def gunicorn(env: dict, workers: int, log: Path | None = None):
    """Yield the base URL once every worker has loaded the app (its line from gunicorn.conf.py) and
    /healthz answers: a crowd let in when the first worker answers queues behind the others' imports.
    The server's output (its request lines, which name each request's id and server time) goes to
    `log`, if given."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "app:create_app()",
    ]
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        path = log or Path(tmp) / "gunicorn.log"
        with open(path, "w") as output:
            server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
            try:
                _wait_until_ready(base, path, workers)
                yield base
            finally:
                server.terminate()
                server.wait(timeout=30)


def _wait_until_ready(base: str, log: Path, workers: int) -> None:
    for _ in range(300):
        if log.read_text(errors="replace").count("Worker ready") >= workers:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                return
            except OSError:
                pass
        time.sleep(0.2)
    sys.exit(f"gunicorn did not start in 60 s:\n{log.read_text(errors='replace')[-2000:]}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def redis_server():
    """Yield the URL of a Redis of the benchmark's own (Debian's redis-server), as production runs one."""
    port = _free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=30)
