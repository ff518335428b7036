"""Forged requests: a form another site makes a visitor's browser send is refused (docs/SECURITY.md).

Two checks, one for everyone and one more for members:
- Any request that may change something is refused when the browser says another site sent it: by
  `Sec-Fetch-Site` (every current browser sends it), else by an `Origin` that is not this site. A
  request with neither comes from a program or a browser from before 2020 and goes on, as in Go's
  `http.CrossOriginProtection`; a program can fetch a page and its form anyway.
- A signed-in member's requests must also carry her session's CSRF token (Flask-WTF), the check
  her forms always had: they approve, export, erase.

A visitor who has not signed in gets no token. Her pages are then the same for every such visitor,
no session is written for her, and a cache may keep them without keying on cookies
(docs/ARCHITECTURE.md, "What caches may keep").
"""

from urllib.parse import urlsplit

from flask import Flask, current_app, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from core.extensions import csrf
from core.forms import members_csrf_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# "none": the person opened the address herself (typed, bookmarked), which no other site can do.
OWN_SITE = frozenset({"same-origin", "none"})


def sent_by_another_site() -> bool:
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site not in OWN_SITE
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    # "null" (a sandboxed frame, a file) has no host and is refused with the rest.
    host = urlsplit(origin).netloc
    return host not in {request.host, urlsplit(current_app.config["PUBLIC_URL"]).netloc}


def refuse_forged_requests() -> None:
    """before_request: the checks above, before any view or access rule runs."""
    if request.method in SAFE_METHODS:
        return
    if sent_by_another_site():
        raise CSRFError("The request was sent by another site.")
    if current_user.is_authenticated:
        csrf.protect(apply_exemptions=True)


def init_forgery(app: Flask) -> None:
    # Flask-WTF's own hook would ask every visitor for a token; ours asks members only.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.before_request(refuse_forged_requests)
    # Flask-WTF offers its own both ways: as a global (macros imported without context) and per render.
    app.jinja_env.globals["csrf_token"] = members_csrf_token
    app.context_processor(lambda: {"csrf_token": members_csrf_token})
