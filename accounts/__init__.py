from flask import Blueprint

bp = Blueprint("accounts", __name__)

from accounts import views  # noqa: E402,F401
