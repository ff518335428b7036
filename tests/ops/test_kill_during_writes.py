"""kill -9 during a burst of writes, and two instances on one database (issue 14, item 9).

Members log work through gunicorn from several threads, as phones would, while the test kills the
workers (gunicorn's master starts new ones) or the whole instance (a new one is started in its
place). A submission counts as acknowledged only when its 302 reached the phone; one cut in flight
is sent again with the same idempotency key, as the form does when the member taps again. Afterwards
every key is stored exactly once, each with its one ledger row, and `flask verify-scores` passes.
"""

import os
import re
import secrets
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from campaigns.services import ActivityFields, publish, save_activity_type
from domain.days import local_date
from models import Campaign, Contribution, LedgerEntry, db
from tests.conftest import PASSWORD, csrf_from
from tests.ops.processes import Process, children, wait_until

WRITERS = 8
BURST = 300
POINTS = 2


@pytest.fixture
def live_campaign(people, tree, make_campaign):
    """A campaign of W1 running now by the real clock (the servers have no test clock), whose one
    activity needs neither evidence nor approval: each log is one contribution and one ledger row."""
    real_now = datetime.now(UTC)
    campaign = make_campaign(template="custom", published=False, starts=real_now - timedelta(days=1))
    activity = save_activity_type(
        people["leader1"],
        campaign,
        ActivityFields(name="Cài VNeID cho người dân", points=POINTS, needs_verification=False),
    )
    publish(people["leader1"], campaign, real_now)
    db.session.commit()
    return campaign, activity.id


@pytest.fixture
def writers(tree, make_user):
    return [make_user(f"writer{n}", "member", tree["Q1"]).username for n in range(WRITERS)]


class Phones:
    """Members' sessions logging work against whichever instance is serving now.

    `serving` is cleared while no instance is up; a submission cut in flight (connection reset,
    refused, truncated answer) waits for it and is sent again with the same key.
    """

    def __init__(self, url: str, campaign: Campaign, activity_id: int):
        self.url = url
        self.serving = threading.Event()
        self.serving.set()
        self.slug = campaign.slug
        self.activity_id = activity_id
        self.lock = threading.Lock()
        self.acknowledged: list[str] = []
        self.cut: dict[str, datetime] = {}  # key -> when its first copy was cut in flight
        self.answers: Counter[int] = Counter()

    def sign_in(self, username: str) -> tuple[requests.Session, str]:
        """A signed-in session and the CSRF token of its log form."""
        session = requests.Session()
        form = session.get(f"{self.url}/login", timeout=30).text
        data = {"username": username, "password": PASSWORD, "csrf_token": csrf_from(form)}
        assert session.post(f"{self.url}/login", data=data, allow_redirects=False, timeout=30).status_code == 302
        page = session.get(f"{self.url}/campaigns/{self.slug}/log", timeout=30)
        assert page.status_code == 200, page.text[-2000:]
        return session, csrf_from(page.text)

    def log(self, session: requests.Session, token: str, key: str) -> None:
        """Submit one log until its answer arrives; record whether it was acknowledged."""
        data = {
            "csrf_token": token,
            "idempotency_key": key,
            "activity_type": str(self.activity_id),
            "quantity": "1",
            # Today in Vietnam, where the server dates the campaign's accepted days.
            "occurred_on": local_date(datetime.now(UTC)).isoformat(),
            "beneficiary_quarter": "Q1",
            "note": "",
        }
        for _attempt in range(200):
            assert self.serving.wait(timeout=60), "no instance came back"
            try:
                response = session.post(
                    f"{self.url}/campaigns/{self.slug}/log", data=data, allow_redirects=False, timeout=30
                )
            except requests.RequestException:
                with self.lock:
                    self.cut.setdefault(key, datetime.now(UTC))
                time.sleep(0.05)
                continue
            with self.lock:
                self.answers[response.status_code] += 1
                if response.status_code == 302 and response.headers["Location"].endswith(f"/campaigns/{self.slug}"):
                    self.acknowledged.append(key)
                    return
            raise AssertionError(f"{response.status_code}: {response.text[-2000:]}")
        raise AssertionError(f"{key} never answered")

    def write(self, username: str, keys: list[str]) -> None:
        session, token = self.sign_in(username)
        for key in keys:
            self.log(session, token, key)

    def reached(self, count: int) -> Callable[[], bool]:
        """A condition for wait_until: this many submissions acknowledged."""

        def condition() -> bool:
            with self.lock:
                return len(self.acknowledged) >= count

        return condition


def _burst(phones: Phones, usernames: list[str], interrupt) -> list[str]:
    """BURST logs spread over the members, one thread each; `interrupt` runs meanwhile. The keys sent."""
    keys = [secrets.token_hex(16) for _ in range(BURST)]
    with ThreadPoolExecutor(len(usernames)) as pool:
        futures = [pool.submit(phones.write, name, keys[n :: len(usernames)]) for n, name in enumerate(usernames)]
        try:
            interrupt()
        finally:
            for future in futures:
                future.result(timeout=300)
    return keys


def _kill_workers(web: Process) -> None:
    """SIGKILL every worker of the instance, not its master; return once the master has replaced them."""
    workers = set(children(web.popen.pid))
    assert workers
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: len(set(children(web.popen.pid)) - workers) == len(workers), web, timeout=30)


def _board_points(url: str, slug: str, unit_code: str = "Q1") -> int:
    """The unit's points on the public board JSON of one instance."""
    response = requests.get(f"{url}/api/v1/campaigns/{slug}/leaderboard", timeout=30)
    assert response.status_code == 200, response.text[-2000:]
    return next((row["points"] for row in response.json() if row.get("unit_code") == unit_code), 0)


def _stored_once(phones: Phones, keys: list[str], processes) -> None:
    """Every key acknowledged, each stored exactly once with one ledger row, and verify-scores passes."""
    db.session.commit()  # end this session's snapshot: read what the servers committed
    assert sorted(phones.acknowledged) == sorted(keys)
    stored = db.session.execute(select(Contribution.idempotency_key, Contribution.decided_at)).all()
    assert Counter(key.partition(":")[0] for key, _decided in stored) == Counter(keys)
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == BURST
    assert set(phones.answers) == {302}, phones.answers
    result = processes.flask("verify-scores")
    assert result.returncode == 0 and "Scores verified" in result.stdout, result.stdout + result.stderr
    # Informative: a copy cut after its commit was answered by the retry with what it had created.
    decided = {key.partition(":")[0]: at for key, at in stored}
    committed_unanswered = sum(decided[key] <= cut_at for key, cut_at in phones.cut.items())
    print(f"\ncut in flight: {len(phones.cut)}; of them committed before the cut: {committed_unanswered}")


def test_kill_9_of_the_workers_mid_burst_loses_and_doubles_nothing(processes, live_campaign, writers):
    campaign, activity_id = live_campaign
    web = processes.web(workers=3)
    phones = Phones(web.url, campaign, activity_id)

    def kill_workers_twice() -> None:
        for threshold in (BURST // 3, 2 * BURST // 3):
            wait_until(phones.reached(threshold), web, timeout=120, every=0.01)
            _kill_workers(web)
        assert web.alive(), "the master died with its workers"

    keys = _burst(phones, writers, kill_workers_twice)

    _stored_once(phones, keys, processes)
    # The requests cut by the kills are what the retries had to settle; without any, nothing was tested.
    assert phones.cut, "no request was in flight when the workers were killed"
    assert _board_points(web.url, campaign.slug) == BURST * POINTS


def test_kill_9_of_the_whole_instance_mid_burst_loses_and_doubles_nothing(processes, live_campaign, writers):
    campaign, activity_id = live_campaign
    first = processes.web(workers=3)
    phones = Phones(first.url, campaign, activity_id)
    replacement: list[Process] = []

    def replace_the_instance() -> None:
        wait_until(phones.reached(BURST // 2), first, timeout=120, every=0.01)
        phones.serving.clear()
        first.kill9()
        replacement.append(processes.web(workers=3))
        phones.url = replacement[0].url
        phones.serving.set()

    keys = _burst(phones, writers, replace_the_instance)

    assert not first.alive()
    _stored_once(phones, keys, processes)
    assert phones.cut, "no request was in flight when the instance was killed"
    assert _board_points(replacement[0].url, campaign.slug) == BURST * POINTS


def test_a_write_on_one_instance_is_on_the_other_instances_board_at_once(processes, live_campaign, writers):
    campaign, activity_id = live_campaign
    a, b = processes.web(workers=2), processes.web(workers=2)
    phones = Phones(a.url, campaign, activity_id)
    session, token = phones.sign_in(writers[0])  # the session cookie is good on either instance
    for instance in (a, b):  # every worker of both builds and caches the empty board
        for _ in range(6):
            assert _board_points(instance.url, campaign.slug) == 0

    for number in range(1, 7):
        writer, reader = (a, b) if number % 2 else (b, a)
        phones.url = writer.url
        phones.log(session, token, secrets.token_hex(16))
        # Read at once, several times, so that both of the reader's workers answer with their cache.
        for _ in range(6):
            assert _board_points(reader.url, campaign.slug) == number * POINTS

    page = requests.get(f"{b.url}/campaigns/{campaign.slug}/leaderboard", timeout=30).text
    points = re.search(r"<td>Unit Q1</td>\s*<td[^>]*>[^<]*</td>\s*<td class=\"num\">(\d+)</td>", page)
    assert points and int(points.group(1)) == 6 * POINTS, page[-3000:]
