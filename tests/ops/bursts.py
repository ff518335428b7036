"""Bursts of writes through real gunicorn instances, shared by the tests that kill processes under them.

Members log work from several threads, as phones would. A submission counts as acknowledged only when
its 302 reached the phone; one cut in flight is sent again with the same idempotency key, as the form
does when the member taps again.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import requests

from campaigns.services import ActivityFields, publish, save_activity_type
from domain.days import local_date
from models import Campaign, User, db
from tests.conftest import PASSWORD, csrf_from

POINTS = 2
WRITERS = 8  # members logging at once, one thread each


def campaign_open_for_logs(leader: User, make_campaign: Callable[..., Campaign]) -> tuple[Campaign, int]:
    """A campaign of W1 running now by the real clock (the servers have no test clock), whose one
    activity needs neither evidence nor approval: each log is one contribution and one ledger row.
    The campaign and the activity's id."""
    real_now = datetime.now(UTC)
    campaign = make_campaign(template="custom", published=False, starts=real_now - timedelta(days=1))
    activity = save_activity_type(
        leader, campaign, ActivityFields(name="Cài VNeID cho người dân", points=POINTS, needs_verification=False)
    )
    publish(leader, campaign, real_now)
    db.session.commit()
    return campaign, activity.id


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
