"""The `ra-workbench` console command: Flask's CLI group around `create_app()`.

Every command but those that need no schema (or build it) first checks that the database
has one: a fresh data directory says « Base non initialisée : lancez `ra-workbench db
upgrade` » and exits 1, instead of a `no such table` traceback."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup, ScriptInfo

from ra_workbench.app import create_app
from ra_workbench.schema import schema_problem

# `db` builds the schema, `extract` reads files only, `routes` and `shell` are for whoever
# repairs an installation.
WITHOUT_SCHEMA = frozenset({"db", "extract", "routes", "shell"})
HELP_FLAGS = frozenset({"--help", "-h"})
_ASKS_HELP = "ra_asks_help"


class WorkbenchGroup(FlaskGroup):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # The group's callback runs before its command parses `--help`: noted here, where
        # every argument is still in sight.
        ctx.meta[_ASKS_HELP] = bool(HELP_FLAGS & set(args))
        return super().parse_args(ctx, args)


@click.group(cls=WorkbenchGroup, create_app=create_app, add_version_option=False)
@click.pass_context
def main(ctx: click.Context) -> None:
    """RA Workbench — back-office de l'autorité d'enregistrement."""
    if ctx.invoked_subcommand in WITHOUT_SCHEMA or ctx.meta.get(_ASKS_HELP):
        return
    app = ctx.ensure_object(ScriptInfo).load_app()
    with app.app_context():
        problem = schema_problem()
    if problem is not None:
        click.echo(problem, err=True)
        ctx.exit(1)
