import pytest

from tests.conftest import _TMP, DATABASE_URL, PASSWORD_HASH_METHOD
from tests.ops.bursts import WRITERS, campaign_open_for_logs
from tests.ops.processes import Processes


@pytest.fixture
def processes(app, tmp_path):
    """Start app processes on the test database; stopped before the `app` fixture empties it."""
    env = {
        "DATABASE_URL": DATABASE_URL,
        "SECRET_KEY": "test-secret",
        "HASH_KEY": "test-hash-key",
        "PASSWORD_HASH_METHOD": PASSWORD_HASH_METHOD,
        "EVIDENCE_DIR": f"{_TMP}/evidence",
        "RATELIMIT_STORAGE_URI": "memory://",
        "FLASK_APP": "app",
    }
    started = Processes(tmp_path, env)
    yield started
    started.stop_all()


@pytest.fixture
def open_campaign(people, make_campaign):
    """A campaign running by the real clock whose one activity is credited at once (tests/ops/bursts.py)."""
    return campaign_open_for_logs(people["leader1"], make_campaign)


@pytest.fixture
def writers(tree, make_user):
    """The usernames of WRITERS members of Q1."""
    return [make_user(f"writer{n}", "member", tree["Q1"]).username for n in range(WRITERS)]
