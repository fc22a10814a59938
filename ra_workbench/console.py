"""The `ra-workbench` console command: Flask's CLI group around `create_app()`."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from ra_workbench.app import create_app


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False)
def main() -> None:
    """RA Workbench — back-office de l'autorité d'enregistrement."""
