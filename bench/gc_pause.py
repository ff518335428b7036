"""How long a full garbage collection holds up a worker, with the loaded app frozen out of it or not.

    .venv/bin/python bench/gc_pause.py [--requests 200]

Loads the app as a gunicorn worker does (on a temporary SQLite file with the small demo, so that its
pages can be served), freezes it as gunicorn.conf.py does, serves a few hundred of a visitor's
requests (sign-in page, boards, JSON, quiz) through the Flask test client, then times `gc.collect()`
(the least of 5): as the worker does now, and with everything unfrozen, as the worker was before.
Python runs a full collection by itself once the objects that survived younger collections grow by
a quarter; the request it falls on waits for it. Prints objects tracked and milliseconds.
Not part of `make test`.
"""

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATHS = (
    "/login",
    "/campaigns/chu-ky-so-dong-nai/leaderboard",
    "/campaigns/chu-ky-so-dong-nai/leaderboard?level=team&metric=per_capita",
    "/api/v1/campaigns/chu-ky-so-dong-nai/leaderboard?level=quarter&limit=10",
    "/q/an-toan-mang",
)


def full_collection_ms() -> float:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        gc.collect()
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="served before the collections are timed")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"DATABASE_URL": f"sqlite:///{tmp}/gc.db", "SECRET_KEY": "bench", "HASH_KEY": "bench"}
        for command in (["db", "upgrade"], ["seed-demo"]):
            flask = [sys.executable, "-m", "flask", "--app", "app", *command]
            subprocess.run(flask, cwd=ROOT, env=os.environ | env, check=True, capture_output=True)
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        from app import create_app

        app = create_app()
        gc.freeze()  # as each worker does once the app is loaded (gunicorn.conf.py)
        frozen = gc.get_freeze_count()
        client = app.test_client()
        for number in range(options.requests):
            path = PATHS[number % len(PATHS)]
            if (status := client.get(path).status_code) != 200:
                sys.exit(f"{path} answered {status}")
        left = len(gc.get_objects())
        with_freeze = full_collection_ms()
        gc.unfreeze()  # the worker as it was before: every object in every full collection
        without = full_collection_ms()
    print(f"after {options.requests} requests; objects the collector tracks, and a full collection's time:")
    print(f"  nothing frozen:              {frozen + left:>8,} objects  {without:6.1f} ms")
    print(f"  the loaded app frozen:       {left:>8,} objects  {with_freeze:6.1f} ms  ({frozen:,} set aside)")


if __name__ == "__main__":
    main()
