"""The application factory: configuration, extensions, blueprints and CLI commands.

The factory is the only importer of views: each feature's blueprint is registered here, so that
importing a feature's services never loads the web layer (docs/ARCHITECTURE.md).
"""

from flask import Flask

from accounts.commands import create_admin
from accounts.services import load_user_from_session
from accounts.views import bp as accounts_bp
from admin.views import bp as admin_bp
from audit.views import bp as audit_bp
from campaigns.views import bp as campaigns_bp
from config import config_from_env
from core.access import enforce_route_access, public
from core.extensions import babel, csrf, htmx, limiter, login_manager, migrate
from core.i18n import remember_language, select_locale
from core.scheduler import scheduler_command, start_embedded_scheduler
from core.shared_versions import init_shared_versions
from demo.commands import seed_demo
from leaderboards.views import bp as leaderboards_bp
from live.views import bp as live_bp
from models import db
from notifications.views import bp as notifications_bp
from plans.views import bp as plans_bp
from quizzes.views import bp as quizzes_bp
from reports.views import bp as reports_bp
from screens.views import bp as screens_bp
from sharing.views import bp as sharing_bp
from training.views import bp as training_bp
from web.assets import init_assets
from web.commands import backup_command, restore_command, verify_scores
from web.errors import register_error_handlers
from web.forgery import init_forgery
from web.input import DatabaseIdConverter, refuse_nul_characters
from web.logs import init_request_logs
from web.security import init_security
from web.templating import init_templating
from web.transactions import init_transactions
from web.views import bp as web_bp


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = DatabaseIdConverter
    app.config.from_mapping(config_from_env(app.instance_path))
    if config:
        app.config.from_mapping(config)
    # First: its hooks must run before any other can answer, and its line must be written last.
    init_request_logs(app)

    db.init_app(app)
    init_transactions()
    init_shared_versions(app)
    migrate.init_app(app, db, render_as_batch=True)
    csrf.init_app(app)
    init_forgery(app)
    htmx.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale)

    login_manager.user_loader(load_user_from_session)
    for blueprint in (
        web_bp,
        accounts_bp,
        audit_bp,
        campaigns_bp,
        training_bp,
        quizzes_bp,
        leaderboards_bp,
        screens_bp,
        live_bp,
        notifications_bp,
        reports_bp,
        plans_bp,
        sharing_bp,
    ):
        app.register_blueprint(blueprint)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    public(app.view_functions["static"])

    app.before_request(refuse_nul_characters)
    app.before_request(enforce_route_access)
    register_error_handlers(app)
    init_security(app)
    init_assets(app)
    app.after_request(remember_language)  # registered last, runs first: caching sees its cookie
    init_templating(app)
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_admin)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(verify_scores)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    if app.config.get("SCHEDULER_EMBEDDED"):
        start_embedded_scheduler(app)
    return app
