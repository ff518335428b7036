"""One route, full page or fragment: the decision lives here and nowhere else."""

from flask import make_response, render_template

from core.extensions import htmx


def wants_fragment() -> bool:
    """True when HTMX asked for a part of the page, not a boosted navigation or history restore."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page(page: str, fragment: str, **context):
    """Render the full page, or only its fragment when HTMX asked for it."""
    response = make_response(render_template(fragment if wants_fragment() else page, **context))
    response.vary.add("HX-Request")
    return response
