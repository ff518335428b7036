"""An event evening on a small server: residents answer a quiz while members log, leaders approve,
TVs poll and visitors read the boards, against gunicorn (3 workers) and a separate scheduler.

    .venv/bin/python bench/event_evening.py                 (province, 50,000 contributions, 120 s)
    .venv/bin/python bench/event_evening.py --quick         (about a minute: small crowd, 5,000, 30 s)
    .venv/bin/python bench/event_evening.py --database-url postgresql+psycopg://postgres@127.0.0.1:54329/scratch

Seeds the province demo into a fresh database (a temporary SQLite file, or the given PostgreSQL
database, WHICH IS EMPTIED), adds the contributions, starts `flask scheduler` and gunicorn, and lets
the crowd in:

- residents: each opens the quiz link of a Binh Loc quarter, starts, answers five questions (htmx,
  as the page does) a few seconds apart; they arrive over the first 60% of the run;
- members (of five wards): sign in, then open the campaign page, the log form, and log one resident
  helped, again and again;
- leaders (of the same wards): sign in, open the review queue and approve up to five items from it,
  again; members and leaders arrive (sign in) over the first quarter of the run, evenly;
- TVs: load the screen, poll every 2 s as the page does, fetch the board when told and every 15 s;
- visitors: read the quarter board page and the top-10 JSON of a level, again and again.

Each request carries its own X-Request-ID; the app's JSON request line (web/logs.py) gives the server
time of that id. Prints per kind: count, errors (exception, 5xx or 429), p50/p95/p99 of client and
server time; then writes acknowledged against writes found in the database, and `verify-scores`.
The client runs on the same machine: its own threads take some of the CPU it measures.
Not part of `make test`.
"""

import argparse
import itertools
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
from gunicorn_server import gunicorn
from seed_contributions import empty_postgresql
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
SLUG = "chu-ky-so-dong-nai"
QUIZ = "an-toan-mang"
WARDS = ("BINHLOC", "TAMPHUOC", "DAIPHUOC", "DONGTAM", "MINHHUNG")
PASSWORD = "thidua-demo"
LEVELS = ("ward", "quarter", "team", "youth_union")
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]*)"')
CHOICE = re.compile(r'name="choice" value="(\d+)"')
POSITION = re.compile(r'name="position" value="(\d+)"')
KEY = re.compile(r'name="idempotency_key" (?:type="hidden" )?value="([^"]+)"')
APPROVE = re.compile(r'action="/review/(\d+)/approve"')
POLL = re.compile(r'hx-get="(/screen/[^"]+/version\?[^"]+)"')
SCREEN = re.compile(r'href="[^"]*/screen/([A-Za-z0-9_-]{40,})"')
QUIZ_OPTION = re.compile(r'<option value="(\d+)"[^>]*>[^<]*Bình Lộc')


@dataclass
class Sample:
    kind: str
    request_id: str
    client_ms: float
    status: int  # 0: no answer (an exception)


@dataclass
class Run:
    """What every actor adds to: samples and acknowledged writes, behind one lock."""

    deadline: float
    samples: list[Sample] = field(default_factory=list)
    acknowledged: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count = field(default_factory=itertools.count)

    def running(self) -> bool:
        return time.perf_counter() < self.deadline

    def ack(self, write: str) -> None:
        with self.lock:
            self.acknowledged[write] += 1


class Client:
    """One person's browser: cookies, and every request timed under its kind with its own id."""

    def __init__(self, base: str, run: Run):
        self.base, self.run, self.http = base, run, requests.Session()

    def call(self, kind: str, method: str, path: str, **options) -> requests.Response | None:
        request_id = f"ev{next(self.run.ids)}"
        headers = {"X-Request-ID": request_id, **options.pop("headers", {})}
        started = time.perf_counter()
        try:
            response = self.http.request(
                method, self.base + path, headers=headers, allow_redirects=False, timeout=60, **options
            )
        except requests.RequestException:
            response = None
        elapsed = (time.perf_counter() - started) * 1000
        with self.run.lock:
            self.run.samples.append(Sample(kind, request_id, elapsed, response.status_code if response else 0))
        return response

    def login(self, username: str) -> bool:
        page = self.call("login page", "GET", "/login")
        token = CSRF.search(page.text) if page is not None else None
        data = {"csrf_token": token.group(1) if token else "", "username": username, "password": PASSWORD}
        signed = self.call("login", "POST", "/login", data=data)
        return signed is not None and signed.status_code == 302


def pause(low: float, high: float) -> None:
    time.sleep(random.uniform(low, high))


def resident(client: Client, number: int, quarter: str, arrival: float) -> None:
    arrive(arrival)
    if not client.run.running():
        return
    page = client.call("quiz page", "GET", f"/q/{QUIZ}?u={quarter}")
    if page is None or page.status_code != 200:
        return
    token = CSRF.search(page.text).group(1)
    data = {"csrf_token": token, "quarter": quarter, "name": f"Cư dân {number}", "phone": f"09{number:08d}"}
    started = client.call("quiz start", "POST", f"/q/{QUIZ}/start", data=data | {"consent": "y"})
    if started is None or started.status_code != 302:
        return
    client.run.ack("attempts")
    question = client.call("quiz question", "GET", f"/q/{QUIZ}/play")
    for _question in range(5):
        if question is None or not POSITION.search(question.text):
            return
        pause(2, 6)  # reading the question
        position, choices = POSITION.search(question.text).group(1), CHOICE.findall(question.text)
        data = {"csrf_token": token, "position": position, "choice": random.choice(choices)}
        answered = client.call("quiz answer", "POST", f"/q/{QUIZ}/answer", data=data, headers={"HX-Request": "true"})
        if answered is None:
            return
        done = answered.headers.get("HX-Redirect", "").endswith("/result")
        if done or "Đã ghi nhận câu trả lời." in answered.text:
            client.run.ack("quiz answers")
        if done:
            client.call("quiz result", "GET", f"/q/{QUIZ}/result")
            return
        question = answered


def arrive(at: float) -> None:
    time.sleep(max(0.0, at - time.perf_counter()))


def member(client: Client, username: str, quarter: str, arrival: float) -> None:
    arrive(arrival)
    if not client.login(username):
        return
    number = itertools.count()
    while client.run.running():
        client.call("campaign page", "GET", f"/campaigns/{SLUG}")
        form = client.call("log form", "GET", f"/campaigns/{SLUG}/log")
        if form is None or form.status_code != 200:
            pause(3, 6)
            continue
        data = {
            "csrf_token": CSRF.search(form.text).group(1),
            "idempotency_key": KEY.search(form.text).group(1),
            "activity_type": re.search(r'<option (?:selected )?value="(\d+)"', form.text).group(1),
            "beneficiaries": f"08{abs(hash((username, next(number)))) % 10**8:08d}",
            "beneficiary_quarter": quarter,
            "occurred_on": datetime.now(UTC).date().isoformat(),
            "consent": "y",
        }
        logged = client.call("log post", "POST", f"/campaigns/{SLUG}/log", data=data)
        if logged is not None and logged.status_code == 302:
            client.run.ack("contributions")
        pause(4, 10)


def leader(client: Client, username: str, arrival: float) -> None:
    arrive(arrival)
    if not client.login(username):
        return
    while client.run.running():
        queue = client.call("review page", "GET", "/review")
        if queue is None or queue.status_code != 200:
            pause(3, 6)
            continue
        token = CSRF.search(queue.text)
        for contribution_id in APPROVE.findall(queue.text)[:5]:
            data = {"csrf_token": token.group(1) if token else ""}
            decided = client.call(
                "approve", "POST", f"/review/{contribution_id}/approve", data=data, headers={"HX-Request": "true"}
            )
            if decided is not None and decided.status_code == 200 and "Đã duyệt." in decided.text:
                client.run.ack("approvals")
            pause(1, 3)
        pause(3, 6)


def tv(client: Client, token: str) -> None:
    page = client.call("tv page", "GET", f"/screen/{token}")
    if page is None or page.status_code != 200:
        return
    poll = POLL.search(page.text).group(1).replace("&amp;", "&")
    index, rotate_at = 0, time.perf_counter() + 15
    while client.run.running():
        time.sleep(2)
        polled = client.call("tv poll", "GET", poll)
        redraw = False
        if polled is not None and polled.status_code == 200:
            found = POLL.search(polled.text)
            poll = found.group(1).replace("&amp;", "&") if found else poll
            redraw = "scores-changed" in polled.headers.get("HX-Trigger", "")
            if "code-changed" in polled.headers.get("HX-Trigger", ""):
                client.call("tv quiz", "GET", f"/screen/{token}/quiz")
        if time.perf_counter() >= rotate_at:
            index, rotate_at, redraw = index + 1, time.perf_counter() + 15, True
        if redraw:
            client.call("tv board", "GET", f"/screen/{token}/board?i={index}")


def visitor(client: Client) -> None:
    while client.run.running():
        level = random.choice(LEVELS)
        client.call("board page", "GET", f"/campaigns/{SLUG}/leaderboard?level={level}")
        pause(2, 5)
        client.call("board json", "GET", f"/api/v1/campaigns/{SLUG}/leaderboard?level={level}&limit=10")
        pause(2, 5)


def flask(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    return done.stdout + done.stderr


def make_screens(base: str, run: Run, count: int) -> list[str]:
    """The province admin makes the TV links through the screens page, with the Binh Loc quiz."""
    admin = Client(base, run)
    admin.login("admin")
    page = admin.call("setup", "GET", f"/campaigns/{SLUG}/screens").text
    data = {"csrf_token": CSRF.search(page).group(1), "quiz": QUIZ_OPTION.search(page).group(1)}
    for _screen in range(count):
        admin.call("setup", "POST", f"/campaigns/{SLUG}/screens", data=data)
    page = admin.call("setup", "GET", f"/campaigns/{SLUG}/screens").text
    return list(dict.fromkeys(SCREEN.findall(page)))[:count]


def people(url: str, members: int) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """Members of five wards with their home quarter, those wards' leaders, and Binh Loc's quarters."""
    engine = create_engine(url)
    found: list[tuple[str, str]] = []
    with engine.connect() as connection:
        for ward in WARDS:
            rows = connection.execute(
                text(
                    "SELECT u.username, q.code FROM user_account u JOIN unit q ON q.id = u.home_unit_id "
                    "WHERE u.role = 'member' AND q.code LIKE :ward ORDER BY u.id LIMIT :n"
                ),
                {"ward": f"DN-{ward}-%", "n": -(-members // len(WARDS))},
            )
            found += [(username, code) for username, code in rows]
        quarters = connection.scalars(
            text("SELECT code FROM unit WHERE kind = 'quarter' AND code LIKE 'DN-BINHLOC-%' ORDER BY code")
        ).all()
    engine.dispose()
    return found[:members], [f"{ward.lower()}.leader" for ward in WARDS], list(quarters)


def stored(url: str, since: datetime) -> dict[str, int]:
    """Writes of the evening as the database has them."""
    engine = create_engine(url)
    with engine.connect() as connection:

        def count(sql: str) -> int:
            return connection.execute(text(sql), {"since": since}).scalar_one()

        found = {
            "attempts": count("SELECT count(*) FROM attempt WHERE started_at >= :since"),
            "quiz answers": count(
                "SELECT count(*) FROM attempt_question q JOIN attempt a ON a.id = q.attempt_id "
                "WHERE a.started_at >= :since AND q.answered_at IS NOT NULL"
            ),
            "contributions": count("SELECT count(*) FROM contribution WHERE created_at >= :since"),
            "approvals": count(
                "SELECT count(*) FROM contribution c JOIN user_account u ON u.id = c.decided_by_id "
                "WHERE c.decided_at >= :since AND c.status = 'approved' AND u.username LIKE '%.leader'"
            ),
        }
    engine.dispose()
    return found


def server_times(log: Path) -> dict[str, float]:
    """Server milliseconds by request id, from the app's JSON request lines."""
    times = {}
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("logger") == "thidua.access" and record.get("duration_ms") is not None:
            times[record.get("request_id")] = record["duration_ms"]
    return times


def cuts(values: list[float]) -> str:
    if not values:
        return "      -       -       -"
    points = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else [values[0]] * 99
    return f"{points[49]:7.1f} {points[94]:7.1f} {points[98]:7.1f}"


def failed(sample: Sample) -> bool:
    return sample.status == 0 or sample.status >= 500 or sample.status == 429


def what_failed(samples: list[Sample], log: Path, most: int = 10) -> None:
    """Each failed request (the first `most`): its kind, status and the server's lines that name it."""
    records = defaultdict(list)
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            records[record.get("request_id")].append(record)
    for sample in [sample for sample in samples if failed(sample)][:most]:
        print(f"failed: {sample.kind} status={sample.status or 'no answer'} id={sample.request_id}")
        for record in records[sample.request_id]:
            print(f"    {record.get('level')} {record.get('logger')}: {str(record.get('message'))[:300]}")
            if record.get("exc_info"):
                print("    " + str(record["exc_info"])[-1500:].replace("\n", "\n    "))


def report(run: Run, times: dict[str, float], found: dict[str, int], seconds: float) -> None:
    kinds: dict[str, list[Sample]] = defaultdict(list)
    for sample in run.samples:
        if sample.kind != "setup":
            kinds[sample.kind].append(sample)
    total = sum(len(samples) for samples in kinds.values())
    print(f"requests={total} in {seconds:.0f} s = {total / seconds:.1f}/s")
    print(f"{'kind':<15} {'count':>6} {'errors':>6}   client p50/p95/p99 ms   server p50/p95/p99 ms")
    for kind, samples in sorted(kinds.items()):
        errors = sum(1 for sample in samples if failed(sample))
        server = [times[sample.request_id] for sample in samples if sample.request_id in times]
        print(
            f"{kind:<15} {len(samples):>6} {errors:>6}   {cuts([sample.client_ms for sample in samples])}"
            f"   {cuts(server)}"
        )
    for write in ("attempts", "quiz answers", "contributions", "approvals"):
        acknowledged = run.acknowledged[write]
        print(
            f"{write:<15} acknowledged={acknowledged:<6} stored={found[write]:<6} equal={acknowledged == found[write]}"
        )


def crowd(base: str, run: Run, options: argparse.Namespace, url: str, screens: list[str]) -> list[threading.Thread]:
    members, leaders, quarters = people(url, options.members)
    now = time.perf_counter()
    window = 0.6 * options.seconds / max(1, options.residents)  # residents arrive over 60% of the run
    arrivals = [(n, quarters[n % len(quarters)], now + window * n) for n in range(options.residents)]
    # Leaders, then members, sign in over the first quarter, not all in the same second: each sign-in
    # hashes a password (scrypt, ~100 ms of CPU), and 55 at once would hold every worker for seconds.
    leading = leaders[: options.leaders]
    spacing = 0.25 * options.seconds / max(1, len(leading) + len(members))
    return (
        [threading.Thread(target=resident, args=(Client(base, run), *who)) for who in arrivals]
        + [
            threading.Thread(target=leader, args=(Client(base, run), who, now + spacing * n))
            for n, who in enumerate(leading)
        ]
        + [
            threading.Thread(target=member, args=(Client(base, run), *who, now + spacing * (len(leading) + n)))
            for n, who in enumerate(members)
        ]
        + [threading.Thread(target=tv, args=(Client(base, run), token)) for token in screens]
        + [threading.Thread(target=visitor, args=(Client(base, run),)) for _ in range(options.visitors)]
    )


def evening(env: dict, url: str, options: argparse.Namespace, tmp: Path) -> None:
    """Scheduler and gunicorn up, the crowd in until the deadline, then the figures."""
    log = tmp / "gunicorn.log"
    with open(tmp / "scheduler.log", "w") as scheduler_log:
        command = [sys.executable, "-m", "flask", "scheduler"]
        scheduler = subprocess.Popen(command, cwd=ROOT, env=env, stdout=scheduler_log, stderr=scheduler_log)
        try:
            with gunicorn(env, options.workers, log) as base:
                run = Run(deadline=float("inf"))
                screens = make_screens(base, run, options.tvs)
                since = datetime.now(UTC)
                started = time.perf_counter()
                run.deadline = started + options.seconds
                threads = crowd(base, run, options, url, screens)
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                seconds = time.perf_counter() - started
        finally:
            scheduler.terminate()
            scheduler.wait(timeout=30)
    report(run, server_times(log), stored(url, since), seconds)
    what_failed(run.samples, log)
    lines = [line for line in flask(env, "verify-scores").splitlines() if line and not line.startswith("(Background")]
    print("verify-scores:", lines[-1] if lines else "no output")


# contributions (in all, the province demo's 5,000 starters included), seconds, residents, members,
# leaders, visitors
STARTERS = 5_000
QUICK = (STARTERS, 30, 60, 10, 2, 5)
FULL = (50_000, 120, 300, 50, 5, 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small crowd on 5,000 contributions for 30 s")
    parser.add_argument("--contributions", type=int, help="in all, at least the 5,000 the province demo starts with")
    parser.add_argument("--database-url", help="a scratch PostgreSQL database: it is emptied first")
    for name in ("seconds", "residents", "members", "leaders", "visitors"):
        parser.add_argument(f"--{name}", type=float if name == "seconds" else int)
    parser.add_argument("--tvs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=3)
    options = parser.parse_args()
    names = ("contributions", "seconds", "residents", "members", "leaders", "visitors")
    for name, default in zip(names, QUICK if options.quick else FULL, strict=True):
        if getattr(options, name) is None:
            setattr(options, name, default)
    with tempfile.TemporaryDirectory() as tmp:
        url = options.database_url or f"sqlite:///{tmp}/evening.db"
        if options.database_url:
            empty_postgresql(url)
        env = os.environ | {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "HASH_KEY": "bench",
            "FLASK_APP": "app",
            "LOG_FORMAT": "json",
            # Everyone here comes from 127.0.0.1: the per-address throttles and quiz credit bound would
            # count the whole crowd as one person.
            "QUIZ_START_LIMIT": "100000 per minute",
            "LOGIN_LIMIT_PER_ADDRESS": "100000 per minute",
            "QUIZ_CREDITED_PER_ADDRESS_PER_HOUR": "100000",
        }
        prepared = time.perf_counter()
        flask(env, "db", "upgrade")
        more = max(0, options.contributions - STARTERS)
        flask(env, "seed-demo", "--scale", "province", "--contributions", str(more))
        print(
            f"database={url.split(':')[0]} province scale, {STARTERS + more:,} contributions "
            f"(prepared in {time.perf_counter() - prepared:.0f} s); workers={options.workers}; "
            f"residents={options.residents} members={options.members} leaders={options.leaders} "
            f"tvs={options.tvs} visitors={options.visitors} seconds={options.seconds:.0f}",
            flush=True,
        )
        evening(env, url, options, Path(tmp))


if __name__ == "__main__":
    main()
