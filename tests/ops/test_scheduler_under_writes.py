"""kill -9 of the leading scheduler during a burst of writes, with two app instances and two schedulers
on one database (issue 14, item 9): no write lost or doubled, no scheduled effect missed or doubled.

Campaigns fall due by the real clock while members write through both instances: one starts a few
seconds in, and the leader announces it; the leader is then killed, and another campaign ends after
that, about when the dead leader's lease runs out, so the scheduler standing by must take the lease
over and freeze its standings. On SQLite the burst keeps the write lock busy most of the time, so the
schedulers' transactions wait their turn behind the members' (BEGIN IMMEDIATE), as on a busy day.
"""

import re
import secrets
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from models import (
    Campaign,
    CampaignResult,
    Contribution,
    LedgerEntry,
    Notification,
    SchedulerLease,
    Unit,
    User,
    db,
    immediate_transactions,
)
from tests.conftest import DATABASE_URL
from tests.ops.bursts import WRITERS, Phones
from tests.ops.processes import Process, leads, scheduler_id, wait_until

ON_SQLITE = DATABASE_URL.startswith("sqlite")
LEASE = 4
SCHEDULER = {"SCHEDULER_LEASE_SECONDS": str(LEASE), "SCHEDULER_INTERVAL_SECONDS": "1"}
AT_LEAST = 300  # logs in the burst; it goes on until the campaign that ends meanwhile is frozen
# By the real clock, from when the campaigns are made: time enough to start two instances and two
# schedulers and get the burst going; then the leader announces the campaign that starts and is
# killed, and the other campaign ends after that, about when the dead leader's lease runs out.
STARTS_IN = timedelta(seconds=6)  # after the writes began: the burst runs on while the leader dies
ENDS_IN = STARTS_IN + timedelta(seconds=3)


class Burst:
    """Members logging work one after another until told to stop, each alternating the two instances
    (a session signed in on one is good on the other)."""

    def __init__(self, instances: list[Process], campaign: Campaign, activity_id: int):
        self.phones = [Phones(instance.url, campaign, activity_id) for instance in instances]
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent: list[str] = []

    def member(self, number: int, username: str) -> None:
        session, token = self.phones[number % len(self.phones)].sign_in(username)
        while not self.stop.is_set():
            key = secrets.token_hex(16)
            with self.lock:
                self.sent.append(key)
            self.phones[(number + len(self.sent)) % len(self.phones)].log(session, token, key)

    def acknowledged(self) -> list[str]:
        return [key for phones in self.phones for key in phones.acknowledged]

    def answers(self) -> Counter[int]:
        return sum((phones.answers for phones in self.phones), Counter())


class LockProbe:
    """How often SQLite's write lock is taken: a connection that asks for it without waiting, every few
    milliseconds, and lets it go at once."""

    def __init__(self) -> None:
        self.busy = self.free = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._probe, daemon=True)

    def _probe(self) -> None:
        connection = sqlite3.connect(DATABASE_URL.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            while not self.stop.is_set():
                try:
                    connection.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as error:
                    assert "locked" in str(error) or "busy" in str(error), error
                    self.busy += 1
                else:
                    connection.execute("ROLLBACK")
                    self.free += 1
                time.sleep(0.003)
        finally:
            connection.close()

    def share_busy(self) -> float:
        return self.busy / max(self.busy + self.free, 1)


def _swept(output: str, what: str) -> int:
    """How many campaigns the scheduler's sweeps say they announced or froze, summed over its log."""
    return sum(int(count) for count in re.findall(rf"run_campaign_events: .*\b{what}=(\d+)", output))


def _told(campaign: Campaign, kind: str) -> Counter[int]:
    """How many notifications of this kind about the campaign each member has."""
    where = (Notification.campaign_id == campaign.id, Notification.kind == kind)
    return Counter(db.session.scalars(select(Notification.user_id).where(*where)))


def test_the_leading_scheduler_killed_mid_burst_on_two_instances_misses_and_doubles_nothing(
    processes, open_campaign, writers, make_campaign, tree
):
    campaign, activity_id = open_campaign
    members_of_w1 = db.session.scalars(
        select(User.id).join(Unit, Unit.id == User.home_unit_id).where(Unit.path.like(f"{tree['W1'].path}%"))
    ).all()
    assert len(members_of_w1) == WRITERS + 3

    began = time.monotonic()
    schedulers = [processes.scheduler(**SCHEDULER), processes.scheduler(**SCHEDULER)]
    instances = [processes.web(workers=2), processes.web(workers=2)]
    wait_until(lambda: any(leads(process) for process in schedulers), schedulers[0], timeout=30)
    leader, survivor = sorted(schedulers, key=leads, reverse=True)
    wait_until(lambda: "stands by" in survivor.output(), survivor)

    burst = Burst(instances, campaign, activity_id)
    probe = LockProbe()
    with ThreadPoolExecutor(WRITERS) as pool:
        futures = [pool.submit(burst.member, number, name) for number, name in enumerate(writers)]
        try:
            wait_until(burst.phones[0].reached(1), instances[0], timeout=30)
            started_writing = time.monotonic() - began
            # The campaigns whose start and end the schedulers must tell once, made once the writes
            # flow, however long a busy machine took to start the processes.
            db.session.commit()
            with immediate_transactions():  # the write lock at BEGIN, as the writers beside it take it
                made_at = datetime.now(UTC)
                starting = make_campaign(template="digital_signature", starts=made_at + STARTS_IN)
                ran_for = timedelta(hours=1)
                ending = make_campaign(
                    template="paperless_week", starts=made_at - ran_for, days=(ran_for + ENDS_IN) / timedelta(days=1)
                )
            if ON_SQLITE:
                probe.thread.start()
            # The sweep that announces the campaign that started, then the leader is killed at once.
            wait_until(lambda: "announced=1, frozen=0" in leader.output(), leader, timeout=STARTS_IN.seconds + 30)
            leader.kill9()
            killed_at = time.monotonic()
            written_at_kill = len(burst.acknowledged())
            assert datetime.now(UTC) < ending.ends_at, "the leader was killed after the second campaign ended"
            wait_until(lambda: leads(survivor), survivor, timeout=3 * LEASE)
            took_over_in = time.monotonic() - killed_at
            wait_until(lambda: "frozen=1" in survivor.output(), survivor, timeout=30)
            wait_until(lambda: len(burst.acknowledged()) >= max(AT_LEAST, written_at_kill + 50), timeout=120)
        finally:
            burst.stop.set()
            probe.stop.set()
            for future in futures:
                future.result(timeout=120)
    burst_ended = time.monotonic() - began
    if ON_SQLITE:
        probe.thread.join(timeout=10)

    # Every acknowledged write once, with its one ledger row; the aggregates match the ledger.
    db.session.commit()  # a new snapshot: what the servers and the schedulers committed
    assert sorted(burst.acknowledged()) == sorted(burst.sent)
    assert 0 < written_at_kill < len(burst.sent)
    stored = db.session.scalars(select(Contribution.idempotency_key).where(Contribution.campaign_id == campaign.id))
    assert Counter(key.partition(":")[0] for key in stored) == Counter(burst.sent)
    ledger = select(func.count()).select_from(LedgerEntry).where(LedgerEntry.campaign_id == campaign.id)
    assert db.session.scalar(ledger) == len(burst.sent)
    assert set(burst.answers()) == {302}, burst.answers()
    verified = processes.flask("verify-scores")
    assert verified.returncode == 0 and "Scores verified" in verified.stdout, verified.stdout + verified.stderr

    # Every effect once: each campaign announced to each member of W1 once, the ended one frozen once
    # (by the survivor, which took the lease over) and its end told once.
    everyone_once = Counter(members_of_w1)
    for each in (campaign, starting, ending):
        assert _told(each, "campaign_started") == everyone_once, each.title
    assert _told(ending, "campaign_ended") == everyone_once
    assert db.session.scalars(select(CampaignResult.campaign_id)).all() == [ending.id]
    swept = leader.output() + survivor.output()
    assert (_swept(swept, "announced"), _swept(swept, "frozen")) == (3, 1)
    assert _swept(survivor.output(), "frozen") == 1
    assert db.session.scalar(select(SchedulerLease.holder)) == scheduler_id(survivor)
    # The lease runs out at most LEASE after the dead leader's last renewal; the survivor claims it at
    # its next heartbeat or sweep. Three seconds cover the pace of the processes on a busy machine.
    assert took_over_in <= LEASE + LEASE / 3 + 3, took_over_in

    # The survivor weathered the burst: alive, no traceback, and on SQLite any wait for the write lock
    # that outlasted the busy timeout was logged as a failed run to try again.
    assert survivor.alive()
    assert "Traceback" not in swept, swept[-4000:]
    for line in survivor.output().splitlines():
        if "database is locked" in line:
            assert re.search(r"Job \S+ failed \(\d+ in a row\), next try in \d+ s: \(sqlite3", line), line
    if ON_SQLITE:
        # The members' transactions held the write lock most of the time, so most of the claims and
        # sweeps of both schedulers (several a second, each BEGIN IMMEDIATE) found it taken and waited.
        assert probe.share_busy() >= 0.3, (probe.busy, probe.free)
    lock = f"; write lock busy at {probe.share_busy():.0%} of {probe.busy + probe.free} probes" if ON_SQLITE else ""
    print(
        f"\nprocesses up and writing after {started_writing:.1f} s; leader killed after {written_at_kill} logs; "
        f"taken over in {took_over_in:.1f} s; {len(burst.sent)} logs in {burst_ended:.1f} s{lock}"
    )
