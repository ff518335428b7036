"""New password hashes follow PASSWORD_HASH_METHOD; production refuses a cheap method."""

import pytest
from sqlalchemy import select

from accounts.services import hash_password, one_time_credentials
from config import config_from_env
from demo.seed import seed_demo_data
from models import User, db

WEAK = ["pbkdf2:sha256:1", "pbkdf2:sha256:599999", "pbkdf2:md5:1000000", "scrypt:16384:8:1", "scrypt:32768:1:1"]
STRONG = ["scrypt", "scrypt:32768:8:1", "scrypt:65536:8:2", "pbkdf2", "pbkdf2:sha512", "pbkdf2:sha256:600000"]
MALFORMED = ["", "md5", "argon2", "scrypt:32768", "pbkdf2:sha256:many", "pbkdf2:sha256:1:2"]


@pytest.fixture
def production(monkeypatch):
    for name, value in {"SECRET_KEY": "s", "HASH_KEY": "h", "PUBLIC_URL": "https://thidua.example.vn"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("THIDUA_ENV", "production")


def test_the_default_is_werkzeugs_scrypt(monkeypatch, tmp_path):
    monkeypatch.delenv("PASSWORD_HASH_METHOD", raising=False)
    assert config_from_env(str(tmp_path))["PASSWORD_HASH_METHOD"] == "scrypt"


@pytest.mark.parametrize("method", WEAK)
def test_production_refuses_a_cheap_method(production, monkeypatch, tmp_path, method):
    monkeypatch.setenv("PASSWORD_HASH_METHOD", method)
    with pytest.raises(RuntimeError, match="PASSWORD_HASH_METHOD must be scrypt"):
        config_from_env(str(tmp_path))


@pytest.mark.parametrize("method", STRONG)
def test_production_accepts_scrypt_and_pbkdf2_with_enough_iterations(production, monkeypatch, tmp_path, method):
    monkeypatch.setenv("PASSWORD_HASH_METHOD", method)
    assert config_from_env(str(tmp_path))["PASSWORD_HASH_METHOD"] == method


@pytest.mark.parametrize("method", MALFORMED)
def test_a_method_werkzeug_cannot_use_is_refused_at_startup(monkeypatch, tmp_path, method):
    monkeypatch.setenv("PASSWORD_HASH_METHOD", method)
    with pytest.raises(RuntimeError, match="PASSWORD_HASH_METHOD takes"):
        config_from_env(str(tmp_path))


def test_development_may_choose_a_cheap_method(monkeypatch, tmp_path):
    monkeypatch.setenv("PASSWORD_HASH_METHOD", "pbkdf2:sha256:1")
    assert config_from_env(str(tmp_path))["PASSWORD_HASH_METHOD"] == "pbkdf2:sha256:1"


def test_passwords_one_time_passwords_and_the_demo_are_hashed_by_the_configured_method(app):
    assert hash_password("a long passphrase").startswith("pbkdf2:sha256:1$")
    [(_password, hashed)] = one_time_credentials(1)
    assert hashed.startswith("pbkdf2:sha256:1$")
    seed_demo_data("small")
    db.session.commit()
    assert db.session.scalar(select(User.password_hash).limit(1)).startswith("pbkdf2:sha256:1$")
    app.config["PASSWORD_HASH_METHOD"] = "scrypt"
    assert hash_password("a long passphrase").startswith("scrypt:32768:8:1$")
