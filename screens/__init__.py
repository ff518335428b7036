from flask import Blueprint

bp = Blueprint("screens", __name__)

from screens import views  # noqa: E402,F401
