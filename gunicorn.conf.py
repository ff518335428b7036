"""gunicorn's settings for ThiĐua, from the environment.

gunicorn reads this file from the working directory by itself (`gunicorn "app:create_app()"` at the
repository root, as `make serve`, deploy/ and tests/ops do). Flags on the command line still win:
`--workers 1` beats WEB_CONCURRENCY. Nothing here needs production's variables.
"""

import gc
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
    """Set the loaded app aside from garbage collection, then say that the worker takes requests.

    A full collection walks every object the collector tracks: with the app loaded, about 173,000,
    80-100 ms on a small server, held up in whichever request it falls on once every few hundred
    (BENCHMARKS.md). The app's modules, tables and translations live as long as the worker, so
    `gc.freeze()` keeps them out of every collection after this one; reference counting still frees
    what is not in a cycle.

    The line comes once the app is loaded ("Booting worker" comes before its imports): a start that
    waits for every worker waits for these.
    """
    gc.freeze()
    worker.log.info(
        "Worker ready (pid: %s, %s objects set aside from garbage collection)", worker.pid, gc.get_freeze_count()
    )
