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
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select

from models import Contribution, LedgerEntry, db
from tests.ops.bursts import POINTS, Phones
from tests.ops.processes import Process, children, wait_until

BURST = 300


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


def test_kill_9_of_the_workers_mid_burst_loses_and_doubles_nothing(processes, open_campaign, writers):
    campaign, activity_id = open_campaign
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


def test_kill_9_of_the_whole_instance_mid_burst_loses_and_doubles_nothing(processes, open_campaign, writers):
    campaign, activity_id = open_campaign
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


def test_a_write_on_one_instance_is_on_the_other_instances_board_at_once(processes, open_campaign, writers):
    campaign, activity_id = open_campaign
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
    points = re.search(r'<td class="name">Unit Q1[^<]*</td>\s*<td class="num value">(\d+)</td>', page)
    assert points and int(points.group(1)) == 6 * POINTS, page[-3000:]
