"""`ra-workbench audit verify | export`: prove the trail is intact, hand it to an auditor."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from ra_workbench.unit import unit_of_work


@click.group("audit")
def audit_group() -> None:
    """Journal d'audit : vérification de la chaîne et export."""


@audit_group.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON.")
@with_appcontext
def verify_command(as_json: bool) -> None:
    """Vérifier la chaîne d'empreintes, les MAC et l'ancre de tête ; code 1 si altérée."""
    from ra_workbench.audit.service import count_entries, verify

    with unit_of_work() as session:
        total = count_entries(session)

        def progress(entries: Iterator[Any]) -> Iterator[Any]:
            with click.progressbar(
                entries,
                length=total,
                label="Vérification du journal",
                file=sys.stderr,
                show_pos=True,
            ) as bar:
                yield from bar

        report = verify(session, progress=None if as_json else progress)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    elif report.ok:
        anchor = f", ancre externe n°{report.anchor_seq}" if report.anchor_seq else ""
        click.echo(f"journal intact : {report.entries} entrée(s){anchor}")
        if report.archived_anchors:
            click.echo(
                f"note : {report.archived_anchors} ancre(s) d'une chaîne précédente archivée(s) "
                "(base recréée ?)"
            )
    elif report.problem is not None:
        click.echo(f"JOURNAL ALTÉRÉ — {report.problem.kind} : {report.problem.message}", err=True)
    sys.exit(0 if report.ok else 1)


@audit_group.command("export")
@click.option("--csv", "as_csv", is_flag=True, required=True, help="Format CSV (seul format).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--order", "order_number", default="", help="N° de commande.")
@click.option("--actor", default="", help="Acteur (contient).")
@click.option("--type", "event_type", default="", help="Type d'événement (« checks. » : famille).")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@with_appcontext
def export_command(  # noqa: PLR0917 - one parameter per click option
    as_csv: bool,
    output: Path | None,
    order_number: str,
    actor: str,
    event_type: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> None:
    """Exporter le journal (filtré) en CSV, du plus ancien au plus récent."""
    from ra_workbench.audit.service import AuditFilters, csv_chunks, export_rows, record

    filters = AuditFilters(
        order_number=order_number,
        actor=actor,
        event_type=event_type,
        since=since.date() if since else None,
        until=until.date() if until else None,
    )
    with unit_of_work() as session:
        record(session, "audit.exported", actor="cli", payload={"filters": filters.to_json()})
    with unit_of_work() as session:
        chunks = csv_chunks(export_rows(session, filters))
        if output is None:
            for chunk in chunks:
                sys.stdout.write(chunk)
        else:
            with output.open("w", encoding="utf-8", newline="") as handle:
                for chunk in chunks:
                    handle.write(chunk)
            click.echo(f"export écrit : {output}", err=True)
