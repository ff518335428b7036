"""Liveness (/healthz: the process answers) and readiness (/readyz: what a request needs answers)."""

import pytest

from core import storage
from core.extensions import limiter
from models import db
from tests.conftest import make_test_app
from tests.core.test_errors import _unreachable_database_url
from tests.ops.processes import Processes
from tests.sql_budget import request_statements


@pytest.fixture
def other_apps(app):
    """A factory of apps on other settings; the limiter goes back to the test app's store afterwards."""
    made = []

    def make(**overrides):
        made.append(make_test_app(**overrides))
        return made[-1].test_client()

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()
    limiter.init_app(app)  # the limiter is one object: its store is the last app's


def test_liveness_answers_without_touching_the_database(client):
    response, statements = request_statements(client, "GET", "/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert statements == []


def test_liveness_answers_while_the_database_is_down(other_apps):
    down = other_apps(SQLALCHEMY_DATABASE_URI=_unreachable_database_url())
    assert down.get("/healthz").status_code == 200


def test_readiness_is_200_when_the_database_and_the_rate_limit_store_answer(client):
    response, statements = request_statements(client, "GET", "/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "checks": {"database": "ok", "rate_limits": "ok", "evidence": "ok"},
    }
    assert [statement.strip().upper() for statement in statements] == ["SELECT 1"]  # reads, never writes


def test_readiness_is_503_naming_the_database_when_it_is_down(other_apps):
    down = other_apps(SQLALCHEMY_DATABASE_URI=_unreachable_database_url())
    response = down.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "error",
        "checks": {"database": "error", "rate_limits": "ok", "evidence": "ok"},
        "failed": ["database"],
    }


def test_readiness_is_degraded_not_503_when_redis_is_down(other_apps):
    """Each process then counts the throttles itself; pulling every machine out for it would be an outage."""
    unreachable = other_apps(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")  # nothing listens on port 1
    response = unreachable.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "degraded",
        "checks": {"database": "ok", "rate_limits": "error", "evidence": "ok"},
        "degraded": ["rate_limits"],
    }


def test_readiness_is_200_with_redis_as_the_rate_limit_store(other_apps, tmp_path):
    servers = Processes(tmp_path, {})
    try:
        shared = other_apps(RATELIMIT_STORAGE_URI=servers.redis())
        response = shared.get("/readyz")
        assert response.status_code == 200
        assert response.get_json()["checks"] == {"database": "ok", "rate_limits": "ok", "evidence": "ok"}
    finally:
        servers.stop_all()


def test_readiness_is_degraded_when_the_evidence_directory_cannot_be_written(other_apps, tmp_path):
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a directory")
    broken = other_apps(EVIDENCE_DIR=str(in_the_way / "evidence"))
    response = broken.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "degraded" and response.get_json()["degraded"] == ["evidence"]
    fine = other_apps(EVIDENCE_DIR=str(tmp_path / "not-made-yet" / "evidence"))  # made on the first upload
    assert fine.get("/readyz").get_json()["status"] == "ok"
    with fine.application.app_context():
        storage.save("first.jpg", b"\xff\xd8")
    assert (tmp_path / "not-made-yet" / "evidence" / storage.MARKER).is_file()  # the app made it: its own
    assert fine.get("/readyz").get_json()["status"] == "ok"


def test_readiness_is_degraded_when_the_shared_volume_is_not_mounted(other_apps, tmp_path):
    """Without its volume a mount point is an empty directory any process may write in: only the
    marker the operator put on the volume tells the two apart."""
    mount_point = tmp_path / "mnt" / "thidua-evidence"
    mount_point.mkdir(parents=True)
    machine = other_apps(EVIDENCE_DIR=str(mount_point))
    response = machine.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "degraded" and response.get_json()["degraded"] == ["evidence"]
    with machine.application.app_context():
        storage.save("uploaded-meanwhile.jpg", b"\xff\xd8")  # an upload does not mark it
    assert machine.get("/readyz").get_json()["degraded"] == ["evidence"]
    (mount_point / ".thidua-evidence").touch()  # docs/OPERATIONS.md: once, with the volume mounted
    assert machine.get("/readyz").get_json()["status"] == "ok"


def test_readiness_leaves_a_shared_s3_bucket_unchecked(other_apps):
    """A shared bucket failing would take every machine out of the load balancer at once."""
    s3 = other_apps(EVIDENCE_S3_BUCKET="evidence", EVIDENCE_S3_ENDPOINT_URL="http://127.0.0.1:1")
    response = s3.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "rate_limits": "ok"}
