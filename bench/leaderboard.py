"""Leaderboard cost at province scale, with 10,000 and then 1,000,000 ledger rows.

    .venv/bin/python bench/leaderboard.py [--repeat 20] [--seconds 10] [--rows 10000,1000000]

On one fresh SQLite file: seed the province demo (95 wards, ~1,000 quarters, ~2,000 teams, ~13,000
members), top the ledger up to 10,000 rows, write last night's ranks (the scheduler's job), measure;
top it up to 1,000,000 rows, measure again. For every level x metric x period board of the
province-wide campaign (top 50, as the service builds it on the first read after a write: it reads
the top rows of the aggregates down an index, and last night's ranks) it prints p50 and p95, the
same board computed naively from the ledger (GROUP BY member over the ledger, rolled up to units),
and the 1M/10k ratio (goal: at most 1.2). Then the request rate of the leaderboard JSON endpoint
against /healthz under gunicorn (goal: at least 0.8).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gunicorn_server import gunicorn  # noqa: E402

SLUG = "chu-ky-so-dong-nai"
BOARDS = [
    (level, metric, period)
    for level in ("ward", "quarter", "youth_union", "team")
    for metric in ("points", "per_capita", "target")
    for period in ("all", "today", "week")
] + [("member", "points", period) for period in ("all", "today", "week")]


def flask(env, *args):
    subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, check=True, capture_output=True)


def timings(function, repeat):
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return samples[len(samples) // 2], samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def naive_board(campaign, level, since):
    """The board the slow way: sum the ledger per member now, then roll members up to units."""
    from sqlalchemy import func, select

    from leaderboards.services import LEVEL_KINDS
    from models import LedgerEntry, Unit, db
    from scoring import decode_units

    sums = db.session.execute(
        select(LedgerEntry.credited_units, func.sum(LedgerEntry.points))
        .where(LedgerEntry.campaign_id == campaign.id, LedgerEntry.day >= since)
        .group_by(LedgerEntry.member_id, LedgerEntry.credited_units)
    ).all()
    if level == "member":
        return sorted((points for _units, points in sums), reverse=True)[:50]
    wanted = set(db.session.scalars(select(Unit.id).where(Unit.kind.in_(LEVEL_KINDS[level]))))
    totals = defaultdict(int)
    for units, points in sums:
        for unit_id in decode_units(units):
            if unit_id in wanted:
                totals[unit_id] += points
    return sorted(totals.values(), reverse=True)[:50]


def measure(env, repeat):
    os.environ.update(env)
    from app import create_app
    from core.clock import local_date, now
    from leaderboards.services import board, period_window
    from leaderboards.tasks import run_sweep
    from models import Campaign, db

    app = create_app()
    results = {}
    with app.app_context():
        campaign = db.session.query(Campaign).filter_by(slug=SLUG).one()
        today = local_date(now())
        run_sweep(app)  # last night's ranks, which boards join for movement
        for level, metric, period in BOARDS:
            fast = timings(lambda lv=level, m=metric, p=period: board(campaign, lv, m, p, None, 50, today), repeat)
            since = (period_window(period, today) or (date.min, today))[0]
            slow = timings(lambda lv=level, s=since: naive_board(campaign, lv, s), max(3, repeat // 4))
            results[level, metric, period] = (fast, slow)
        db.engine.dispose()
    return results


def rate(url, seconds, threads=8):
    count, stop = [0], time.monotonic() + seconds
    lock = threading.Lock()

    def hammer():
        while time.monotonic() < stop:
            urllib.request.urlopen(url, timeout=30).read()
            with lock:
                count[0] += 1

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return count[0] / seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rows", default="10000,1000000", help="ledger sizes to measure at, comma-separated")
    args = parser.parse_args()
    sizes = [int(size) for size in args.rows.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "SECRET_KEY": "bench",
            "HASH_KEY": "bench",
            "FLASK_APP": "app",
        }
        flask(env, "db", "upgrade")
        flask(env, "seed-demo", "--scale", "province")
        import sqlite3

        def ledger_rows():
            with sqlite3.connect(f"{tmp}/bench.db") as connection:
                return connection.execute("SELECT count(*) FROM ledger_entry").fetchone()[0]

        measured = {}
        for target in sizes:
            missing = target - ledger_rows()
            if missing > 0:
                flask(env, "seed-demo", "--contributions", str(missing))
            measured[target] = measure(env, args.repeat)
            print(f"ledger_rows={ledger_rows():,}")
        print(
            f"{'board':<30}{'p50@small':>10}{'p95@small':>10}{'p50@big':>9}{'p95@big':>9}{'ratio':>7}"
            f"{'naive p50@small':>17}{'naive p50@big':>15}"
        )
        for key in BOARDS:
            (fast_small, slow_small), (fast_big, slow_big) = measured[sizes[0]][key], measured[sizes[-1]][key]
            print(
                f"{' x '.join(key):<30}{fast_small[0]:10.1f}{fast_small[1]:10.1f}{fast_big[0]:9.1f}"
                f"{fast_big[1]:9.1f}{fast_big[0] / fast_small[0]:7.2f}{slow_small[0]:17.1f}{slow_big[0]:15.1f}"
            )
        with gunicorn(env, 2) as base:
            health = rate(base + "/healthz", args.seconds)
            boards = rate(
                f"{base}/api/v1/campaigns/{SLUG}/leaderboard?level=quarter&metric=target&limit=20", args.seconds
            )
        print(
            f"requests/s: healthz={health:.0f} leaderboard_json={boards:.0f} ratio={boards / health:.2f} "
            f"(gunicorn 2 workers, 8 client threads, {args.seconds:.0f} s each, {sizes[-1]:,} ledger rows)"
        )
        print(f"p50/p95 in ms; small = {sizes[0]:,} ledger rows, big = {sizes[-1]:,}; ratio = p50 big / small")


if __name__ == "__main__":
    main()
