"""``flask units`` and ``flask users``: create units and accounts from a shell."""

import click
from flask.cli import AppGroup

from app.accounts.service import (
    AccountError,
    UnitFields,
    create_staff,
    create_unit,
    create_unit_admin,
    find_unit_by_code,
)

units_cli = AppGroup("units", help="Employer units (用人单位).")
users_cli = AppGroup("users", help="Unit admin and association staff accounts.")


@units_cli.command("create")
@click.option("--code", required=True, help="Unit code: 2 to 32 capital letters or digits.")
@click.option("--name", required=True, help="Unit name as on the business licence.")
@click.option("--credit-code", required=True, help="18-character unified social credit code.")
@click.option("--contact-name", default="", help="Contact person.")
@click.option("--contact-phone", default="", help="Contact phone number.")
def units_create(code, name, credit_code, contact_name, contact_phone):
    """Create a unit."""
    fields = UnitFields(code, name, credit_code, contact_name, contact_phone)
    unit = _run(create_unit, fields)
    click.echo(f"Created unit {unit.code} (id {unit.id}).")


@users_cli.command("create-unit-admin")
@click.option("--unit", "unit_code", required=True, help="Code of the admin's unit.")
@click.option("--username", required=True, help="Log-in account name.")
@click.option("--name", "display_name", required=True, help="The person's name.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Initial password; prompted for when omitted.",
)
def users_create_unit_admin(unit_code, username, display_name, password):
    """Create an administrator account of a unit."""
    unit = _run(find_unit_by_code, unit_code)
    user = _run(create_unit_admin, unit, username, display_name, password)
    click.echo(f"Created unit admin {user.username} for unit {unit.code}.")


@users_cli.command("create-staff")
@click.option("--username", required=True, help="Log-in account name.")
@click.option("--name", "display_name", required=True, help="The person's name.")
@click.option(
    "--group",
    "groups",
    multiple=True,
    required=True,
    help="Staff group (BPMN lane), for example 协会审核员; repeat for several groups.",
)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Initial password; prompted for when omitted.",
)
def users_create_staff(username, display_name, groups, password):
    """Create an association staff account."""
    user = _run(create_staff, username, display_name, password, list(groups))
    click.echo(f"Created staff account {user.username} in {', '.join(groups)}.")


def _run(action, *args):
    """Call a service function; a rejected value becomes an error message and exit code 1."""
    try:
        return action(*args)
    except AccountError as error:
        raise click.ClickException(error.detail) from error
