"""Shared web plumbing: who may open a route, HTMX rendering, languages, errors, health."""

from flask import Blueprint

bp = Blueprint("core", __name__)

from core import views  # noqa: E402,F401
