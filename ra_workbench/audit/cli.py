"""`ra-workbench audit verify | seal | export`: prove the trail is intact, seal its head,
hand it to an auditor."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from ra_workbench.audit.seal import SealNotice
from ra_workbench.unit import unit_of_work

SEAL_TEMPLATE = "audit_seal"  # the outbox's template column: which kind of message this is


def outbox_mailer(session: Any, recipient: str, notice: SealNotice, dedup_key: str) -> None:
    """Hand a seal notice to the notify outbox, sent by notify's own job after the commit.

    notify's templates are for customers, so the notice, already rendered and signed, is
    stored as it is through the outbox model. This module is the audit domain's shell: the
    one place in audit allowed to reach notify (the trail itself sits below it). The app
    factory registers it for the seal job (app.py, configure_audit); `audit seal` passes it."""
    import sqlalchemy as sa

    from ra_workbench.notify.models import OutboxMessage
    from ra_workbench.notify.service import SEND_TASK, Channel, MessageState
    from ra_workbench.unit import defer_job

    key = dedup_key[:200]
    if session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedup_key == key)):
        return
    message = OutboxMessage(
        dossier_id=None,
        channel=Channel.EMAIL,
        recipient=recipient,
        template=SEAL_TEMPLATE,
        subject=notice.subject[:300],
        body=notice.body,
        state=MessageState.QUEUED,
        dedup_key=key,
    )
    session.add(message)
    session.flush()
    defer_job(session, SEND_TASK, message.id, job_id=f"notify-{message.id}")


@click.group("audit")
def audit_group() -> None:
    """Journal d'audit : vérification de la chaîne, sceau et export."""


def _read_seals(paths: tuple[Path, ...]) -> list[Any]:
    from ra_workbench.audit.seal import SealFormatError, parse_seal_blocks

    seals = []
    for path in paths:
        try:
            found = parse_seal_blocks(path.read_text(encoding="utf-8", errors="replace"))
        except SealFormatError as exc:
            raise click.ClickException(f"{path} : {exc}") from exc
        if not found:
            raise click.ClickException(f"{path} : aucun sceau trouvé")
        seals.extend(found)
    return seals


def _progress(total: int) -> Any:
    def progress(entries: Iterator[Any]) -> Iterator[Any]:
        with click.progressbar(
            entries,
            length=total,
            label="Vérification du journal",
            file=sys.stderr,
            show_pos=True,
        ) as bar:
            yield from bar

    return progress


def _echo_problems(report: Any) -> None:
    for problem in report.problems:
        click.echo(f"JOURNAL ALTÉRÉ — {problem.kind} : {problem.message}", err=True)


@audit_group.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON.")
@click.option(
    "--seal",
    "seal_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Sceau reçu par e-mail (message enregistré) à comparer au journal ; répétable.",
)
@with_appcontext
def verify_command(as_json: bool, seal_files: tuple[Path, ...]) -> None:
    """Vérifier la chaîne d'empreintes, les MAC, les ancres et leurs registres de sceaux ;
    code 1 si le journal est altéré ou une ancre absente ou revenue en arrière."""
    from ra_workbench.audit.service import count_entries, verify

    seals = _read_seals(seal_files)
    with unit_of_work() as session:
        total = count_entries(session)
        report = verify(session, progress=None if as_json else _progress(total), seals=seals)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    elif report.ok:
        anchor = f", ancre externe n°{report.anchor_seq}" if report.anchor_seq else ""
        click.echo(f"journal intact : {report.entries} entrée(s){anchor}")
        for place in report.places:
            seal = f", dernier sceau le {place.latest_seal_at}" if place.latest_seal_at else ""
            attested = f"n°{place.high_water}" if place.high_water else "aucune entrée attestée"
            click.echo(f"  ancre {place.place} : {attested}{seal}")
        if seals:
            click.echo(f"  {len(seals)} sceau(x) fourni(s) : conforme(s)")
        if report.archived_anchors:
            click.echo(
                f"note : {report.archived_anchors} ancre(s) d'une chaîne précédente archivée(s) "
                "(base recréée ?)"
            )
    else:
        _echo_problems(report)
    sys.exit(0 if report.ok else 1)


@audit_group.command("seal")
@click.option(
    "--init",
    "initialise",
    is_flag=True,
    help="Remplir les ancres configurées encore vides (les autres doivent être conformes).",
)
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON.")
@with_appcontext
def seal_command(initialise: bool, as_json: bool) -> None:
    """Vérifier puis sceller la tête du journal : registre de chaque ancre, horodatage
    RFC 3161 si configuré, e-mail signé aux superviseurs ; code 1 si le journal est altéré."""
    from ra_workbench.audit.seal import seal_block
    from ra_workbench.audit.service import count_entries, seal_head

    with unit_of_work() as session:
        total = count_entries(session)
        outcome = seal_head(
            session,
            mailer=outbox_mailer,
            initialise_empty_places=initialise,
            progress=None if as_json else _progress(total),
        )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "sealed": outcome.seal is not None,
                    "refused": outcome.refused,
                    "seal": json.loads(outcome.seal.to_json()) if outcome.seal else None,
                    "places": list(outcome.places),
                    "failed_places": list(outcome.failed_places),
                    "recipients": list(outcome.recipients),
                    "timestamp": outcome.timestamp_note,
                    "verify": outcome.report.to_json(),
                },
                ensure_ascii=False,
            )
        )
    elif outcome.refused:
        _echo_problems(outcome.report)
        click.echo("aucun sceau écrit ; superviseurs alertés", err=True)
    elif outcome.seal is None:
        click.echo("journal vide : rien à sceller")
    else:
        seal = outcome.seal
        click.echo(f"journal scellé : {seal.seq} entrée(s), le {seal.at}")
        for place in outcome.places:
            click.echo(f"  ancre {place}")
        for place in outcome.failed_places:
            click.echo(f"  ÉCHEC d'écriture : {place}", err=True)
        click.echo(f"  horodatage RFC 3161 : {outcome.timestamp_note}")
        sent = ", ".join(outcome.recipients) or "personne (RA_WORKBENCH_AUDIT_SEAL_TO non défini)"
        click.echo(f"  envoyé à : {sent}")
        click.echo(seal_block(seal))
    sys.exit(1 if outcome.refused or outcome.failed_places else 0)


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
