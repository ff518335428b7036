"""Error pages in the user's language, as HTML or as JSON for API clients."""

from flask import jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, ServiceUnavailable

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
CSRF_MESSAGE = _l("Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. Hãy tải lại trang và gửi lại.")


def render_error(error: HTTPException):
    code = error.code or 500
    title, message = MESSAGES.get(code, MESSAGES[500])
    if isinstance(error, CSRFError):
        message = CSRF_MESSAGE
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify(error=str(title), message=str(message)), code
    return render_template("errors/error.html", code=code, title=title, message=message), code


def render_busy(error: OperationalError):
    """SQLite still busy after its timeout: a clean "try again", never a stack trace."""
    if "locked" not in str(error.orig):
        raise error
    db.session.rollback()
    return render_error(ServiceUnavailable())


def register_error_handlers(app):
    # Unhandled exceptions reach this as InternalServerError after Flask has logged them.
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(OperationalError, render_busy)
