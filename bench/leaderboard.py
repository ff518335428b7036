"""Every board's first read after an approved write, at 10,000 and 1,000,000 ledger rows, province or
national scale, on SQLite or PostgreSQL; and the JSON top-10's request rate against /healthz.

    .venv/bin/python bench/leaderboard.py [--scale province|national] [--rows 10000,1000000]
        [--repeat 40] [--seconds 10] [--limit 50] [--naive] [--json-out result.json]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:54329/scratch]
    .venv/bin/python bench/leaderboard.py --compare province.json national.json

Seeds the demo at the scale into a fresh database (a temporary SQLite file, or the given PostgreSQL
database or SQLite file, WHICH IS EMPTIED; a file stays, to profile afterwards), then for each ledger
size: tops the ledger up with `seed-demo --contributions` (the batched award path), writes last
night's ranks (the scheduler's job), and for every level x metric x period board of the
province-wide campaign takes `--repeat` samples of:

1. one pending contribution (dated today) approved by the province admin through
   `campaigns.services.approve_many`, the door a leader's approval goes through, and committed: the
   campaign's scores version moves;
2. timed: the read a request makes next, in a fresh session: `campaign_with_version`, then
   `cached_board` with that version (a miss, so the board is built from the aggregates).

Prints per board and size the p50/p95 of wall time and the p50 of this process's CPU time (which a
busy machine disturbs less), the ratio of the largest size to the smallest (goal <= 1.2),
optionally (`--naive`) the same board summed from the ledger, and the request rate of the JSON
top-10 against /healthz in one gunicorn run (goal >= 0.8), with the scores version told by a Redis
of the benchmark's own (as in production) and, to compare, read from the database. Load averages are printed with each
phase: the figures mean little without them on a shared machine. `--json-out` keeps the figures;
`--compare a.json b.json` prints b / a per board (national / province: goal <= 1.2).
Not part of `make test`.
"""

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from datetime import date
from pathlib import Path

from gunicorn_server import gunicorn, redis_server
from seed_contributions import empty_postgresql
from sqlalchemy import Engine, create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the app's packages, imported in this process for the samples

SLUG = "chu-ky-so-dong-nai"
BOARDS = [
    (level, metric, period)
    for level in ("ward", "quarter", "youth_union", "team")
    for metric in ("points", "per_capita", "target")
    for period in ("all", "today", "week")
] + [("member", "points", period) for period in ("all", "today", "week")]
CUTS = ("p50", "p95", "cpu_p50")  # what each board's figures hold, and what ratios compare
RATE_BOARD = "level=quarter&metric=target&limit=10"


def flask(env: dict, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"flask {' '.join(args)} failed:\n{done.stderr[-3000:]}")


def load() -> str:
    return "/".join(f"{figure:.2f}" for figure in os.getloadavg())


def ledger_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM ledger_entry")).scalar_one()


def cuts(samples: list[tuple[float, float]]) -> dict[str, float]:
    """p50 and p95 of wall time, and p50 of the process's CPU time (on SQLite the database's work too)."""
    wall = [elapsed for elapsed, _cpu in samples]
    return {
        "p50": round(statistics.median(wall), 2),
        "p95": round(statistics.quantiles(wall, n=20, method="inclusive")[18], 2),
        "cpu_p50": round(statistics.median(cpu for _elapsed, cpu in samples), 2),
    }


def naive_board(campaign_id: int, level: str, since: date) -> list[int]:
    """The board the slow way: sum the ledger per member now, then roll members up to units."""
    from sqlalchemy import func, select

    from leaderboards.services import LEVEL_KINDS
    from models import LedgerEntry, Unit, db
    from scoring import decode_units

    sums = db.session.execute(
        select(LedgerEntry.credited_units, func.sum(LedgerEntry.points))
        .where(LedgerEntry.campaign_id == campaign_id, LedgerEntry.day >= since)
        .group_by(LedgerEntry.member_id, LedgerEntry.credited_units)
    ).all()
    if level == "member":
        return sorted((points for _units, points in sums), reverse=True)[:50]
    wanted = set(db.session.scalars(select(Unit.id).where(Unit.kind.in_(LEVEL_KINDS[level]))))
    totals: dict[int, int] = defaultdict(int)
    for units, points in sums:
        for unit_id in decode_units(units):
            if unit_id in wanted:
                totals[unit_id] += points
    return sorted(totals.values(), reverse=True)[:50]


def pending_today(campaign_id: int, count: int, today: date) -> list[int]:
    """`count` pending contributions of the campaign, made by the demo seeder and dated today, so that
    each approval moves the whole-campaign, week and today aggregates alike."""
    from sqlalchemy import select, update

    from core.clock import now
    from demo.campaigns import add_demo_contributions
    from domain.enums import ContributionStatus
    from models import Contribution, db

    pending = select(Contribution.id).where(
        Contribution.campaign_id == campaign_id, Contribution.status == ContributionStatus.PENDING
    )
    rng = random.Random(16)
    while len(ids := db.session.scalars(pending.order_by(Contribution.id)).all()) < count:
        add_demo_contributions(count - len(ids), now(), rng, pending_share=1.0)  # spread over the demo campaigns
    chosen = list(ids[:count])
    db.session.execute(update(Contribution).where(Contribution.id.in_(chosen)).values(occurred_on=today))
    db.session.commit()
    return chosen


def first_read_after_approval(
    contribution_id: int, admin_id: int, board: tuple, limit: int, today: date
) -> tuple[float, float]:
    """Approve one contribution as a leader's request does, then time the next request's board read:
    (wall ms, CPU ms of this process)."""
    from campaigns.services import approve_many, contributions_for_decision
    from core.clock import now
    from leaderboards.services import cached_board, campaign_with_version
    from models import User, db

    outcome = approve_many(db.session.get(User, admin_id), contributions_for_decision([contribution_id]), now())
    if len(outcome.approved) != 1:
        sys.exit(f"contribution {contribution_id} was not approved: {outcome.refused}")
    db.session.commit()
    db.session.remove()  # a new request, a new session
    started, cpu = time.perf_counter(), time.process_time()
    found = campaign_with_version(SLUG)
    assert found is not None
    cached_board(found[0], *board, None, limit, today, found[1])
    elapsed = ((time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000)
    db.session.remove()
    return elapsed


def measure(env: dict, repeat: int, limit: int, naive: bool) -> dict:
    """Every board's first read after an approval, `repeat` times each (and the naive board, if asked)."""
    os.environ.update(env)
    from sqlalchemy import select

    from app import create_app
    from core.clock import local_date, now
    from leaderboards.services import period_window
    from leaderboards.tasks import run_sweep
    from models import Campaign, User, db

    app = create_app()
    boards: dict[str, dict] = {}
    with app.app_context():
        run_sweep(app)  # last night's ranks, which boards join for movement
        campaign_id = db.session.execute(select(Campaign.id).filter_by(slug=SLUG)).scalar_one()
        admin_id = db.session.execute(select(User.id).filter_by(username="admin")).scalar_one()
        today = local_date(now())
        # one more per board: the first builds the board's statements, once per process in a worker
        queue = iter(pending_today(campaign_id, len(BOARDS) * (repeat + 1), today))
        # What this process loaded, set aside from garbage collection as each gunicorn worker sets the
        # app aside once loaded (gunicorn.conf.py): else a full collection over the bench's own setup
        # lands, 100 ms long, in a sample now and then.
        gc.freeze()
        for key in BOARDS:
            samples = [first_read_after_approval(next(queue), admin_id, key, limit, today) for _ in range(repeat + 1)]
            boards[" x ".join(key)] = cuts(samples[1:])
            if naive:
                since = (period_window(key[2], today) or (date.min, today))[0]
                slow = []
                for _ in range(3):
                    started = time.perf_counter()
                    naive_board(campaign_id, key[0], since)
                    slow.append((time.perf_counter() - started) * 1000)
                boards[" x ".join(key)]["naive_p50"] = round(statistics.median(slow), 1)
        db.engine.dispose()
    return boards


def rate(url: str, seconds: float, threads: int = 8) -> float:
    count, stop = [0], time.monotonic() + seconds
    lock = threading.Lock()

    def hammer() -> None:
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


def rates(urls: list[str], seconds: float, rounds: int = 3) -> list[float]:
    """Each URL's request rate, the median of `rounds` runs taken in turn (so that a drift of the machine's
    load falls on all alike), after a warm-up run of each (first requests load templates and code)."""
    for url in urls:
        rate(url, 2)
    runs = [[rate(url, seconds / rounds) for url in urls] for _ in range(rounds)]
    return [statistics.median(run[index] for run in runs) for index in range(len(urls))]


def cell(figures: dict[str, float]) -> str:
    return f"{figures['p50']:>15.1f}/{figures['p95']:<6.1f} ({figures['cpu_p50']:5.1f})"


def print_sizes(sizes: list[dict]) -> None:
    small, big = sizes[0], sizes[-1]
    header = "".join(f"{'p50/p95 (cpu p50) @' + format(size['ledger_rows'], ','):>30}" for size in sizes)
    naive = "naive_p50" in small["boards"][" x ".join(BOARDS[0])]
    ratios = "".join(f"{'ratio ' + cut:>14}" for cut in CUTS)
    print(f"{'board':<34}{header}{ratios}" + ("   naive p50" if naive else ""))
    for key in small["boards"]:
        cells = "".join(cell(size["boards"][key]) for size in sizes)
        ratios = "".join(f"{big['boards'][key][cut] / small['boards'][key][cut]:>14.2f}" for cut in CUTS)
        slow = "".join(f"{size['boards'][key]['naive_p50']:>9.1f}" for size in sizes) if naive else ""
        print(f"{key:<34}{cells}{ratios}{slow}")


def compare(first: Path, second: Path) -> None:
    """The second run's largest size against the first's, board by board (national / province)."""
    runs = [json.loads(path.read_text()) for path in (first, second)]
    a, b = (run["sizes"][-1] for run in runs)
    print(
        f"b / a, a = {runs[0]['scale']} {runs[0]['database']} at {a['ledger_rows']:,} rows (load {a['load']}), "
        f"b = {runs[1]['scale']} {runs[1]['database']} at {b['ledger_rows']:,} rows (load {b['load']})"
    )
    print(f"{'board':<34}{'a p50/p95 (cpu p50)':>30}{'b p50/p95 (cpu p50)':>30}" + "".join(f"{c:>9}" for c in CUTS))
    for key, mine in a["boards"].items():
        theirs = b["boards"][key]
        ratios = "".join(f"{theirs[cut] / mine[cut]:>9.2f}" for cut in CUTS)
        print(f"{key:<34}{cell(mine)}{cell(theirs)}{ratios}")


def by_size(options: argparse.Namespace, env: dict, engine: Engine) -> list[dict]:
    """Each ledger size in turn: the ledger topped up through `seed-demo`, then every board measured."""
    sizes = []
    for target in (int(size) for size in options.rows.split(",")):
        missing = target - ledger_rows(engine)
        if missing > 0:
            started = time.perf_counter()
            flask(env, "seed-demo", "--scale", options.scale, "--contributions", str(missing))
            print(f"topped up {missing:,} contributions in {time.perf_counter() - started:.0f} s (load {load()})")
        rows, before = ledger_rows(engine), load()
        boards = measure(env, options.repeat, options.limit, options.naive)
        size = {"target": target, "ledger_rows": rows, "ledger_rows_after": ledger_rows(engine), "load": before}
        sizes.append(size | {"load_after": load(), "boards": boards})
        print(f"measured at {rows:,}-{size['ledger_rows_after']:,} ledger rows, load {before} -> {load()}", flush=True)
    return sizes


def run(options: argparse.Namespace, url: str) -> dict:
    env = os.environ | {"DATABASE_URL": url, "SECRET_KEY": "bench", "HASH_KEY": "bench", "FLASK_APP": "app"}
    flask(env, "db", "upgrade")
    started = time.perf_counter()
    flask(env, "seed-demo", "--scale", options.scale)
    print(f"seeded {options.scale} in {time.perf_counter() - started:.0f} s (load {load()})", flush=True)
    result: dict = {"scale": options.scale, "database": url.split(":")[0], "repeat": options.repeat}
    engine = create_engine(url)
    try:
        result["sizes"] = by_size(options, env, engine)
    finally:
        engine.dispose()
    print_sizes(result["sizes"])
    result["rate"] = {}
    with redis_server() as redis_url:
        # With Redis (as in production) a kept JSON is answered without the database; without, the
        # campaign and its version are read on every request.
        for label, extra in (("redis", {"REDIS_URL": redis_url}), ("database", {})):
            with gunicorn(env | extra, 2) as base:
                health, board = rates(
                    [base + "/healthz", f"{base}/api/v1/campaigns/{SLUG}/leaderboard?{RATE_BOARD}"], options.seconds
                )
            result["rate"][label] = {"healthz": round(health), "board": round(board), "ratio": round(board / health, 2)}
            print(
                f"requests/s, version from {label}: healthz={health:.0f} leaderboard_json({RATE_BOARD})={board:.0f} "
                f"ratio={board / health:.2f} (gunicorn 2 workers, 8 client threads, median of 3 runs in turn, "
                f"{options.seconds:.0f} s each URL; "
                f"load {load()})",
                flush=True,
            )
    print(f"p50/p95 in ms, {options.repeat} samples per board and size, top {options.limit}; ratio: largest / smallest")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=("province", "national"), default="province")
    parser.add_argument("--database-url", help="a scratch PostgreSQL database or SQLite file: emptied first")
    parser.add_argument("--rows", default="10000,1000000", help="ledger sizes to measure at, comma-separated")
    parser.add_argument("--repeat", type=int, default=40, help="samples per board and size")
    parser.add_argument("--seconds", type=float, default=10, help="each URL's rate run, in 3 turns")
    parser.add_argument("--limit", type=int, default=50, help="rows per board (the JSON and the page's default)")
    parser.add_argument("--naive", action="store_true", help="also sum each board from the ledger (slow at 1M)")
    parser.add_argument("--json-out", type=Path, help="write the figures here, for --compare")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A.json", "B.json"), help="print B / A per board")
    options = parser.parse_args()
    if options.compare:
        compare(*options.compare)
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = options.database_url or f"sqlite:///{tmp}/bench.db"
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        else:
            empty_postgresql(url)
        result = run(options, url)
    if options.json_out:
        options.json_out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
