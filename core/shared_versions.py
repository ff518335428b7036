"""Whether a campaign's scores moved, told by Redis instead of the database (docs/ARCHITECTURE.md,
"A board's JSON without the database").

Redis holds a token per campaign, not its version number: a random string under
`thidua:scores:<campaign id>`, made by the first reader that finds none, and deleted after every commit
that moved the campaign's version (`scoring` notes which in the session, `forget_bumped` reads the
note). A reader reads the token before the scores, so what it keeps under a token is never older than
the scores that token stood for; a deleted token is never made again, so what was kept under it is
never read again. Tokens expire after TOKEN_SECONDS: a delete that was lost (the process died between
its commit and the delete, or Redis did not answer then) leaves boards stale for at most that long.
Without REDIS_URL, or while Redis does not answer, `token` says None and callers ask the database.
"""

import logging
import secrets
import time
from collections.abc import Iterable

from flask import Flask, current_app, has_app_context
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

from scoring import BUMPED_CAMPAIGNS

TOKEN_SECONDS = 60
# A healthy Redis on the same network answers in well under a millisecond; a read that waited longer
# than this would cost more than asking the database.
TIMEOUT_SECONDS = 0.25
# After Redis failed to answer, this process asks the database for this long before trying again.
PAUSE_SECONDS = 5.0
EXTENSION = "shared_versions"

log = logging.getLogger("thidua.shared_versions")


class SharedVersions:
    def __init__(self, url: str) -> None:
        self.url = url
        self.client: Redis | None = None  # connected at first use: a Redis down at start stops nothing
        self.paused_until = 0.0

    @property
    def redis(self) -> Redis:
        if self.client is None:
            # One connection per process, not a pool: a pool's checkout cost as much as the GET itself.
            # No retries: a Redis that does not answer at once is asked again only after the pause.
            self.client = Redis.from_url(
                self.url,
                socket_timeout=TIMEOUT_SECONDS,
                socket_connect_timeout=TIMEOUT_SECONDS,
                retry=Retry(NoBackoff(), 0),
                single_connection_client=True,
            )
        return self.client

    def token(self, campaign_id: int) -> str | None:
        """The campaign's current token, made if it has none; None while Redis does not answer."""
        if time.monotonic() < self.paused_until:
            return None
        key = _key(campaign_id)
        try:
            found = self.redis.get(key)
            if found is None:
                # Two readers may both find none: the first one's token is the one both use.
                with self.redis.pipeline() as both:
                    both.set(key, secrets.token_hex(8), nx=True, ex=TOKEN_SECONDS)
                    both.get(key)
                    found = both.execute()[1]
        except RedisError as error:
            self._pause("read", error)
            return None
        return found.decode() if isinstance(found, bytes) else str(found)

    def forget(self, campaign_ids: Iterable[int]) -> None:
        """Delete the tokens of campaigns whose scores moved: their next reader makes a new one."""
        keys = [_key(campaign_id) for campaign_id in sorted(set(campaign_ids))]
        if not keys:
            return
        try:
            self.redis.delete(*keys)
        except RedisError as error:
            self._pause("delete", error)

    def _pause(self, what: str, error: RedisError) -> None:
        self.paused_until = time.monotonic() + PAUSE_SECONDS
        log.warning("Redis did not %s a scores token (%s): reading versions from the database", what, error)


def _key(campaign_id: int) -> str:
    return f"thidua:scores:{campaign_id}"


def init_shared_versions(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    if url:
        app.extensions[EXTENSION] = SharedVersions(url)


def shared_token(campaign_id: int) -> str | None:
    """The campaign's token in Redis; None without Redis (then read the version from the database)."""
    shared: SharedVersions | None = current_app.extensions.get(EXTENSION)
    return shared.token(campaign_id) if shared is not None else None


@event.listens_for(Session, "after_commit")
def forget_bumped(session: Session) -> None:
    """Once the new version is committed, and before anyone is told the write succeeded."""
    bumped = session.info.pop(BUMPED_CAMPAIGNS, None)
    if bumped and has_app_context():
        shared: SharedVersions | None = current_app.extensions.get(EXTENSION)
        if shared is not None:
            shared.forget(bumped)


@event.listens_for(Session, "after_rollback")
def _drop_bumped(session: Session) -> None:
    session.info.pop(BUMPED_CAMPAIGNS, None)
