"""The transaction hook: on SQLite a request that may write takes the write lock when it begins.

In WAL mode a deferred transaction that reads and then writes fails at once with "database is
locked", whatever the busy timeout; BEGIN IMMEDIATE waits its turn instead (docs/ARCHITECTURE.md).
"""

from flask import has_request_context, request

from models import set_write_intent

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def request_may_write() -> bool:
    """GET, HEAD and OPTIONS never write; every other method may."""
    return has_request_context() and request.method not in SAFE_METHODS


def init_transactions() -> None:
    set_write_intent(request_may_write)
