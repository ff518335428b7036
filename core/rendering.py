"""One route, full page or fragment: the decision lives here and nowhere else; and a file to download."""

from flask import Response, make_response, render_template

from core.extensions import htmx


def wants_fragment() -> bool:
    """True when HTMX asked for a part of the page, not a boosted navigation or history restore."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page(page: str, fragment: str, **context):
    """Render the full page, or only its fragment when HTMX asked for it."""
    response = make_response(render_template(fragment if wants_fragment() else page, **context))
    response.vary.add("HX-Request")
    return response


def download(content: bytes, mimetype: str, filename: str) -> Response:
    """A file the browser saves rather than shows."""
    response = make_response(content)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"  # figures with names in them stay off shared caches
    return response
