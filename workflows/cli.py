"""``flask workflows`` commands."""

import click
from flask import current_app
from flask.cli import AppGroup

from workflows.loader import load_process_models
from workflows.validation import ProcessModelError

workflows_cli = AppGroup("workflows", help="BPMN process models.")


@workflows_cli.command("load")
@click.option("--dir", "bpmn_dir", default=None, help="Folder of .bpmn files (default: BPMN_DIR).")
def load_command(bpmn_dir):
    """Register new or changed diagrams as new process model versions."""
    folder = bpmn_dir or current_app.config["BPMN_DIR"]
    try:
        added = load_process_models(folder)
    except ProcessModelError as error:
        raise click.ClickException(str(error)) from error
    if not added:
        click.echo("No diagram changed; process model versions are up to date.")
    for model in added:
        click.echo(f"Registered {model.process_key} version {model.version} ({model.file_name})")
