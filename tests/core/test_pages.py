import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.conftest import login

ROOT = Path(__file__).parents[2]


def test_vietnamese_is_the_default_language(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="vi">' in html
    assert "Tên đăng nhập" in html


def test_lang_parameter_switches_and_is_remembered(client):
    html = client.get("/login?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html and "Username" in html and "Tên đăng nhập" not in html
    html = client.get("/login").get_data(as_text=True)
    assert "Username" in html
    html = client.get("/login?lang=vi").get_data(as_text=True)
    assert "Tên đăng nhập" in html
    assert "Tên đăng nhập" in client.get("/login").get_data(as_text=True)


def test_unknown_language_falls_back_to_vietnamese(client):
    assert '<html lang="vi">' in client.get("/login?lang=xx").get_data(as_text=True)


def test_error_pages_speak_the_users_language(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.get_data(as_text=True)
    assert "Page not found" in client.get("/no-such-page?lang=en").get_data(as_text=True)


def test_every_interface_string_has_an_english_translation(tmp_path):
    """Vietnamese is the source language: every string the Makefile extracts has an English msgstr."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-o",
            str(pot),
            "--ignore-dirs=.venv migrations tests bench",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open(encoding="utf-8") as handle:
        template = read_po(handle)
    with (ROOT / "translations/en/LC_MESSAGES/messages.po").open(encoding="utf-8") as handle:
        english = read_po(handle)
    sources = {Path(filename).parts[0] for message in template for filename, _line in message.locations}
    assert {"accounts", "admin", "core", "web", "templates"} <= sources
    missing = [
        message.id
        for message in template
        if message.id
        and (english.get(message.id) is None or not english[message.id].string or english[message.id].fuzzy)
    ]
    assert missing == []


def test_units_page_serves_full_page_or_fragment(client, people):
    login(client, "admin")
    full = client.get("/admin/units")
    assert full.status_code == 200
    assert "<html" in full.get_data(as_text=True) and 'id="unit-list"' in full.get_data(as_text=True)
    assert "HX-Request" in full.headers["Vary"]
    fragment = client.get("/admin/units?q=Q1", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "<code>Q1</code>" in body and "<code>Q2</code>" not in body
    assert "HX-Request" in fragment.headers["Vary"]
    boosted = client.get("/admin/units", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


def test_users_page_serves_full_page_or_fragment(client, people):
    login(client, "leader1")
    assert "<html" in client.get("/admin/users").get_data(as_text=True)
    fragment = client.get("/admin/users?q=member", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "member" in fragment
    assert "<code>member2</code>" not in fragment  # another ward's member is not in leader1's list


def test_unexpected_errors_show_a_translated_500_page(app, client):
    from core.access import public

    def boom():
        raise RuntimeError("bug")

    app.add_url_rule("/boom", "boom", public(boom))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom")
    assert response.status_code == 500
    assert "Lỗi hệ thống" in response.get_data(as_text=True)
    assert "System error" in client.get("/boom?lang=en").get_data(as_text=True)


def test_a_database_still_busy_after_its_timeout_gets_a_clean_503(app, client):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from core.access import public

    def busy():
        raise OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))

    app.add_url_rule("/busy", "busy", public(busy))
    response = client.get("/busy")
    assert response.status_code == 503
    assert "Hệ thống đang bận" in response.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("username", ["admin", "leader1", "teamlead", "member"])
def test_no_two_menu_links_share_a_label(client, people, username, lang):
    """In English "Học tập" and "Đào tạo" were both "Training": two menu entries a leader could not tell apart."""
    login(client, username)
    html = client.get(f"/?lang={lang}").get_data(as_text=True)
    nav = html[html.index("<nav") : html.index("</nav>")]
    labels = [re.sub(r"<[^>]+>|\s+\d+\s*$", "", link).strip() for link in re.findall(r"<a [^>]*>(.*?)</a>", nav)]
    assert len(labels) >= 4
    assert len(labels) == len(set(labels)), labels
