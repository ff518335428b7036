from flask import Blueprint

bp = Blueprint("campaigns", __name__)

from campaigns import views  # noqa: E402,F401
