"""The audit log: privileged actions recorded in the caller's transaction, read by leaders."""

from flask import Blueprint

bp = Blueprint("audit", __name__)

from audit import views  # noqa: E402,F401
