"""`ra-workbench check`: evaluate one dossier, or every undecided one, from the shell.

The service is imported when a command runs, keeping the CLI's start-up light (the
extraction stack behind the checks is heavy)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import click
from flask.cli import with_appcontext

from ra_workbench.checks.recheck import recheck, recheck_candidates
from ra_workbench.checks.results import Outcome
from ra_workbench.checks.service import CheckError, evaluate_dossier, find_dossier_id, run_to_json
from ra_workbench.clock import today_in_paris
from ra_workbench.unit import unit_of_work

# Short capitals for a terminal column; the screens read checks.results.OUTCOME_LABELS_FR.
SHELL_OUTCOME_LABELS_FR = {
    Outcome.PASS: "OK",
    Outcome.FAIL: "ÉCHEC",
    Outcome.WARN: "ATTENTION",
    Outcome.MANUAL: "À VÉRIFIER",
    Outcome.PENDING: "EN ATTENTE",
    Outcome.ERROR: "ERREUR",
}


def _print_human(body: dict[str, object]) -> None:
    click.echo(
        f"Commande {body['order_number']} — contrôles au {body['evaluated_at']} : {body['verdict']}"
    )
    for result in body["results"]:  # type: ignore[attr-defined]
        label = SHELL_OUTCOME_LABELS_FR.get(result["outcome"], result["outcome"])
        click.echo(f"  [{label:<10}] {result['rule']:<28} {result['message']}")


def _check_one(order_number: str, at: dt.date | None, as_json: bool) -> None:
    try:
        with unit_of_work() as session:
            dossier_id = find_dossier_id(session, order_number)
            if dossier_id is None:
                raise CheckError(f"commande inconnue : {order_number}")
            run = evaluate_dossier(session, dossier_id, trigger="cli", at=at)
            body = run_to_json(order_number, run)
    except CheckError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(body, ensure_ascii=False))
    else:
        _print_human(body)


def _check_all(at: dt.date | None, force: bool, as_json: bool) -> None:
    day = at or today_in_paris()
    with unit_of_work() as session:
        ids = recheck_candidates(session)
    actions: dict[str, int] = {}
    verdicts: dict[str, int] = {}
    # One unit of work per dossier: a failure leaves the others' results committed.
    with click.progressbar(
        ids, label="Contrôle des dossiers en attente", file=sys.stderr, show_pos=True
    ) as bar:
        for dossier_id in bar:
            with unit_of_work() as session:
                outcome = recheck(session, dossier_id, today=day, trigger="cli", force=force)
            actions[outcome.action] = actions.get(outcome.action, 0) + 1
            if outcome.verdict:
                verdicts[outcome.verdict] = verdicts.get(outcome.verdict, 0) + 1
    summary: dict[str, Any] = {
        "evaluated": actions.get("evaluated", 0),
        "skipped": actions.get("skipped", 0),
        "verdicts": dict(sorted(verdicts.items())),
    }
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        details = ", ".join(f"{k} : {v}" for k, v in summary["verdicts"].items()) or "aucun"
        click.echo(
            f"{summary['evaluated']} dossier(s) contrôlé(s), {summary['skipped']} déjà contrôlé(s)"
            f" ce jour — {details}"
        )


@click.command("check")
@click.argument("order_number", required=False)
@click.option(
    "--at",
    "at",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date d'évaluation (AAAA-MM-JJ) ; aujourd'hui par défaut.",
)
@click.option("--all-pending", is_flag=True, help="Contrôler tous les dossiers non décidés.")
@click.option(
    "--force", is_flag=True, help="Avec --all-pending : même les dossiers déjà contrôlés ce jour."
)
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON.")
@with_appcontext
def check_command(
    order_number: str | None,
    at: dt.datetime | None,
    all_pending: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Lancer les contrôles automatiques d'un dossier (ou de tous les dossiers en attente)."""
    if bool(order_number) == all_pending:
        raise click.UsageError("Indiquer un numéro de commande, ou --all-pending.")
    day = at.date() if at else None
    if order_number:
        _check_one(order_number, day, as_json)
    else:
        _check_all(day, force, as_json)
