"""Absolute links for QR codes, posters and screens, built from PUBLIC_URL, never from the Host header.

Behind a proxy the Host header is whatever the client sent; a QR code printed from it could send a
hall of residents to somebody else's site (docs/SECURITY.md).
"""

from typing import Any

from flask import current_app, url_for


def public_url_for(endpoint: str, **values: Any) -> str:
    """The absolute address of an endpoint as residents must reach it."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for(endpoint, **values)
