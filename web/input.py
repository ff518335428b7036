"""Input no database can store is refused before any view sees it.

PostgreSQL text cannot hold a NUL character: a `?campaign=%00` once reached a query and became a
500 on PostgreSQL (SQLite took it). No person types one, so every such request is a 400. Likewise
an id no integer column can hold never matches a route.
"""

from flask import abort, request
from werkzeug.routing import IntegerConverter


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` for row ids: a number no integer column can hold is a 404, not a database error."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 (werkzeug's signature)
        kwargs.setdefault("max", 2**31 - 1)  # PostgreSQL's integer
        super().__init__(map, *args, **kwargs)


def refuse_nul_characters() -> None:
    """before_request: a NUL anywhere in the path, the query or the form is a bad request."""
    values = [request.path, *request.args.keys(), *request.args.values()]
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        values += [*request.form.keys(), *request.form.values()]
    if any("\x00" in value for value in values):
        abort(400)
