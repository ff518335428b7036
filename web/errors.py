"""Error pages in the user's language, as HTML or as JSON for API clients."""

from flask import Response, current_app, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from core.extensions import htmx
from core.forms import CSRF_MESSAGE
from core.i18n import current_language
from core.storage import StorageError
from models import db

MESSAGES = {
    400: (_l("Yêu cầu không hợp lệ"), _l("Máy chủ không hiểu yêu cầu này. Hãy tải lại trang và thử lại.")),
    403: (_l("Không có quyền truy cập"), _l("Tài khoản của bạn không được phép mở trang này.")),
    404: (_l("Không tìm thấy trang"), _l("Trang bạn tìm không tồn tại hoặc đã bị xoá.")),
    405: (_l("Thao tác không được phép"), _l("Trang này không nhận thao tác đó.")),
    413: (_l("Tệp quá lớn"), _l("Tệp tải lên vượt quá dung lượng cho phép.")),
    429: (
        _l("Quá nhiều lần thử"),
        _l("Bạn đã thử quá nhiều lần trong thời gian ngắn. Vui lòng đợi vài phút rồi thử lại."),
    ),
    503: (_l("Hệ thống đang bận"), _l("Có quá nhiều người gửi cùng lúc. Hãy đợi vài giây rồi gửi lại.")),
    500: (_l("Lỗi hệ thống"), _l("Đã có lỗi xảy ra. Chúng tôi đã ghi nhận; vui lòng thử lại sau.")),
}
BUSY_RETRY_SECONDS = 5
# The database does not answer at all (stopped, unreachable, a missing file): a page of its own.
UNAVAILABLE = (
    _l("Tạm thời không kết nối được dữ liệu"),
    _l("Hệ thống đang không kết nối được cơ sở dữ liệu. Hãy thử lại sau ít phút; những gì đã lưu không bị mất."),
)
UNAVAILABLE_RETRY_SECONDS = 30
# The evidence store (core/storage.py) does not answer: only photos are missing, and nothing is lost.
STORE_UNAVAILABLE = (
    _l("Chưa tải được ảnh"),
    _l("Kho ảnh minh chứng đang không phản hồi. Hãy thử lại sau ít phút; ảnh không bị mất."),
)
# How drivers say that no database answers (psycopg, sqlite3); other errors are bugs, shown as 500.
UNREACHABLE_SIGNS = (
    "connection refused",
    "could not connect",
    "connection failed",
    "connection timeout",
    "server closed the connection",
    "terminating connection",
    "the database system is",
    "unable to open database file",
)

# The page for database errors must not touch the database: base.html loads the user and counts
# notifications, and in a POST any query begins BEGIN IMMEDIATE and waits on the same lock again.
STANDALONE_PAGE = """<!doctype html>
<html lang="{{ lang }}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{{ title }}</title>
  <link rel="stylesheet" href="{{ url_for('static', filename='css/app.css') }}">
</head>
<body>
  <main class="page">
    <section class="card error-page">
      <p class="error-code">{{ code }}</p>
      <h1>{{ title }}</h1>
      <p>{{ message }}</p>
      <p><a class="button" href="{{ url_for('web.index') }}">{{ home }}</a></p>
    </section>
  </main>
</body>
</html>
"""


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def render_error(error: HTTPException):
    code = error.code or 500
    title, message = MESSAGES.get(code, MESSAGES[500])
    if isinstance(error, CSRFError):
        message = CSRF_MESSAGE
    if code >= 500:
        _reset_session()  # a failed flush leaves the session unusable until rolled back
    if _wants_json():
        return jsonify(error=str(title), message=str(message)), code
    # A part of a page asked for by htmx gets a short message in its place; a boosted link, a whole page.
    page = "errors/fragment.html" if htmx and not htmx.boosted else "errors/error.html"
    try:
        return render_template(page, code=code, title=title, message=message), code
    except Exception:
        # The full page queries the database (user, notifications); the error may be the database's.
        current_app.logger.exception("Rendering the %d page failed", code)
        return render_standalone(code if code in MESSAGES else 500)


def render_standalone(code: int, words: tuple | None = None) -> Response:
    """An error page built without the database (no user, no context processors): it cannot fail on it."""
    title, message = words or MESSAGES[code]
    if _wants_json():
        return make_response(jsonify(error=str(title), message=str(message)), code)
    html = current_app.jinja_env.from_string(STANDALONE_PAGE).render(
        lang=current_language(), code=code, title=title, message=message, home=_l("Về trang chủ")
    )
    return make_response(html, code)


def is_busy(error: OperationalError) -> bool:
    """SQLite's "database is locked" / "database table is locked" (SQLITE_BUSY, SQLITE_LOCKED)."""
    text = str(getattr(error, "orig", None) or error).lower()
    return "locked" in text or "busy" in text


def _reset_session() -> None:
    """End the failed transaction; a broken connection must not turn the error page into another error."""
    try:
        db.session.rollback()
    except Exception:
        current_app.logger.warning("Rollback after a database error failed", exc_info=True)
        try:
            db.session.remove()
        except Exception:
            current_app.logger.warning("Discarding the database session failed", exc_info=True)


def is_unreachable(error: OperationalError) -> bool:
    """No database answers: a lost or refused connection, a database file that cannot be opened."""
    text = str(getattr(error, "orig", None) or error).lower()
    return bool(getattr(error, "connection_invalidated", False)) or any(sign in text for sign in UNREACHABLE_SIGNS)


def render_database_error(error: OperationalError) -> Response:
    """503 when SQLite stayed locked past its timeout or no database answers, else a 500.

    Never raises: a failure here would replace the page with the server's bare error. Nothing is
    remembered from the failure, so the next request after the database is back works as usual.
    """
    if is_busy(error):
        current_app.logger.warning("Database still busy after its timeout: %s", error)
        code, words, retry = 503, MESSAGES[503], BUSY_RETRY_SECONDS
    elif is_unreachable(error):
        current_app.logger.error("Database unreachable on %s %s: %s", request.method, request.path, error)
        code, words, retry = 503, UNAVAILABLE, UNAVAILABLE_RETRY_SECONDS
    else:
        # Handled here, so Flask will not log it: do it as its own 500 handling would.
        current_app.logger.error("Database error on %s %s", request.method, request.path, exc_info=error)
        code, words, retry = 500, MESSAGES[500], None
    _reset_session()
    try:
        response = render_standalone(code, words)
    except Exception:
        current_app.logger.exception("Rendering the database error page failed")
        response = Response(str(words[1]), code, mimetype="text/plain")
    if retry:
        response.headers["Retry-After"] = str(retry)
    return response


def render_storage_error(error: StorageError) -> Response:
    """503 when the evidence store fails where a route lets the error through (reading a photo), built
    without the database like the other 503 pages: one page, one look, nothing that can fail with it."""
    current_app.logger.error("Evidence store failed on %s %s: %s", request.method, request.path, error)
    response = render_standalone(503, STORE_UNAVAILABLE)
    response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_SECONDS)
    return response


def register_error_handlers(app):
    # Unhandled exceptions reach this as InternalServerError after Flask has logged them.
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(OperationalError, render_database_error)
    app.register_error_handler(StorageError, render_storage_error)
