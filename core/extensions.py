"""Extension objects, created here and bound to the app in create_app."""

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_babel import Babel
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from limits import parse_many

# Settings that hold rate-limit strings: the app's own, and flask-limiter's should one be set.
LIMIT_SETTINGS = (
    "LOGIN_LIMIT_PER_ADDRESS",
    "LOGIN_LIMIT_PER_ACCOUNT",
    "QUIZ_START_LIMIT",
    "RATELIMIT_DEFAULT",
    "RATELIMIT_APPLICATION",
    "RATELIMIT_META",
)


def check_limit_settings(config: Mapping[str, Any]) -> None:
    """Refuse to start with a limit that does not parse: swallow_errors would hide it at every request
    and leave that door unthrottled."""
    for name in LIMIT_SETTINGS:
        value = config.get(name)
        if not isinstance(value, str):  # unset, or a callable flask-limiter calls per request
            continue
        try:
            parse_many(value)
        except ValueError as error:
            raise RuntimeError(
                f"{name} is {value!r}, which is not a rate limit ({error}): write it like "
                "'5 per 5 minutes' or '30/hour', several separated by ';'"
            ) from None


class CheckedLimiter(Limiter):
    """A Limiter that checks the configured limits when it is bound to the app."""

    def init_app(self, app: Flask) -> None:
        check_limit_settings(app.config)
        super().init_app(app)


babel = Babel()
csrf = CSRFProtect()
htmx = HTMX()
# When the shared store (Redis) stops answering, each process counts in its own memory until it
# answers again (checked at growing intervals, at most ~30 s apart): the limits hold, looser by the
# number of processes, and nobody is locked out of signing in by a Redis outage, as failing closed
# would do, nor are guesses let through unlimited, as skipping the limits would. Errors that still
# escape (Redis dying between a request's check and its deduction) are logged, not shown as a 500.
# Limits that do not parse would be swallowed the same way, so CheckedLimiter refuses them at start.
limiter = CheckedLimiter(key_func=get_remote_address, in_memory_fallback_enabled=True, swallow_errors=True)
login_manager = LoginManager()
migrate = Migrate()
