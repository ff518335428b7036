"""One live quiz at the hall: phones join by code, poll as the fragment says and answer each question
while the host steps the session and the TVs follow it, against gunicorn (4 sync workers).

    .venv/bin/python bench/live_quiz.py                  (500 phones, 10 questions: 6 to 10 minutes)
    .venv/bin/python bench/live_quiz.py --quick          (50 phones, 3 questions, about 2 minutes)
    .venv/bin/python bench/live_quiz.py --database-url postgresql+psycopg://postgres@127.0.0.1:54329/scratch

Seeds the small demo into a fresh database (a temporary SQLite file, or the given PostgreSQL database,
WHICH IS EMPTIED) through the CLI, starts gunicorn, and lets the hall in:

- the host (admin) makes a screen for the province campaign, creates a session of N questions of
  20 s, waits for the phones, then steps it: start, reveal after 20 s, standings after 5 s, next
  after 3 s, ..., end; its panel is polled every 3 s as the page does;
- phones (a thread each, with their own cookies) arrive over the first seconds, open the join page,
  join for a quarter, open the play page, then poll `?v=` as the fragment's `hx-trigger` says (each
  with its own phase) as htmx does, and answer each question 1 to 10 s after they see it, with one of its choices;
- TVs load the screen, poll its version every 2 s, fetch the live fragment when told and the head
  count every 3 s while it is shown.

Each request carries its own X-Request-ID; the app's JSON request line (web/logs.py) gives its server
time. Prints the client's own load (requests per second, CPU, how late its threads woke), per kind of
request p50/p95/p99 of client and server time, answers acknowledged against answers stored, and for
each question the time from the host's step returning to the phones' first sight of it.
The client runs on the same machine: its own threads take some of the CPU it measures.
Not part of `make test`.
"""

import argparse
import http.client
import math
import os
import random
import re
import statistics
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
from event_evening import CHOICE, CSRF, POLL, POSITION, SCREEN, SLUG, Client, Run, cuts, flask, server_times
from gunicorn_server import gunicorn
from seed_contributions import empty_postgresql
from sqlalchemy import create_engine, text

SECONDS_PER_QUESTION = 20
REVEAL_SECONDS, STANDINGS_SECONDS = 5, 3
PHONE_POLL_SECONDS, TV_POLL_SECONDS, HOST_POLL_SECONDS, TV_COUNT_SECONDS = 1.0, 2.0, 3.0, 3.0
GOAL_P95_SECONDS = 1.5
HX = {"HX-Request": "true"}
ACKNOWLEDGED = "Đã ghi nhận câu trả lời."
# The app's refusals of an answer (live/services.py answer()), by the words that tell them apart.
REFUSALS = {"late": "Đã hết giờ", "closed": "Câu hỏi này đã đóng", "twice": "Bạn đã trả lời câu này"}
POLL_EVERY = re.compile(r'hx-trigger="every (\d+(?:\.\d+)?)s"')
PLAY_VERSION = re.compile(r'hx-get="/live/play/\d+\?v=(\d+)"')
HOST_VERSION = re.compile(r'name="v" value="(\d+)"')
JOIN_CODE = re.compile(r'class="live-host-code">(\d{3}) (\d{3})<')
OPTION = re.compile(r'<option value="(\d+)"')
SESSION_ID = re.compile(r"/live/host/(\d+)$")


@dataclass
class Reply:
    """As much of a requests.Response as the phones and TVs read."""

    status_code: int
    text: str
    headers: http.client.HTTPMessage


class Transport:
    """What Client.call asks of a requests.Session, over the standard library's http.client: measured
    here at 0.45 ms of client CPU per request against 1.8 ms through requests, which matters when 500
    phones poll from the same two cores the server runs on. Keeps the cookies the server sets."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def request(self, method: str, url: str, headers: dict, allow_redirects: bool, timeout: float, data=None) -> Reply:
        assert not allow_redirects
        parts = urllib.parse.urlsplit(url)
        headers = dict(headers)
        body = urllib.parse.urlencode(data) if data is not None else None
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
        try:
            connection.request(method, f"{parts.path}?{parts.query}" if parts.query else parts.path, body, headers)
            response = connection.getresponse()
            reply = Reply(response.status, response.read().decode(), response.headers)
        except (OSError, http.client.HTTPException) as error:
            raise requests.ConnectionError(error) from error
        finally:
            connection.close()
        for cookie in reply.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value
        return reply


def light_client(base: str, run: Run) -> Client:
    client = Client(base, run)
    client.http = Transport()  # type: ignore[assignment]
    return client


@dataclass
class Sight:
    """A phone's first response showing a question open: when its request left and came back."""

    position: int
    sent: float
    received: float


@dataclass
class Hall:
    """What the host, the phones and the TVs share."""

    session_id: int
    code: str
    opened: dict[int, float] = field(default_factory=dict)  # position: when the host's step returned
    sights: list[Sight] = field(default_factory=list)
    answers: Counter = field(default_factory=Counter)  # acknowledged, refused as..., no answer
    joined: int = 0
    ready: int = 0  # phones that have their play page
    poll_seconds: float | None = None  # instead of the fragment's own interval, to try another
    lateness: list[float] = field(default_factory=list)  # how late phone threads woke for a poll
    over: threading.Event = field(default_factory=threading.Event)  # the host has ended the session
    closing_at: float = math.inf  # phones that have not seen the end by then stop polling
    lock: threading.Lock = field(default_factory=threading.Lock)


def later(seconds: float) -> float:
    return time.perf_counter() + seconds


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.perf_counter()))


class Phone:
    """A resident's phone: it joins, then behaves as the play fragment's htmx does."""

    def __init__(self, client: Client, hall: Hall, number: int):
        self.client, self.hall, self.number = client, hall, number
        self.url = f"/live/play/{hall.session_id}"
        self.version, self.token, self.polling = "", "", True
        self.every = PHONE_POLL_SECONDS  # until the fragment says
        self.seen: set[int] = set()
        self.answer_due: tuple[float, int, list[str]] | None = None  # when, position, choices

    def join(self) -> bool:
        page = self.client.call("join page", "GET", f"/live/{self.hall.code}")
        if page is None or page.status_code != 200:
            return False
        data = {
            "csrf_token": CSRF.search(page.text).group(1),
            "quarter": random.choice(OPTION.findall(page.text)),
            "name": f"Điện thoại {self.number}",
        }
        if random.random() < 0.5:
            data["consent"] = "y"
        joined = self.client.call("join", "POST", f"/live/{self.hall.code}", data=data)
        if joined is None or joined.status_code != 303:
            return False
        with self.hall.lock:
            self.hall.joined += 1
        sent = time.perf_counter()
        played = self.client.call("play page", "GET", self.url)
        if played is None or not self.observe(played, sent):
            return False
        with self.hall.lock:
            self.hall.ready += 1
        return True

    def observe(self, response: requests.Response, sent: float) -> bool:
        """Take in a fragment or page as the browser would swap it in: its version, its token, an open
        question (noted the first time, its answer planned), the end of polling."""
        if response.status_code not in (200, 422):
            return False
        received, page = time.perf_counter(), response.text
        version, token = PLAY_VERSION.search(page), CSRF.search(page)
        self.version = version.group(1) if version else self.version
        self.token = token.group(1) if token else self.token
        every = POLL_EVERY.search(page)
        self.polling = every is not None
        self.every = self.hall.poll_seconds or (float(every.group(1)) if every else self.every)
        position = POSITION.search(page)
        if position and int(position.group(1)) not in self.seen:
            number = int(position.group(1))
            self.seen.add(number)
            with self.hall.lock:
                self.hall.sights.append(Sight(number, sent, received))
            self.answer_due = (received + random.uniform(1, 10), number, CHOICE.findall(page))
        return True

    def poll(self) -> None:
        sent = time.perf_counter()
        polled = self.client.call("phone poll", "GET", f"{self.url}?v={self.version}", headers=HX)
        if polled is not None and polled.status_code == 200:
            self.observe(polled, sent)

    def answer(self) -> None:
        assert self.answer_due is not None
        _due, position, choices = self.answer_due
        self.answer_due = None
        data = {"csrf_token": self.token, "position": str(position), "choice": random.choice(choices)}
        sent = time.perf_counter()
        answered = self.client.call("answer", "POST", f"{self.url}/answer", data=data, headers=HX)
        if answered is None:
            outcome = "no answer"
        elif answered.status_code == 200 and ACKNOWLEDGED in answered.text:
            outcome = "acknowledged"
        else:
            outcome = next((why for why, words in REFUSALS.items() if words in answered.text), "other")
        if answered is not None:
            self.observe(answered, sent)
        with self.hall.lock:
            self.hall.answers[outcome] += 1

    def play(self) -> None:
        """Poll on htmx's clock: as the fragment's hx-trigger says, from the last trigger (a trigger that
        finds a request still out is dropped), restarted by each swap; answer when due."""
        next_poll = later(random.uniform(0, self.every))
        while self.polling and time.perf_counter() < self.hall.closing_at:
            if self.answer_due and self.answer_due[0] < next_poll:
                sleep_until(self.answer_due[0])
                self.answer()
                next_poll = later(self.every)
                continue
            sleep_until(next_poll)
            with self.hall.lock:
                self.hall.lateness.append(time.perf_counter() - next_poll)
            shown = self.version
            self.poll()
            if self.version != shown:
                next_poll = later(self.every)
                continue
            while next_poll <= time.perf_counter():
                next_poll += random.uniform(0.98, 1.02) * self.every


def phone(client: Client, hall: Hall, number: int, arrival: float) -> None:
    sleep_until(arrival)
    device = Phone(client, hall, number)
    if device.join():
        device.play()


def host_version(client: Client, session_id: int) -> str:
    panel = client.call("host panel", "GET", f"/live/host/{session_id}", headers=HX)
    found = HOST_VERSION.search(panel.text) if panel is not None else None
    return found.group(1) if found else ""


def host_steps(questions: int) -> list[tuple[str, float]]:
    """The host's steps, each with how long the host waits after it."""
    steps: list[tuple[str, float]] = []
    for position in range(questions):
        steps += [("start" if position == 0 else "next", SECONDS_PER_QUESTION)]
        steps += [("reveal", REVEAL_SECONDS), ("standings", STANDINGS_SECONDS)]
    return steps + [("end", 0)]


def host(client: Client, hall: Hall, phones: int, questions: int, join_until: float, failures: list[str]) -> None:
    """Wait for the hall to fill (every phone on its play page, or a minute after the last one came),
    then step the session, watching the panel every 3 s as its page does."""
    while time.perf_counter() < join_until or (hall.ready < phones and time.perf_counter() < join_until + 60):
        host_version(client, hall.session_id)
        time.sleep(HOST_POLL_SECONDS)
    position = 0
    for step, hold in host_steps(questions):
        shown = host_version(client, hall.session_id)
        data = {"csrf_token": client.token, "v": shown}
        stepped = client.call("host step", "POST", f"/live/host/{hall.session_id}/{step}", data=data)
        returned = time.perf_counter()
        if step in ("start", "next"):
            hall.opened[position] = returned
            position += 1
        moved = host_version(client, hall.session_id)
        expected = "" if step == "end" else str(int(shown or 0) + 1)  # an ended session offers no step
        if stepped is None or stepped.status_code != 303 or moved != expected:
            failures.append(f"{step} at version {shown}: now {moved or 'unknown'}")
        until = returned + hold
        while time.perf_counter() + HOST_POLL_SECONDS < until:
            time.sleep(HOST_POLL_SECONDS)
            host_version(client, hall.session_id)
        sleep_until(until)
    hall.closing_at = later(30)
    hall.over.set()


def tv(client: Client, token: str, hall: Hall) -> None:
    """A hall TV: the screen, its version poll every 2 s, the live fragment when told, the head count."""
    page = client.call("tv page", "GET", f"/screen/{token}")
    if page is None or page.status_code != 200:
        return
    poll = POLL.search(page.text).group(1).replace("&amp;", "&")
    live = client.call("tv live", "GET", f"/screen/{token}/live")
    counting = live is not None and "live-head-count" in live.text
    next_poll, next_count = later(TV_POLL_SECONDS), later(TV_COUNT_SECONDS)
    while not hall.over.is_set():
        sleep_until(min(next_poll, next_count) if counting else next_poll)
        if counting and time.perf_counter() >= next_count:
            client.call("tv count", "GET", f"/screen/{token}/live/count", headers=HX)
            next_count += TV_COUNT_SECONDS
            continue
        polled = client.call("tv poll", "GET", poll, headers=HX)
        next_poll += TV_POLL_SECONDS
        if polled is None or polled.status_code != 200:
            continue
        found = POLL.search(polled.text)
        poll = found.group(1).replace("&amp;", "&") if found else poll
        told = polled.headers.get("HX-Trigger", "")
        if "live-changed" in told:
            live = client.call("tv live", "GET", f"/screen/{token}/live", headers=HX)
            counting = live is not None and "live-head-count" in live.text
            next_count = later(TV_COUNT_SECONDS)  # the new fragment's count starts its own clock
        if "scores-changed" in told:
            client.call("tv board", "GET", f"/screen/{token}/board?i=0", headers=HX)


class Host(Client):
    """The host's browser, which keeps the CSRF token of the last form it saw."""

    token = ""

    def form(self, path: str) -> str:
        page = self.call("setup", "GET", path)
        assert page is not None and page.status_code == 200, f"{path}: {page and page.status_code}"
        self.token = CSRF.search(page.text).group(1)
        return page.text


def open_session(host: Host, questions: int) -> tuple[Hall, str]:
    """The admin makes a screen for the province campaign and a live session on it, through the pages;
    gives the hall (session and join code) and the screen's token."""
    assert host.login("admin"), "the admin could not sign in"
    host.form(f"/campaigns/{SLUG}/screens")
    host.call("setup", "POST", f"/campaigns/{SLUG}/screens", data={"csrf_token": host.token})
    token = SCREEN.search(host.form(f"/campaigns/{SLUG}/screens")).group(1)
    page = host.form(f"/campaigns/{SLUG}/live")
    data = {
        "csrf_token": host.token,
        "screen": OPTION.search(page.split('name="screen"', 1)[1]).group(1),
        "question_count": str(questions),
        "seconds_per_question": str(SECONDS_PER_QUESTION),
        "tags": "",
        "hall_quarter": "",
    }
    created = host.call("setup", "POST", f"/campaigns/{SLUG}/live", data=data)
    assert created is not None and created.status_code == 303, f"no session: {created and created.status_code}"
    session_id = int(SESSION_ID.search(created.headers["Location"]).group(1))
    code = JOIN_CODE.search(host.form(f"/live/host/{session_id}"))
    return Hall(session_id, code.group(1) + code.group(2)), token


def stored(url: str, session_id: int) -> dict[str, int]:
    """Players and answers of the session as the database has them."""
    engine = create_engine(url)
    with engine.connect() as connection:
        found = {
            table: connection.execute(
                text(f"SELECT count(*) FROM {table} WHERE session_id = :id"), {"id": session_id}
            ).scalar_one()
            for table in ("live_player", "live_answer")
        }
    engine.dispose()
    return found


def server_cpu(base: str) -> float:
    """CPU seconds the gunicorn processes serving `base` have used so far (Linux): its workers are forks
    of the master, so they carry its command line, which names the address."""
    address, ticks = base.removeprefix("http://").encode(), 0
    for process in Path("/proc").iterdir():
        try:
            if process.name.isdigit() and address in (process / "cmdline").read_bytes():
                fields = (process / "stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])  # utime and stime
        except OSError:  # a process that ended meanwhile
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def ms(seconds: list[float]) -> str:
    return cuts([value * 1000 for value in seconds])


def print_requests(run: Run, times: dict[str, float], seconds: float, cpu: tuple[float, float], hall: Hall) -> None:
    """Per kind of request, client and server times; first the load the client made and its own cost,
    and the CPU the server spent (client, server)."""
    kinds: dict[str, list] = {}
    for sample in run.samples:
        if sample.kind != "setup":
            label = f"{sample.kind} {sample.status}" if sample.kind == "phone poll" else sample.kind
            kinds.setdefault(label, []).append(sample)
    total = sum(len(samples) for samples in kinds.values())
    polls = sum(len(samples) for label, samples in kinds.items() if label.startswith("phone poll"))
    print(
        f"client: {total} requests in {seconds:.0f} s = {total / seconds:.1f}/s, of them phone polls "
        f"{polls / seconds:.1f}/s; client CPU {100 * cpu[0] / seconds:.0f}% of one core; phone threads woke "
        f"late for a poll by p50/p95/p99 ms {ms(hall.lateness)}"
    )
    print(
        f"server: gunicorn's processes used {cpu[1]:.0f} s of CPU, {cpu[1] / seconds:.2f} cores on average, "
        f"{1000 * cpu[1] / max(1, total):.1f} ms per request"
    )
    print(f"{'kind':<15} {'count':>6} {'errors':>6}   client p50/p95/p99 ms   server p50/p95/p99 ms")
    for label, samples in sorted(kinds.items()):
        errors = sum(1 for sample in samples if sample.status in (0, 429) or sample.status >= 500)
        server = [times[sample.request_id] for sample in samples if sample.request_id in times]
        print(
            f"{label:<15} {len(samples):>6} {errors:>6}   {cuts([sample.client_ms for sample in samples])}"
            f"   {cuts(server)}"
        )


def print_answers(hall: Hall, found: dict[str, int]) -> None:
    acknowledged = hall.answers["acknowledged"]
    print(
        f"players: joined={hall.joined} stored={found['live_player']} on their play page={hall.ready}; "
        f"answers: acknowledged={acknowledged} "
        f"stored={found['live_answer']} lost={acknowledged - found['live_answer']} "
        f"refused: {' '.join(f'{why}={hall.answers[why]}' for why in (*REFUSALS, 'other'))} "
        f"no_response={hall.answers['no answer']}"
    )


def print_reach(hall: Hall, phones: int) -> None:
    """For each question, from the host's step returning: the first phone to see it, and the phones."""
    print(f"question reach (goal p95 <= {GOAL_P95_SECONDS * 1000:.0f} ms), ms after the host's step returned:")
    print(f"{'question':>8} {'phones':>7} {'first':>7}     p50     p95     p99 {'max':>7}")
    delays: list[float] = []
    waits: list[float] = []
    for position, opened in sorted(hall.opened.items()):
        seen = [sight for sight in hall.sights if sight.position == position]
        reach = [sight.received - opened for sight in seen]
        delays += reach
        waits += [max(0.0, sight.sent - opened) for sight in seen]
        if reach:
            print(f"{position + 1:>8} {len(reach):>7} {min(reach) * 1000:7.0f} {ms(reach)} {max(reach) * 1000:7.0f}")
        else:
            print(f"{position + 1:>8} {0:>7}       -")
    if not delays:
        return
    p95 = statistics.quantiles(delays, n=100, method="inclusive")[94]
    print(
        f"{'all':>8} {len(delays):>7} {min(delays) * 1000:7.0f} {ms(delays)} {max(delays) * 1000:7.0f}   "
        f"p95 {'within' if p95 <= GOAL_P95_SECONDS else 'ABOVE'} the goal; sightings "
        f"{len(delays)} of {phones * len(hall.opened)}"
    )
    print(f"of which waiting for the phone's next poll to leave: p50/p95/p99 ms {ms(waits)}")


def evening(env: dict, url: str, options: argparse.Namespace, log: Path) -> None:
    """gunicorn up, the session made, the hall in until the host ends it, then the figures."""
    failures: list[str] = []
    with gunicorn(env, options.workers, log) as base:
        run = Run(deadline=float("inf"))
        host_client = Host(base, run)
        hall, token = open_session(host_client, options.questions)
        hall.poll_seconds = options.poll_seconds
        join_seconds = max(10.0, options.phones / 20)
        started, cpu, served = time.perf_counter(), time.process_time(), server_cpu(base)
        arrivals = [started + join_seconds * number / options.phones for number in range(options.phones)]
        threads = [
            threading.Thread(target=phone, args=(light_client(base, run), hall, number, arrival))
            for number, arrival in enumerate(arrivals)
        ]
        threads += [
            threading.Thread(target=tv, args=(light_client(base, run), token, hall)) for _ in range(options.tvs)
        ]
        filled = started + join_seconds + 3
        threads.append(
            threading.Thread(target=host, args=(host_client, hall, options.phones, options.questions, filled, failures))
        )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds, cpu, served = time.perf_counter() - started, time.process_time() - cpu, server_cpu(base) - served
    print(f"load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    print_requests(run, server_times(log), seconds, (cpu, served), hall)
    print_answers(hall, stored(url, hall.session_id))
    print_reach(hall, options.phones)
    for failure in failures:
        print("host step failed:", failure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="50 phones, 3 questions")
    parser.add_argument("--phones", type=int)
    parser.add_argument("--questions", type=int, help="1 to 30 (the bank has 32)")
    parser.add_argument("--tvs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--poll-seconds", type=float, help="phones poll this often instead of as the page says")
    parser.add_argument("--database-url", help="a scratch PostgreSQL database: it is emptied first")
    options = parser.parse_args()
    options.phones = options.phones or (50 if options.quick else 500)
    options.questions = options.questions or (3 if options.quick else 10)
    with tempfile.TemporaryDirectory() as tmp:
        url = options.database_url or f"sqlite:///{tmp}/live.db"
        if options.database_url:
            empty_postgresql(url)
        env = os.environ | {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "HASH_KEY": "bench",
            "FLASK_APP": "app",
            "LOG_FORMAT": "json",
        }
        flask(env, "db", "upgrade")
        flask(env, "seed-demo")
        print(
            f"database={url.split(':')[0]} small demo; workers={options.workers} phones={options.phones} "
            f"questions={options.questions} of {SECONDS_PER_QUESTION} s tvs={options.tvs} "
            f"phone poll={f'{options.poll_seconds} s' if options.poll_seconds else 'as the page says'}; "
            f"load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())}",
            flush=True,
        )
        evening(env, url, options, Path(tmp) / "gunicorn.log")


if __name__ == "__main__":
    main()
