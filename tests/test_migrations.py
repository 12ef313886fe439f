"""Alembic migrations build exactly the schema that the models describe."""

import os
import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, make_url, text

from app import create_app
from app.config import TestConfig
from app.extensions import db


def fresh_database_url(tmp_path):
    if not os.environ.get("DATABASE_URL"):
        return f"sqlite:///{tmp_path / 'migrated.db'}", None
    server = make_url(TestConfig.SQLALCHEMY_DATABASE_URI)
    name = f"migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return server.set(database=name).render_as_string(hide_password=False), (admin, name)


def test_upgrade_matches_models(tmp_path):
    url, scratch = fresh_database_url(tmp_path)
    try:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            upgrade()
            with db.engine.connect() as connection:
                context = MigrationContext.configure(
                    connection, opts={"include_object": _not_job_store}
                )
                differences = compare_metadata(context, db.metadata)
                tables = set(inspect(connection).get_table_names())
            db.engine.dispose()
        assert differences == []
        assert {"enrollments", "process_instances", "human_tasks"} <= tables
    finally:
        if scratch:
            admin, name = scratch
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _not_job_store(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and name in ("apscheduler_jobs", "alembic_version"))
