from flask import Blueprint

bp = Blueprint("leaderboards", __name__)

from leaderboards import views  # noqa: E402,F401
