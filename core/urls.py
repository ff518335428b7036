"""Absolute links for QR codes, posters and screens, built from PUBLIC_URL, never from the Host header.

Behind a proxy the Host header is whatever the client sent; a QR code printed from it could send a
hall of residents to somebody else's site (docs/SECURITY.md).
"""

from typing import Any

from flask import current_app, url_for
from werkzeug.routing import IntegerConverter


def public_url_for(endpoint: str, **values: Any) -> str:
    """The absolute address of an endpoint as residents must reach it."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for(endpoint, **values)


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` for row ids: a number no integer column can hold is a 404, not a database error."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 (werkzeug's signature)
        kwargs.setdefault("max", 2**31 - 1)  # PostgreSQL's integer
        super().__init__(map, *args, **kwargs)
