"""Input no database can store is refused before any view sees it.

PostgreSQL text cannot hold a NUL character: a `?campaign=%00` once reached a query and became a
500 on PostgreSQL (SQLite took it). No person types one, so every such request is a 400.
"""

from flask import abort, request


def refuse_nul_characters() -> None:
    """before_request: a NUL anywhere in the path, the query or the form is a bad request."""
    values = [request.path, *request.args.keys(), *request.args.values()]
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        values += [*request.form.keys(), *request.form.values()]
    if any("\x00" in value for value in values):
        abort(400)
