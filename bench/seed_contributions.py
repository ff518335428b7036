"""How long `seed-demo --contributions N` takes at province scale, through the real CLI.

    .venv/bin/python bench/seed_contributions.py [N ...]      (default: 100000 1000000)

Prints wall time and contributions per second for each N on a fresh SQLite file, then checks the
ledger with `verify-scores`. Not part of `make test`.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLASK = [sys.executable, "-m", "flask", "--app", "app"]


def run(args, env):
    started = time.perf_counter()
    subprocess.run(FLASK + args, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main(counts):
    for count in counts:
        with tempfile.TemporaryDirectory() as tmp:
            env = os.environ | {"DATABASE_URL": f"sqlite:///{tmp}/bench.db", "SECRET_KEY": "bench", "HASH_KEY": "bench"}
            run(["db", "upgrade"], env)
            base = run(["seed-demo", "--scale", "province"], env)
            seconds = run(["seed-demo", "--contributions", str(count)], env)
            verify = run(["verify-scores"], env)
            size = Path(f"{tmp}/bench.db").stat().st_size / 1e6
            print(
                f"contributions={count:>9,}  seconds={seconds:8.1f}  per_second={count / seconds:9,.0f}  "
                f"province_seed_s={base:5.1f}  verify_scores_s={verify:6.1f}  db_mb={size:7.1f}"
            )


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [100_000, 1_000_000])
