"""``flask`` commands; feature packages add their own groups here."""

import click
from flask import Flask
from flask.cli import AppGroup

from app.models import Role
from app.seed import DEMO_ACCOUNTS, load_demo, load_demo_enrollments

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
def demo_load():
    """Load the catalog, lane groups, the demo unit and demo accounts (idempotent)."""
    load_demo()
    added = load_demo_enrollments()
    if added:
        click.echo(f"Added {added} approved enrollments of the demo unit, ready to pay.")
    click.echo("Demo data loaded. Log-ins (登录角色 / account / password):")
    for username, password, _display_name, role in DEMO_ACCOUNTS:
        login_role = "用人单位" if role == Role.UNIT_ADMIN else "协会"
        click.echo(f"  {login_role} / {username} / {password}  ({role})")


def register_commands(app: Flask) -> None:
    from app.accounts.cli import units_cli, users_cli
    from app.importing.cli import enrollments_cli
    from workflows.cli import workflows_cli

    app.cli.add_command(demo_cli)
    app.cli.add_command(units_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(enrollments_cli)
    app.cli.add_command(workflows_cli)
