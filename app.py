"""The application factory: configuration, extensions, blueprints and CLI commands."""

from flask import Flask
from flask_babel import format_decimal, format_number

from accounts import bp as accounts_bp
from accounts.commands import create_admin
from accounts.services import load_user_from_session
from admin import bp as admin_bp
from audit import bp as audit_bp
from campaigns import bp as campaigns_bp
from config import config_from_env
from core import bp as core_bp
from core.access import enforce_route_access, public
from core.errors import register_error_handlers
from core.i18n import current_language, remember_language, select_locale
from core.scheduler import scheduler_command, start_embedded_scheduler
from core.security import init_security
from core.urls import DatabaseIdConverter, public_url_for
from demo.commands import seed_demo
from extensions import babel, csrf, htmx, limiter, login_manager, migrate
from leaderboards import bp as leaderboards_bp
from models import db
from quizzes import bp as quizzes_bp
from scoring.commands import verify_scores
from screens import bp as screens_bp
from training import bp as training_bp


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = DatabaseIdConverter
    app.config.from_mapping(config_from_env(app.instance_path))
    if config:
        app.config.from_mapping(config)

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale)

    login_manager.user_loader(load_user_from_session)
    app.register_blueprint(core_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(audit_bp)
    app.register_blueprint(campaigns_bp)
    app.register_blueprint(training_bp)
    app.register_blueprint(quizzes_bp)
    app.register_blueprint(leaderboards_bp)
    app.register_blueprint(screens_bp)
    public(app.view_functions["static"])

    app.before_request(enforce_route_access)
    app.after_request(remember_language)
    register_error_handlers(app)
    init_security(app)
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["public_url_for"] = public_url_for
    app.jinja_env.filters["format_number"] = format_number
    app.jinja_env.filters["format_decimal"] = format_decimal
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_admin)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(verify_scores)
    if app.config.get("SCHEDULER_EMBEDDED"):
        start_embedded_scheduler(app)
    return app
