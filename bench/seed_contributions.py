"""How long `seed-demo --contributions N` takes at province scale, through the real CLI.

    .venv/bin/python bench/seed_contributions.py [N ...] [--scale province|national]
                                                 [--database-url postgresql+psycopg://.../scratch]

Default N: 100000 1000000. Each N runs on a fresh database: a temporary SQLite file, or the given
PostgreSQL database, WHICH IS EMPTIED (its public schema dropped). Prints wall time, contributions
per second, and the CPU seconds the command itself used: on a busy machine wall time measures the
neighbours, CPU time the work (on PostgreSQL the server's own CPU is not in it). Then checks the
ledger with `verify-scores` and that exactly N contributions were added. Not part of `make test`.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
FLASK = [sys.executable, "-m", "flask", "--app", "app"]


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system) of the command, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(FLASK + args, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def empty_postgresql(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def contributions_in(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM contribution")).scalar_one()
    engine.dispose()
    return count


def measure(count: int, scale: str, url: str) -> None:
    env = os.environ | {"DATABASE_URL": url, "SECRET_KEY": "bench", "HASH_KEY": "bench"}
    run(["db", "upgrade"], env)
    base_wall, _cpu, _out = run(["seed-demo", "--scale", scale], env)
    before = contributions_in(url)
    wall, cpu, _out = run(["seed-demo", "--scale", scale, "--contributions", str(count)], env)
    added = contributions_in(url) - before
    verify_wall, _cpu, verified = run(["verify-scores"], env)
    print(
        f"{url.split(':')[0]:<20} scale={scale:<8} contributions={count:>9,}  seconds={wall:7.1f}  "
        f"per_second={count / wall:7,.0f}  cpu_s={cpu:7.1f}  per_cpu_second={count / cpu:7,.0f}  "
        f"scale_seed_s={base_wall:5.1f}  verify_scores_s={verify_wall:6.1f}  "
        f"added_exactly={added == count}  verified={'verified' in verified}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("counts", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--scale", choices=("province", "national"), default="province")
    parser.add_argument("--database-url", help="a scratch PostgreSQL database: it is emptied before each N")
    options = parser.parse_args()
    for count in options.counts:
        if options.database_url:
            empty_postgresql(options.database_url)
            measure(count, options.scale, options.database_url)
            continue
        with tempfile.TemporaryDirectory() as tmp:
            measure(count, options.scale, f"sqlite:///{tmp}/bench.db")


if __name__ == "__main__":
    main()
