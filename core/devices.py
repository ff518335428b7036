"""A cookie that names a phone without an account, so that a reload or a reopened tab finds the same
quiz attempt or live player. The token is random; the services keep only a keyed hash of it."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g, request
from werkzeug.wrappers import Response


@dataclass(frozen=True)
class DeviceCookie:
    name: str
    lifetime: timedelta

    def token(self) -> str | None:
        """The token this request's device carries, if any."""
        token = request.cookies.get(self.name)
        if token is not None:
            g.device_named = True
        return token

    def token_or_new(self) -> str:
        """The device's token, or a new one to give it with the response."""
        return self.token() or secrets.token_urlsafe(24)

    def remember(self, response: Response, token: str) -> Response:
        """The response, setting the cookie when the request did not already carry this token."""
        if self.token() != token:
            response.set_cookie(
                self.name,
                token,
                max_age=int(self.lifetime.total_seconds()),
                httponly=True,
                samesite="Lax",
                secure=current_app.config["SESSION_COOKIE_SECURE"],
            )
        return response


def device_named() -> bool:
    """Whether this response was drawn for the phone a device cookie names (its attempt, its player)."""
    return bool(g.get("device_named"))
