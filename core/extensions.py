"""Extension objects, created here and bound to the app in create_app."""

from flask_babel import Babel
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

babel = Babel()
csrf = CSRFProtect()
htmx = HTMX()
# When the shared store (Redis) stops answering, each process counts in its own memory until it
# answers again (checked at growing intervals, at most ~30 s apart): the limits hold, looser by the
# number of processes, and nobody is locked out of signing in by a Redis outage, as failing closed
# would do, nor are guesses let through unlimited, as skipping the limits would. Errors that still
# escape (Redis dying between a request's check and its deduction) are logged, not shown as a 500.
limiter = Limiter(key_func=get_remote_address, in_memory_fallback_enabled=True, swallow_errors=True)
login_manager = LoginManager()
migrate = Migrate()
