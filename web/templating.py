"""Helpers every template may use, registered once by the app factory."""

from flask import Flask
from flask_babel import format_decimal, format_number

from core.i18n import current_language, in_language, page_without_language
from core.labels import KIND_LABELS, ROLE_LABELS
from core.urls import public_url_for


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def init_templating(app: Flask) -> None:
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["page_without_language"] = page_without_language
    app.jinja_env.globals["public_url_for"] = public_url_for
    app.jinja_env.filters["format_number"] = format_number
    app.jinja_env.filters["format_decimal"] = format_decimal
    app.jinja_env.filters["role_label"] = role_label
    app.jinja_env.filters["kind_label"] = kind_label
    app.jinja_env.filters["in_language"] = in_language
