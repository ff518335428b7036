"""Event load: 1,000 residents join a 5-question quiz within two minutes, against gunicorn on SQLite.

    .venv/bin/python bench/quiz_event.py [--residents 1000] [--seconds 120] [--workers 4]

Seeds the small demo into a fresh SQLite file, serves it with gunicorn on 127.0.0.1, and lets each
resident (a thread with its own cookies) open the QR link, start, and answer five questions, arriving
evenly over the given seconds. Prints p50/p95/p99 of the answer requests and compares answers
acknowledged to the server with answers stored in the database (they must be equal).
"""

import argparse
import http.cookiejar
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from event_evening import CHOICE, CSRF, POSITION
from gunicorn_server import gunicorn

ROOT = Path(__file__).resolve().parents[1]
QUIZ = "an-toan-mang"
QUARTER = "DN-BINHLOC-CAPRANG"


def resident(base: str, number: int, arrival: float, latencies: list, outcome: dict, lock: threading.Lock):
    time.sleep(max(0.0, arrival - time.perf_counter()))
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(path, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        with opener.open(base + path, body, timeout=60) as response:
            return response.read().decode()

    try:
        page = call(f"/q/{QUIZ}?u={QUARTER}")
        token = CSRF.search(page).group(1)
        page = call(
            f"/q/{QUIZ}/start",
            {
                "csrf_token": token,
                "quarter": QUARTER,
                "name": f"Cư dân {number}",
                "phone": f"09{number:08d}",
                "consent": "y",
            },
        )
        for _question in range(5):
            position, choice = POSITION.search(page).group(1), CHOICE.findall(page)[number % 2]
            started = time.perf_counter()
            answered = call(f"/q/{QUIZ}/answer", {"csrf_token": token, "position": position, "choice": choice})
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                # Each answer is acknowledged without right or wrong; the last one lands on the result.
                if "Đã ghi nhận câu trả lời." in answered or 'class="score"' in answered:
                    outcome["acknowledged"] += 1
                else:
                    outcome["unacknowledged"] += 1
            page = answered
    except Exception as error:  # a failed resident is counted, the run goes on
        with lock:
            outcome["errors"] += 1
            outcome.setdefault("first_error", repr(error))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = f"{tmp}/event.db"
        env = os.environ | {
            "DATABASE_URL": f"sqlite:///{database}",
            "SECRET_KEY": "bench",
            "HASH_KEY": "bench",
            "QUIZ_START_LIMIT": "100000 per minute",  # everyone here shares 127.0.0.1
            "FLASK_APP": "app",
        }
        flask = [sys.executable, "-m", "flask"]
        subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
        subprocess.run([*flask, "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
        with gunicorn(env, args.workers) as base:
            latencies: list[float] = []
            outcome = {"acknowledged": 0, "unacknowledged": 0, "errors": 0}
            lock = threading.Lock()
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=min(args.residents, 200)) as pool:
                for number in range(args.residents):
                    arrival = started + args.seconds * number / args.residents
                    pool.submit(resident, base, number, arrival, latencies, outcome, lock)
            wall = time.perf_counter() - started
        with sqlite3.connect(database) as connection:
            stored = connection.execute(
                "SELECT count(*) FROM attempt_question WHERE answered_at IS NOT NULL"
            ).fetchone()[0]
            attempts = connection.execute("SELECT count(*) FROM attempt").fetchone()[0]
            finished = connection.execute("SELECT count(*) FROM attempt WHERE finished_at IS NOT NULL").fetchone()[0]
        cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
        print(
            f"residents={args.residents} arrival_window_s={args.seconds:.0f} workers={args.workers} wall_s={wall:.1f}"
        )
        print(
            f"answers: p50_ms={cuts[49] * 1000:.1f} p95_ms={cuts[94] * 1000:.1f} p99_ms={cuts[98] * 1000:.1f} "
            f"max_ms={max(latencies, default=0) * 1000:.1f}"
        )
        print(
            f"acknowledged={outcome['acknowledged']} stored={stored} equal={outcome['acknowledged'] == stored} "
            f"unacknowledged={outcome['unacknowledged']} resident_errors={outcome['errors']} "
            f"attempts={attempts} finished={finished}"
        )
        if "first_error" in outcome:
            print("first error:", outcome["first_error"])


if __name__ == "__main__":
    main()
