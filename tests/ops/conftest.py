import pytest

from tests.conftest import _TMP, DATABASE_URL, PASSWORD_HASH_METHOD
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
