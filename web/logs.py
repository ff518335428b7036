"""Logs an operator can search: one line per request, application logs alike, each with the request's id.

LOG_FORMAT=json (the production default) writes every record as one JSON object per line through
python-json-logger; `text` (the development default) writes the same records as readable lines. The
request id comes from the proxy's X-Request-ID header when it looks like an id (the header is the
client's to choose, so anything else is replaced), or is made here; it is echoed in the response and
added by a logging filter to every record made while the request runs, so one id finds the request
line, its warnings and its traceback. Under gunicorn this request line replaces its access log.
"""

import logging
import re
import sys
import time
import unicodedata
import uuid

from flask import Flask, Response, g, has_request_context, request
from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import inspect

REQUEST_ID_HEADER = "X-Request-ID"
# Ids as proxies and load balancers make them (UUIDs, hex, base32): no spaces, quotes or line breaks
# that could forge a log line, and short enough that a client cannot fill the logs through it.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
ACCESS_LOGGER = "thidua.access"
# Path parts that are bearer secrets (an event screen's link): logged as their rule's placeholder.
SECRET_VIEW_ARGS = frozenset({"token"})
# Characters that end a line or change how the rest of it reads (controls, line and paragraph
# separators, bidirectional overrides): in a path they are written percent-encoded, as they came.
UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"

# One handler for the process, on the root logger: each create_app (the tests make many) re-dresses it
# instead of adding another, so no line is ever written twice.
handler = logging.StreamHandler(sys.stderr)


def current_request_id() -> str | None:
    """This request's id (taken from the header or made, once per request); None outside a request."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    return g.request_id


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record that passes the handler, from whichever logger it came."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request_id()
        if request_id is not None:
            record.request_id = request_id
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object a line: time, level, logger, message, and every extra field of the record.

    Also named by deploy/gunicorn-logging.json, so that gunicorn's own lines look the same."""
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
    )


def formatter_for(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return json_formatter()
    return logging.Formatter(TEXT_FORMAT, defaults={"request_id": "-"})


def configure_logging(log_format: str) -> None:
    """Send every logger's records through the one handler, formatted as configured."""
    handler.setFormatter(formatter_for(log_format))
    if not any(isinstance(existing, RequestIdFilter) for existing in handler.filters):
        handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    if handler not in root.handlers:
        root.addHandler(handler)
    root.setLevel(logging.INFO)


def _signed_in_user_id() -> int | None:
    """The id of the user this request already loaded; never a query (the database may be the failure)."""
    user = g.get("_login_user")  # where Flask-Login keeps the user it loaded for this request
    state = inspect(user, raiseerr=False) if user is not None else None
    return state.identity[0] if state is not None and state.identity else None


def start_request() -> None:
    """before_request, registered first so that it runs even when a later hook answers instead."""
    g.request_started = time.perf_counter()
    current_request_id()


def _printable(text: str) -> str:
    """The text with each character that could break or disguise a log line percent-encoded."""
    if text.isprintable():  # nearly every path: no control, format or separator character at all
        return text
    return "".join(_percent_encoded(char) for char in text)


def _percent_encoded(char: str) -> str:
    if unicodedata.category(char) not in UNPRINTABLE_CATEGORIES:
        return char
    return "".join(f"%{byte:02X}" for byte in char.encode())


def _loggable_path() -> str:
    """The path with every secret part replaced by its placeholder, as in the route (/screen/<token>),
    and no character that could start a forged line in a text log (a decoded %0A)."""
    if request.url_rule is not None and SECRET_VIEW_ARGS & (request.view_args or {}).keys():
        return request.url_rule.rule
    return _printable(request.path)


def log_request(response: Response) -> Response:
    """after_request, registered first so that it runs last: the status is the one sent."""
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    request_id = current_request_id()
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    path = _loggable_path()
    fields = {
        "method": request.method,
        "path": path,  # never the query string: its values may be names, phones or codes
        "route": request.url_rule.rule if request.url_rule is not None else None,
        "status": response.status_code,
        "duration_ms": duration_ms,
        "user_id": _signed_in_user_id(),
        "remote_addr": request.remote_addr,  # the client's, once ProxyFix has read X-Forwarded-For
    }
    if request.args:
        fields["query_params"] = sorted(request.args.keys())
    logging.getLogger(ACCESS_LOGGER).info(
        "%s %s %s %s ms", request.method, path, response.status_code, duration_ms, extra=fields
    )
    return response


def init_request_logs(app: Flask) -> None:
    """Configure logging and the per-request line; call before any other hook is registered."""
    configure_logging(app.config.get("LOG_FORMAT", "text"))
    # Flask's own handler would write app.logger's records a second time, in its own format.
    app.logger.removeHandler(default_handler)
    app.before_request(start_request)
    app.after_request(log_request)
