"""Light on the wire for a phone on weak 4G: responses compressed, static files cached for a year.

Compression is Flask-Compress (brotli, zstd or gzip, whichever the browser accepts first in the
library's order), except for static files asked for by their current hash: those are compressed once
with brotli at its strongest (gzip for a browser without it) and kept in memory.

A static file's URL carries a hash of its content (`?v=`), so the browser may keep it for a year
without asking again: a changed file gets a new URL. A request with any other `v` (an old page asking
for a file that has changed since) gets the file with `no-cache` instead, so nothing stale is pinned
for a year.
"""

import base64
import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Flask, Response, current_app, request, session
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_compress import Compress
from markupsafe import Markup

from core.compression import STRONGEST
from core.devices import device_named

compress = Compress()

YEAR = 365 * 24 * 3600
# The one stylesheet; a page that must paint after a single round trip carries it inline.
STYLESHEET = "css/app.css"


# Static files are compressed once, at the strongest setting, and kept: a stylesheet and htmx are then
# about a fifth smaller than at the quick settings pages need (Flask-Compress compresses everything else).
PRECOMPRESSED_TYPES = {"text/css", "text/javascript", "application/javascript", "image/svg+xml"}


@lru_cache(maxsize=64)
def _precompressed(path: Path, version: str, encoding: str) -> bytes:
    return STRONGEST[encoding](path.read_bytes())


@lru_cache(maxsize=256)
def _content_hash(path: Path, modified: float, size: int) -> str:
    # Keyed on the file's time and size too, so an edit during development is seen without a restart.
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def fingerprint(filename: str) -> str | None:
    """The content hash of a file under the static folder; None when there is no such file."""
    folder = current_app.static_folder
    if folder is None:
        return None
    path = Path(folder, filename)
    try:
        status = path.stat()
    except OSError:
        return None
    return _content_hash(path, status.st_mtime, status.st_size)


@lru_cache(maxsize=4)
def _stylesheet(path: Path, modified: float, size: int) -> tuple[str, str]:
    text = path.read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return text, f"'sha256-{digest}'"


def stylesheet() -> tuple[str, str]:
    """The stylesheet's text and the Content-Security-Policy source that allows exactly that text inline."""
    path = Path(current_app.static_folder or "", STYLESHEET)
    status = path.stat()
    return _stylesheet(path, status.st_mtime, status.st_size)


def inline_stylesheet() -> Markup:
    """The stylesheet as a <style> element: the resident's QR page paints from its first response over
    slow 4G instead of waiting another round trip for the file (docs/ARCHITECTURE.md). The policy allows
    this text by its hash, and no other inline style."""
    return Markup("<style>") + Markup(stylesheet()[0]) + Markup("</style>")


def add_fingerprint(endpoint: str, values: dict) -> None:
    """url_defaults: every url_for('static', ...) gets the file's hash."""
    if endpoint == "static" and "filename" in values and "v" not in values:
        version = fingerprint(values["filename"])
        if version is not None:
            values["v"] = version


def cache_static(response: Response) -> Response:
    """after_request: a year for a file asked for by its current hash, a check with the server otherwise."""
    if request.endpoint != "static" or response.status_code != 200:
        return response
    # Read whole, so that compression takes the buffered path: Flask-Compress's streaming path
    # leaves the file open. Our files are a few dozen kilobytes.
    response.direct_passthrough = False
    response.make_sequence()
    filename = (request.view_args or {}).get("filename", "")
    version = fingerprint(filename)
    if version is None or request.args.get("v") != version:
        response.cache_control.no_cache = True
        return response
    response.cache_control.public = True
    response.cache_control.max_age = YEAR
    response.cache_control.immutable = True
    response.cache_control.no_cache = None
    encoding = request.accept_encodings.best_match(STRONGEST)
    if encoding and response.mimetype in PRECOMPRESSED_TYPES:
        folder = current_app.static_folder or ""
        response.set_data(_precompressed(Path(folder, filename), version, encoding))
        response.headers["Content-Encoding"] = encoding  # Flask-Compress leaves it as it is
        response.vary.add("Accept-Encoding")
        response.set_etag(f"{version}-{encoding}")
    return response


def drawn_for_one_visitor(response: Response) -> bool:
    """Whether the response depends on who asks: the session holds a member or a message for her (or
    was just emptied), a device cookie named her phone, or the response gives her a cookie."""
    return bool(session) or session.modified or device_named() or "Set-Cookie" in response.headers


def cache_pages(response: Response) -> Response:
    """after_request: a response drawn for one visitor is hers alone (`private`, `Vary: Cookie`). Any
    other page is the one every visitor without a cookie gets: a cache may keep it without keying on
    cookies but must ask first (`no-cache`), and a page that has not changed since answers 304. Asking
    first is also what keeps a member from being handed the visitor's copy: her page has another ETag."""
    if request.endpoint == "static" or "Cache-Control" in response.headers:
        return response
    if drawn_for_one_visitor(response):
        response.cache_control.private = True
        response.vary.add("Cookie")
    elif request.method in {"GET", "HEAD"} and response.status_code == 200 and response.mimetype == "text/html":
        response.cache_control.no_cache = True
        response.add_etag()
        response.make_conditional(request)
    return response


class SessionsWithoutFiles(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, saved only when there is something to save or clear. Flask adds
    `Vary: Cookie` whenever the session was looked into, and Flask-Login looks on every response: a
    static file or a visitor's page would then be one copy per cookie in every cache. Whether a
    response depends on cookies is decided by `cache_pages` instead."""

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if request.endpoint != "static" and (session or session.modified):
            super().save_session(app, session, response)


def init_assets(app: Flask) -> None:
    app.session_interface = SessionsWithoutFiles()
    app.url_defaults(add_fingerprint)
    app.jinja_env.globals["inline_stylesheet"] = inline_stylesheet
    compress.init_app(app)
    # after_request hooks run last-registered first: both before compression, pages' after any cookie is set.
    app.after_request(cache_static)
    app.after_request(cache_pages)
