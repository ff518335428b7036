"""Bodies compressed once and kept: static files (web/assets.py) and a board's JSON a worker keeps
(leaderboards). Everything else is compressed per response by Flask-Compress, at its quicker settings."""

import gzip

import brotli
from flask import Response, current_app, request

# Brotli at its strongest, gzip for a browser without it: a fifth smaller than the quick settings, worth
# it for what is compressed once and sent many times.
STRONGEST = {"br": lambda data: brotli.compress(data, quality=11), "gzip": lambda data: gzip.compress(data, 9)}


def kept_response(body: bytes, compressed: dict[str, bytes], mimetype: str) -> Response:
    """A response whose body a worker keeps in memory (a board's JSON): compressed at the strongest
    setting once per encoding, as static files are, into `compressed`, which is kept with the body."""
    response = current_app.response_class(body, mimetype=mimetype)
    encoding = request.accept_encodings.best_match(STRONGEST)
    if encoding:
        if encoding not in compressed:
            compressed[encoding] = STRONGEST[encoding](body)
        response.set_data(compressed[encoding])
        response.headers["Content-Encoding"] = encoding  # Flask-Compress leaves it as it is
    response.vary.add("Accept-Encoding")
    return response
