"""Configuration read from environment variables, with safe defaults for development."""

import os
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url
from werkzeug.security import DEFAULT_PBKDF2_ITERATIONS

# werkzeug's default scrypt cost (n=2^15, r=8), and OWASP's floor for PBKDF2-HMAC-SHA256.
SCRYPT_N = 2**15
SCRYPT_R = 8
MIN_PBKDF2_ITERATIONS = 600_000

# A CSP host or scheme source (https://signage.example, https://*.example:8443, https:) or 'self'.
SOURCE = re.compile(r"'self'|[a-z][a-z0-9+.-]*:(//(\*\.)?[a-z0-9.-]+(:[0-9]+)?)?", re.IGNORECASE)


def _instance_secret(instance_path: str, name: str) -> str:
    """A random secret kept in instance/, so development restarts and workers share it."""
    path = Path(instance_path) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # "x" fails if another worker won the race; everyone then reads the same key.
        with open(path, "x") as handle:
            path.chmod(0o600)
            handle.write(secrets.token_hex(32))
    except FileExistsError:
        pass
    return path.read_text().strip()


def _trusted_proxies(value: str) -> int:
    if not value.strip().isdigit():
        raise RuntimeError("TRUSTED_PROXIES must be a whole number of proxies (0 when none)")
    return int(value)


def _frame_ancestors(value: str) -> str:
    """CSP source expressions, checked so that the setting cannot add or end a directive."""
    sources = value.split()
    if any(not SOURCE.fullmatch(source) for source in sources):
        raise RuntimeError("SCREEN_FRAME_ANCESTORS takes origins such as https://signage.example, separated by spaces")
    return " ".join(sources)


def _is_strong_hash_method(name: str, args: list[str]) -> bool:
    """Whether werkzeug's method costs at least its scrypt default or PBKDF2 at OWASP's floor.

    Raises ValueError for a method werkzeug cannot use."""
    if name == "scrypt" and len(args) in (0, 3):
        n, r, _p = map(int, args) if args else (SCRYPT_N, SCRYPT_R, 1)
        return n >= SCRYPT_N and r >= SCRYPT_R
    if name == "pbkdf2" and len(args) <= 2:
        digest = args[0] if args else "sha256"
        iterations = int(args[1]) if len(args) == 2 else DEFAULT_PBKDF2_ITERATIONS
        return digest in ("sha256", "sha512") and iterations >= MIN_PBKDF2_ITERATIONS
    raise ValueError(name)


def _password_hash_method(value: str, production: bool) -> str:
    """werkzeug's method for new password hashes; production refuses one cheaper than its defaults."""
    name, *args = value.split(":")
    try:
        strong = _is_strong_hash_method(name, args)
    except ValueError:
        raise RuntimeError("PASSWORD_HASH_METHOD takes scrypt[:n:r:p] or pbkdf2[:hash[:iterations]]") from None
    if production and not strong:
        raise RuntimeError(
            "PASSWORD_HASH_METHOD must be scrypt, or pbkdf2 with 600,000 iterations or more, in production"
        )
    return value


def _log_format(value: str) -> str:
    if value not in ("json", "text"):
        raise RuntimeError("LOG_FORMAT takes json or text")
    return value


DEFAULT_WEB_WORKERS = 3
# A healthy Redis answers in about a millisecond; one that has not answered in a second is taken
# for down, and the throttles count in each process's memory until it is back (core/extensions.py).
LIMIT_STORE_TIMEOUT_SECONDS = 1.0


def web_workers(environ: Mapping[str, str] = os.environ) -> int:
    """gunicorn workers per machine (WEB_CONCURRENCY), read by gunicorn.conf.py and the check below."""
    value = environ.get("WEB_CONCURRENCY", str(DEFAULT_WEB_WORKERS))
    if not value.strip().isdigit() or int(value) < 1:
        raise RuntimeError("WEB_CONCURRENCY must be a whole number of workers (1 or more)")
    return int(value)


def check_shared_limits(workers: int, environ: Mapping[str, str] = os.environ) -> None:
    """Refuse production whose throttles each worker would count on its own.

    gunicorn.conf.py calls this with the workers gunicorn is about to start; config_from_env with
    WEB_CONCURRENCY. With memory:// every process keeps its own counts, so a limit of 5 failed
    sign-ins lets 5 per worker through. Other machines cannot be seen from here: several machines
    need Redis even with one worker each (docs/OPERATIONS.md)."""
    production = environ.get("THIDUA_ENV", "development") == "production"
    store = environ.get("RATELIMIT_STORAGE_URI", "memory://")
    if production and workers > 1 and store.partition(":")[0] == "memory":
        raise RuntimeError(
            f"RATELIMIT_STORAGE_URI is {store}, which counts in each process, and {workers} workers are "
            f"configured: sign-in and quiz-start limits would let {workers} times their number through. "
            "With THIDUA_ENV=production set RATELIMIT_STORAGE_URI to a Redis that every worker and "
            "machine shares (redis://host:6379/0), or run a single worker (WEB_CONCURRENCY=1)."
        )


def _limit_store_options(store: str) -> dict[str, float]:
    """Timeouts for a Redis store, so that a Redis that hangs cannot hold every request with it."""
    if store.partition(":")[0] in ("redis", "rediss"):
        return {"socket_connect_timeout": LIMIT_STORE_TIMEOUT_SECONDS, "socket_timeout": LIMIT_STORE_TIMEOUT_SECONDS}
    return {}


# libpq's TCP keepalives: a PostgreSQL connection whose server went silent (host down, network cut)
# fails after about idle + interval × count = 25 s, where it would wait for hours.
POSTGRESQL_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}


def _engine_options(database_url: str, environ: Mapping[str, str] = os.environ) -> dict:
    """SQLAlchemy's engine options. A pooled connection is checked before use: after a database restart
    every worker's next request is served on a new connection instead of failing once on a dead one.

    On PostgreSQL libpq's waits are bounded: opening a connection takes at most DATABASE_CONNECT_TIMEOUT
    seconds, so a database host that drops packets costs a request (or a scheduler job) that long and a
    503, where libpq would wait without end. SQLite would refuse libpq's options."""
    options: dict = {"pool_pre_ping": True}
    if make_url(database_url).get_backend_name() == "postgresql":
        timeout = environ.get("DATABASE_CONNECT_TIMEOUT", "3")
        if not timeout.strip().isdigit() or int(timeout) < 1:
            raise RuntimeError("DATABASE_CONNECT_TIMEOUT must be a whole number of seconds (1 or more)")
        options["connect_args"] = {"connect_timeout": int(timeout), **POSTGRESQL_KEEPALIVES}
    return options


def config_from_env(instance_path: str) -> dict:
    """Build the Flask config; production refuses to start without its secrets."""
    production = os.environ.get("THIDUA_ENV", "development") == "production"
    secret_key = os.environ.get("SECRET_KEY")
    hash_key = os.environ.get("HASH_KEY")
    public_url = os.environ.get("PUBLIC_URL")
    if production and not (secret_key and hash_key and public_url):
        raise RuntimeError("SECRET_KEY, HASH_KEY and PUBLIC_URL must be set when THIDUA_ENV=production")
    database_url = os.environ.get("DATABASE_URL") or "sqlite:///" + str(Path(instance_path) / "thidua.db")
    if "WEB_CONCURRENCY" in os.environ:  # `flask` commands and servers other than gunicorn refuse too
        check_shared_limits(web_workers())
    limit_store = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    return {
        "PRODUCTION": production,
        "SECRET_KEY": secret_key or _instance_secret(instance_path, "secret_key"),
        # Keyed hashes of phone numbers; separate from SECRET_KEY so rotating one keeps the other.
        "HASH_KEY": hash_key or _instance_secret(instance_path, "hash_key"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        # How new passwords are hashed (werkzeug's method string); tests use a cheap one.
        "PASSWORD_HASH_METHOD": _password_hash_method(os.environ.get("PASSWORD_HASH_METHOD", "scrypt"), production),
        # Links in QR codes and on screens; the request's Host header is never trusted for them.
        "PUBLIC_URL": public_url or "http://127.0.0.1:5000",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Also turns on Strict-Transport-Security (web/security.py): "1" means served over HTTPS.
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "0") == "1",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=int(os.environ.get("SESSION_HOURS", "8"))),
        "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
        "RATELIMIT_STORAGE_URI": limit_store,
        "RATELIMIT_STORAGE_OPTIONS": _limit_store_options(limit_store),
        "RATELIMIT_HEADERS_ENABLED": True,
        # A Redis every worker and machine shares, told when a campaign's scores move, so that a board's
        # JSON is answered without the database (core/shared_versions.py); empty: ask the database.
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "LOGIN_LIMIT_PER_ADDRESS": os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "30 per 5 minutes"),
        # Residents at one event often share the hall's Wi-Fi address: generous, but not unlimited.
        "QUIZ_START_LIMIT": os.environ.get("QUIZ_START_LIMIT", "300 per 10 minutes"),
        # Open-QR attempts per address per hour that add points to a quarter; event sessions are exempt.
        "QUIZ_CREDITED_PER_ADDRESS_PER_HOUR": int(os.environ.get("QUIZ_CREDITED_PER_ADDRESS_PER_HOUR", "10")),
        # Days after which a quiz attempt's personal details and answers are erased (numbers stay).
        "QUIZ_RETENTION_DAYS": int(os.environ.get("QUIZ_RETENTION_DAYS", "90")),
        "LOGIN_LIMIT_PER_ACCOUNT": os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per 5 minutes"),
        # How many reverse proxies stand in front and append to X-Forwarded-For/-Proto; 0 believes none.
        "TRUSTED_PROXIES": _trusted_proxies(os.environ.get("TRUSTED_PROXIES", "0")),
        # Space-separated CSP sources (e.g. "https://signage.example") allowed to frame /screen/ pages;
        # empty: no page may be framed anywhere.
        "SCREEN_FRAME_ANCESTORS": _frame_ancestors(os.environ.get("SCREEN_FRAME_ANCESTORS", "")),
        # Evidence photos (core/storage.py): a directory (empty: instance/evidence), or, when a bucket
        # is named, an S3-compatible store; credentials come from boto3's own AWS_* variables.
        "EVIDENCE_DIR": os.environ.get("EVIDENCE_DIR", ""),
        "EVIDENCE_S3_BUCKET": os.environ.get("EVIDENCE_S3_BUCKET", ""),
        "EVIDENCE_S3_PREFIX": os.environ.get("EVIDENCE_S3_PREFIX", ""),
        "EVIDENCE_S3_ENDPOINT_URL": os.environ.get("EVIDENCE_S3_ENDPOINT_URL", ""),
        "EVIDENCE_S3_REGION": os.environ.get("EVIDENCE_S3_REGION", ""),
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "LANGUAGES": ("vi", "en"),
        # `make run` embeds the scheduler in the development server; production runs `flask scheduler`.
        "SCHEDULER_EMBEDDED": os.environ.get("SCHEDULER_EMBEDDED", "0") == "1",
        "SCHEDULER_INTERVAL_SECONDS": int(os.environ.get("SCHEDULER_INTERVAL_SECONDS", "20")),
        # Of the schedulers started, the lease's holder works; when it dies another takes over within
        # this plus a third of it (the heartbeat), core/scheduler.py.
        "SCHEDULER_LEASE_SECONDS": int(os.environ.get("SCHEDULER_LEASE_SECONDS", "30")),
        # Where `flask backup` writes when given no path, and where `--keep` prunes (web/backups.py).
        "BACKUP_DIR": os.environ.get("BACKUP_DIR") or str(Path(instance_path) / "backups"),
        # One JSON object per log line for a log collector (web/logs.py); readable text while developing.
        "LOG_FORMAT": _log_format(os.environ.get("LOG_FORMAT") or ("json" if production else "text")),
        # Notifications by e-mail too (notifications/mail.py), sent by the scheduler; no host, no e-mail.
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "587")),
        "SMTP_USER": os.environ.get("SMTP_USER", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_FROM": os.environ.get("SMTP_FROM", "ThiĐua <thidua@localhost>"),
        "SMTP_STARTTLS": os.environ.get("SMTP_STARTTLS", "1") == "1",
    }
