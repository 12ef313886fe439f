"""Flask application factory for the training enrollment platform."""

import logging

from flask import Flask
from werkzeug.routing import IntegerConverter

from app.config import Config
from app.extensions import bootstrap, configure_sqlite, csrf, db, login_manager, migrate


def create_app(config_object: object = Config, **overrides) -> Flask:
    """Create the web application; blueprints register one feature each."""
    app = Flask(__name__, instance_relative_config=False)
    # Record ids in URLs beyond a 32-bit INTEGER column would make the database raise
    # (PostgreSQL "integer out of range", SQLite OverflowError); such a URL is simply 404.
    app.url_map.converters["int"] = DatabaseIdConverter
    app.config.from_object(config_object)
    app.config.update(overrides)

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # SpiffWorkflow logs every task state change at INFO; our runtime logs the ones that
    # matter (instance started, task completed) with their ids.
    logging.getLogger("spiff").setLevel(logging.WARNING)

    from app.payments.registry import check_configuration

    check_configuration(app.config)
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(_migrations_dir()),
        render_as_batch=True,  # SQLite can only alter tables by copying them
        include_object=_include_in_migrations,
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    bootstrap.init_app(app)

    from app import models  # noqa: F401  (registers every table with the metadata)

    with app.app_context():
        configure_sqlite(db.engine)

    _register_blueprints(app)
    _register_cli(app)
    _register_template_helpers(app)
    return app


class DatabaseIdConverter(IntegerConverter):
    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def _include_in_migrations(obj, name, type_, reflected, compare_to) -> bool:
    # APScheduler creates and owns its job store table; migrations leave it alone.
    return not (type_ == "table" and name == "apscheduler_jobs")


def _migrations_dir():
    from app.config import BASE_DIR

    return BASE_DIR / "migrations"


def _register_blueprints(app: Flask) -> None:
    from app.auth import bp as auth_bp
    from app.completion import bp as completion_bp
    from app.enrollments import bp as enrollments_bp
    from app.errors import register_error_handlers
    from app.imports import bp as imports_bp
    from app.inbox import bp as inbox_bp
    from app.orders import bp as orders_bp
    from app.payments import bp as payments_bp
    from app.processes import bp as processes_bp
    from app.staff import bp as staff_bp
    from app.trainees import bp as trainees_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(enrollments_bp)
    app.register_blueprint(completion_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(orders_bp)
    app.register_blueprint(processes_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(trainees_bp)
    register_error_handlers(app)


def _register_cli(app: Flask) -> None:
    from app.cli import register_commands

    register_commands(app)


def _register_template_helpers(app: Flask) -> None:
    from app.templating import register_filters

    register_filters(app)
