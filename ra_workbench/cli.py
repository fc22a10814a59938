"""The commands of `ra-workbench` (attached to every app by `register_commands`; the
console entry point is ra_workbench/console.py). Commands parse input, call one service,
print."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from ra_workbench.ingest.inbox import drain_inbox
from ra_workbench.ingest.package import read_package_path
from ra_workbench.ingest.service import (
    ingest_or_set_aside,
    ingest_signature_or_set_aside,
    package_limits,
)


def _print_outcome(outcome: dict[str, object], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(outcome, ensure_ascii=False))
    else:
        errors = "; ".join(outcome.get("errors") or [])  # type: ignore[arg-type]
        click.echo(f"{outcome.get('path')}: {outcome['outcome']} {errors}".rstrip())


def _report_each(outcomes: Iterable[dict[str, object]], as_json: bool) -> None:
    """The one loop of the batch commands: a line per item as it is ingested, then exit 1 if
    any was refused or failed. The `*_or_set_aside` services answer an unexpected failure as
    an `error` outcome, so no item stops the others."""
    failed = 0
    for outcome in outcomes:
        failed += outcome["outcome"] in ("refused", "error")
        _print_outcome(outcome, as_json)
    sys.exit(1 if failed else 0)


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Une ligne JSON par paquet.")
@with_appcontext
def ingest_command(paths: tuple[Path, ...], as_json: bool) -> None:
    """Ingérer des paquets de dossier (répertoires ou .zip)."""
    limits = package_limits()
    outcomes = (
        ingest_or_set_aside(
            lambda p=path: read_package_path(p, limits),  # type: ignore[misc]
            name=str(path),
            source="cli",
        ).to_json()
        for path in paths
    )
    _report_each(outcomes, as_json)


@click.command("ingest-inbox")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def ingest_inbox_command(as_json: bool) -> None:
    """Ingérer les paquets déposés dans le répertoire d'entrée (inbox)."""
    inbox = current_app.config["RA_SETTINGS"].inbox_dir
    _report_each((outcome.to_json() for outcome in drain_inbox(inbox)), as_json)


@click.command("ingest-signature")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def ingest_signature_command(files: tuple[Path, ...], as_json: bool) -> None:
    """Enregistrer des événements de signature GoSign."""
    outcomes = (
        ingest_signature_or_set_aside(file.read_bytes, source="cli").to_json() | {"path": str(file)}
        for file in files
    )
    _report_each(outcomes, as_json)


@click.group("users")
def users_group() -> None:
    """Comptes du personnel."""


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(["operator", "supervisor", "admin"]))
@click.option("--first-name", default="")
@click.option("--last-name", default="")
@click.password_option("--password", help="Mot de passe (demandé s'il est absent).")
@with_appcontext
def users_create(email: str, role: str, first_name: str, last_name: str, password: str) -> None:
    from ra_workbench.accounts.service import AccountError, create_user
    from ra_workbench.unit import unit_of_work

    try:
        with unit_of_work() as session:
            user = create_user(
                session,
                email=email,
                password=password,
                role=role,
                first_name=first_name,
                last_name=last_name,
                actor="cli",
            )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"compte créé : {user.email} ({user.role})")


def register_commands(app: Flask) -> None:
    from ra_workbench.audit.cli import audit_group
    from ra_workbench.checks.cli import check_command
    from ra_workbench.demo import demo_command
    from ra_workbench.extraction.cli import extract_command
    from ra_workbench.jobs.cli import jobs_group, scheduler_command, worker_command
    from ra_workbench.review.cli import evidence_group

    for command in (
        ingest_command,
        ingest_inbox_command,
        ingest_signature_command,
        users_group,
        demo_command,
        check_command,
        extract_command,
        audit_group,
        evidence_group,
        jobs_group,
        worker_command,
        scheduler_command,
    ):
        app.cli.add_command(command)
