"""Database errors: a translated 503 when SQLite stays busy, the normal 500 otherwise, never a crash."""

import sqlite3
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from core.access import public, signed_in
from models import db
from tests.conftest import DATABASE_URL, csrf_token, login


@pytest.fixture
def impatient_database(app):
    """Connections that give up at once on a held lock, instead of after the 10-second busy timeout."""

    def no_waiting(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    db.engine.dispose()
    event.listen(db.engine, "connect", no_waiting)
    yield
    event.remove(db.engine, "connect", no_waiting)
    db.engine.dispose()


@contextmanager
def write_lock_held_elsewhere():
    """Another process's writer holding SQLite's write lock for the duration of the block."""
    db.session.commit()
    other = sqlite3.connect(db.engine.url.database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
    finally:
        other.close()  # closing rolls back and releases the lock


@pytest.mark.skipif(not DATABASE_URL.startswith("sqlite"), reason="SQLite's write lock; PostgreSQL locks rows")
def test_a_post_while_another_writer_holds_the_lock_gets_the_busy_page(client, people, impatient_database):
    login(client, "member")
    token = csrf_token(client, "/notifications")
    with write_lock_held_elsewhere():
        # The request's first query (loading the user) begins BEGIN IMMEDIATE and finds the lock taken;
        # the error page must not query again: it would wait on the same lock and fail inside the handler.
        response = client.post("/notifications/read", data={"csrf_token": token})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        html = response.get_data(as_text=True)
        assert "Hệ thống đang bận" in html and "Hãy đợi vài giây rồi gửi lại." in html
        english = client.post("/notifications/read?lang=en", data={"csrf_token": token})
        assert english.status_code == 503 and 'lang="en"' in english.get_data(as_text=True)
    assert client.post("/notifications/read", data={"csrf_token": token}).status_code == 302


def test_the_busy_page_survives_a_session_that_cannot_roll_back(app, client, monkeypatch):
    def busy():
        raise OperationalError("UPDATE ...", {}, sqlite3.OperationalError("database is locked"))

    def broken_rollback():
        raise OperationalError("ROLLBACK", {}, sqlite3.OperationalError("disk I/O error"))

    app.add_url_rule("/busy", "busy", public(busy))
    monkeypatch.setattr(db.session, "rollback", broken_rollback)
    response = client.get("/busy")
    assert response.status_code == 503
    assert "Hệ thống đang bận" in response.get_data(as_text=True)


def test_other_database_errors_become_the_normal_500_page(app, client):
    def broken():
        raise OperationalError("SELECT nope FROM nowhere", {}, sqlite3.OperationalError("no such table: nowhere"))

    app.add_url_rule("/broken", "broken", public(broken))
    response = client.get("/broken")
    assert response.status_code == 500
    assert "Lỗi hệ thống" in response.get_data(as_text=True)
    api = client.get("/broken", headers={"Accept": "application/json"})
    assert api.status_code == 500 and api.get_json()["error"] == "Lỗi hệ thống"
    assert "System error" in client.get("/broken?lang=en").get_data(as_text=True)


def test_a_crash_after_a_failed_flush_still_gets_the_500_page(app, client, people):
    from models import User

    def crash_after_failed_flush():
        db.session.add(User(username="member", display_name="Dup", password_hash="x", role="member"))
        try:
            db.session.flush()
        except Exception:
            pass  # a bug: the session is left needing a rollback
        raise RuntimeError("bug")

    app.add_url_rule("/flush", "flush", signed_in(crash_after_failed_flush))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    login(client, "member")
    response = client.get("/flush")
    assert response.status_code == 500
    assert "Lỗi hệ thống" in response.get_data(as_text=True)


def _unreachable_database_url() -> str:
    """A database that does not answer: a closed port for PostgreSQL, a missing folder for SQLite."""
    if DATABASE_URL.startswith("sqlite"):
        return "sqlite:////nonexistent-thidua-folder/thidua.db"
    return "postgresql+psycopg://postgres@127.0.0.1:1/thidua?connect_timeout=2"


def test_with_the_database_down_every_page_is_the_apps_own_503(app, client, people):
    from tests.conftest import make_test_app

    login(client, "member")
    signed_in_cookie = client.get_cookie("session")
    down = make_test_app(SQLALCHEMY_DATABASE_URI=_unreachable_database_url()).test_client()
    down.set_cookie("session", signed_in_cookie.value)
    with down.application.app_context():
        for path in ("/", "/campaigns", "/me", "/?lang=en"):
            response = down.get(path)
            html = response.get_data(as_text=True)
            assert response.status_code == 503, path
            assert response.headers["Retry-After"] == "30"
            if path.endswith("lang=en"):
                assert "The database cannot be reached" in html
            else:
                assert "Tạm thời không kết nối được dữ liệu" in html and "<html" in html, path
        api = down.get("/api/v1/campaigns")
        # ?lang=en above is remembered: even this page, built without the database, speaks English.
        assert api.status_code == 503 and api.get_json()["error"] == "The database cannot be reached"
        assert down.get("/readyz").status_code == 503
        down.application.extensions["sqlalchemy"].engines[None].dispose()
    # The working database answers again at once: nothing was cached from the failure.
    assert client.get("/").status_code == 200


def test_an_error_answering_htmx_is_a_short_message_not_a_page_inside_the_page(client, people):
    login(client, "member")
    swapped = client.post("/notifications/read", headers={"HX-Request": "true"})  # no CSRF token
    assert swapped.status_code == 400
    fragment = swapped.get_data(as_text=True)
    assert "<html" not in fragment and 'role="alert"' in fragment
    boosted = client.post("/notifications/read", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)  # a boosted navigation replaces the whole page
