"""gunicorn's settings for ThiĐua, from the environment.

gunicorn reads this file from the working directory by itself (`gunicorn "app:create_app()"` at the
repository root, as `make serve`, deploy/ and tests/ops do). Flags on the command line still win:
`--workers 1` beats WEB_CONCURRENCY. Nothing here needs production's variables.
"""

import os

from config import check_shared_limits, web_workers

wsgi_app = "app:create_app()"
workers = web_workers()
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
# A member import hashes up to 1,000 passwords before its transaction (about two minutes).
timeout = 180


def on_starting(server) -> None:
    """Refuse, before any worker starts, throttles that each worker would count on its own."""
    check_shared_limits(server.cfg.workers)


def post_worker_init(worker) -> None:
    """A line per worker once it has loaded the app and takes requests ("Booting worker" comes before
    the app's imports): a start that waits for every worker waits for these."""
    worker.log.info("Worker ready (pid: %s)", worker.pid)
