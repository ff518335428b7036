"""Security headers on every response, and which proxy headers to believe (docs/SECURITY.md).

One after_request hook rather than Flask-Talisman: the headers are a handful of fixed strings, and
Talisman's defaults (redirect to HTTPS, SESSION_COOKIE_SECURE forced on) fight development over
plain HTTP and the explicit settings in config.py.

The policy allows no inline script, no eval and no inline style but our own stylesheet (allowed by
its hash, for the one page that carries it inline: web/assets.py): the templates carry none
(tests/core/test_security_headers.py keeps it so), htmx is told not to inject its indicator
<style> nor to evaluate anything (the htmx-config <meta> in base.html and screens/screen.html), and
the only script of our own is static/js/app.js.
"""

from flask import Flask, Response, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

from web.assets import stylesheet

SCREEN_PREFIX = "/screen/"

POLICY = (
    ("default-src", "'self'"),
    ("script-src", "'self'"),
    ("style-src", "'self'"),
    # QR codes are inline <svg> elements, not data: images; evidence photos come from our own routes.
    ("img-src", "'self'"),
    ("object-src", "'none'"),
    ("base-uri", "'self'"),
    ("form-action", "'self'"),
)


def content_security_policy(frame_ancestors: str) -> str:
    policy = dict(POLICY)
    policy["style-src"] += " " + stylesheet()[1]  # our own stylesheet inline, that text only
    return "; ".join(f"{name} {value}" for name, value in (*policy.items(), ("frame-ancestors", frame_ancestors)))


def security_headers(response: Response) -> Response:
    """Set on every response: pages, fragments, JSON, static files and error pages alike."""
    config = current_app.config
    screen = request.path.startswith(SCREEN_PREFIX)
    ancestors = (config.get("SCREEN_FRAME_ANCESTORS") or "").strip() if screen else ""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(ancestors or "'none'"))
    if not ancestors:
        headers.setdefault("X-Frame-Options", "DENY")  # for browsers that predate frame-ancestors
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # The screen token is a secret in its URL: nothing is sent. Elsewhere (quiz slugs are secrets too)
    # the address goes only to this site, whose CSRF check over HTTPS needs a same-origin Referer.
    headers.setdefault("Referrer-Policy", "no-referrer" if screen else "same-origin")
    if config.get("SESSION_COOKIE_SECURE"):  # served over HTTPS
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def init_security(app: Flask) -> None:
    app.after_request(security_headers)
    proxies = app.config.get("TRUSTED_PROXIES", 0)
    if proxies:
        # Client address and scheme from the last `proxies` hops. Not X-Forwarded-Host: links are
        # built from PUBLIC_URL (core/urls.py), and nothing else should follow a client's Host.
        # Flask documents wrapping wsgi_app in middleware this way; its type is the method's.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0, x_port=0, x_prefix=0
        )
