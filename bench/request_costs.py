"""Server time per request kind of the event evening, in-process, at province scale (issue 16, item 5).

    .venv/bin/python bench/request_costs.py [--repeat 40] [--database-url sqlite:////tmp/province.db]
    .venv/bin/python bench/request_costs.py --database-url ... --profile "tv page"

Without --database-url: seeds the province demo and 45,000 more contributions (about 50,000, as
bench/event_evening.py) into a temporary SQLite file. With one, uses that database as it is (seeded
the same way); the bench adds quiz attempts and a screen link to it. Each request goes through the
Flask test client in this process, so the figures are the application's time without a network or
gunicorn, one request at a time: p50/p95 in ms per kind, against the budgets of the issue (quiz
requests 10 ms, pages 30 ms, TV poll 2 ms), and the JSON top-10 against /healthz as a rate ratio.
--profile prints where one kind's time goes (cProfile, cumulative). Not part of `make test`.
"""

import argparse
import cProfile
import gc
import io
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SLUG = "chu-ky-so-dong-nai"
QUIZ = "an-toan-mang"
PASSWORD = "thidua-demo"
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]*)"')
CHOICE = re.compile(r'name="choice" value="(\d+)"')
POSITION = re.compile(r'name="position" value="(\d+)"')
POLL = re.compile(r'hx-get="(/screen/[^"]+/version\?[^"]+)"')
BUDGETS = {"quiz": 10.0, "page": 30.0, "poll": 2.0}


def seed(url: str) -> None:
    env = os.environ | {"DATABASE_URL": url, "FLASK_APP": "app"}
    for args in (["db", "upgrade"], ["seed-demo", "--scale", "province", "--contributions", "45000"]):
        subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, check=True, capture_output=True)


def signed_in(app, username: str):
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    return client


def screen_token(app) -> str:
    """A TV link of the province campaign showing the Binh Loc quiz, as the screens page makes it."""
    from sqlalchemy import select

    from models import Campaign, Quiz, User, db
    from screens.services import create_screen

    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == SLUG))
        quiz = db.session.scalar(select(Quiz).where(Quiz.slug == QUIZ))
        token = create_screen(admin, campaign, quiz).token
        db.session.commit()
        return token


def quarter_code(app) -> str:
    from sqlalchemy import select

    from models import Unit, db

    with app.app_context():
        return db.session.scalar(select(Unit.code).where(Unit.code.like("DN-BINHLOC-%")).order_by(Unit.code))


class Resident:
    """One quiz taker per round: start, the question, five answers, as bench/event_evening.py does."""

    def __init__(self, app, quarter: str):
        self.app, self.quarter, self.number = app, quarter, 0

    def requests(self) -> list[tuple[str, Callable]]:
        self.number += 1
        client = self.app.test_client()
        page = client.get(f"/q/{QUIZ}?u={self.quarter}")
        token = CSRF.search(page.get_data(as_text=True)).group(1)
        state = {"question": ""}
        data = {"csrf_token": token, "quarter": self.quarter, "name": f"Cư dân {self.number}", "consent": "y"}
        data["phone"] = f"07{time.time_ns() % 10**8:08d}"

        def question():
            state["question"] = client.get(f"/q/{QUIZ}/play").get_data(as_text=True)

        def answer():
            text = state["question"]
            position, choice = POSITION.search(text).group(1), CHOICE.findall(text)[0]
            form = {"csrf_token": token, "position": position, "choice": choice}
            state["question"] = client.post(f"/q/{QUIZ}/answer", data=form, headers={"HX-Request": "true"}).get_data(
                as_text=True
            )

        return [
            ("quiz page", lambda: client.get(f"/q/{QUIZ}?u={self.quarter}")),
            ("quiz start", lambda: client.post(f"/q/{QUIZ}/start", data=data)),
            ("quiz question", question),
        ] + [("quiz answer", answer)] * 4


def kinds(app) -> dict[str, tuple[str, Callable]]:
    """Each request kind: its budget family and a call that sends one request of it."""
    member, leader = signed_in(app, "caprang.member"), signed_in(app, "binhloc.leader")
    anonymous = app.test_client()
    token = screen_token(app)
    poll = POLL.search(anonymous.get(f"/screen/{token}").get_data(as_text=True)).group(1).replace("&amp;", "&")
    top10 = f"/api/v1/campaigns/{SLUG}/leaderboard?level=quarter&limit=10"
    return {
        "healthz": ("", lambda: anonymous.get("/healthz")),
        "board json": ("", lambda: anonymous.get(top10)),
        "board page": ("page", lambda: member.get(f"/campaigns/{SLUG}/leaderboard?level=quarter")),
        "campaign page": ("page", lambda: member.get(f"/campaigns/{SLUG}")),
        "log form": ("page", lambda: member.get(f"/campaigns/{SLUG}/log")),
        "review page": ("page", lambda: leader.get("/review")),
        "tv page": ("page", lambda: anonymous.get(f"/screen/{token}")),
        "tv board": ("page", lambda: anonymous.get(f"/screen/{token}/board?i=1")),
        "tv poll": ("poll", lambda: anonymous.get(poll)),
    }


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def timed(call: Callable) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def measure(app, repeat: int) -> dict[str, tuple[str, list[float]]]:
    samples: dict[str, tuple[str, list[float]]] = {}
    for name, (family, call) in kinds(app).items():
        call()  # warm: statements compiled, templates loaded, the board cached for its version
        samples[name] = (family, [timed(call) for _ in range(repeat)])
    resident = Resident(app, quarter_code(app))
    for _round in range(max(2, repeat // 5)):
        for name, call in resident.requests():
            samples.setdefault(name, ("quiz", []))[1].append(timed(call))
    return samples


def profile(app, kind: str, repeat: int) -> None:
    family, call = kinds(app)[kind]
    call()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        call()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
    print(out.getvalue())


def report(samples: dict[str, tuple[str, list[float]]]) -> None:
    print(f"{'kind':<15}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'budget':>8}")
    for name, (family, values) in samples.items():
        budget = f"{BUDGETS[family]:.0f}" if family else ""
        print(f"{name:<15}{len(values):>5}{percentile(values, 0.5):9.2f}{percentile(values, 0.95):9.2f}{budget:>8}")
    health, board = (sum(samples[name][1]) / len(samples[name][1]) for name in ("healthz", "board json"))
    print(f"board json / healthz request rate (one at a time, 1 / mean time): {health / board:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--database-url", help="a database seeded as above; default: seed a temporary SQLite file")
    parser.add_argument("--profile", metavar="KIND", help="print the profile of one request kind instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        if not args.database_url:
            seed(url)
        os.environ.update({"DATABASE_URL": url, "LOG_FORMAT": "json", "RATELIMIT_STORAGE_URI": "memory://"})
        from app import create_app
        from web import logs

        app = create_app()
        gc.freeze()  # as each gunicorn worker does once it has loaded the app (gunicorn.conf.py)
        logs.handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - the lines are written, to nowhere
        if args.profile:
            profile(app, args.profile, args.repeat)
        else:
            report(measure(app, args.repeat))


if __name__ == "__main__":
    main()
