"""Exit 0 when a scheduler holds an unexpired lease (one of them is doing the sweeps), 1 otherwise.

The scheduler container's healthcheck (deploy/compose.yaml), and a check any monitor can run on the
systemd recipe: `python deploy/scheduler_leads.py` with the app's environment. Every scheduler, the
leader and those standing by, is healthy exactly while some scheduler leads, so "unhealthy" on all of
them means no sweep is running anywhere: the database is unreachable, or every scheduler is down.
"""

import sys
from pathlib import Path

# Run as a script from anywhere: the application is the folder above this one.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import Flask  # noqa: E402

from core.scheduler import live_holder  # noqa: E402


def lease_holder(app: Flask) -> str | None:
    """Who holds the scheduler lease now, or None when nobody does (or the database does not answer)."""
    with app.app_context():
        try:
            return live_holder()  # by the database's clock, like the claims themselves
        except Exception as error:  # a healthcheck reports, it does not crash
            print(f"The database does not answer: {error}", file=sys.stderr)
            return None


def main() -> int:
    from app import create_app

    holder = lease_holder(create_app())
    if holder is None:
        print("No scheduler holds the lease: no sweep is running.", file=sys.stderr)
        return 1
    print(f"Scheduler {holder} leads.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
