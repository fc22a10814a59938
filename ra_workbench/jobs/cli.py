"""`ra-workbench worker`, `ra-workbench scheduler` and `ra-workbench jobs …`.

Shells only: they parse options and call the queue, the scheduler or the domains' services,
one unit of work per dossier for the long batches (with a progress bar), so a failure
half-way keeps what was done.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import json
import signal
import sys
import uuid
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from ra_workbench.checks.recheck import RECHECK_TASK, recheck, recheck_candidates
from ra_workbench.clock import PARIS, as_day
from ra_workbench.documents.retention import delete_blobs, purgeable_digests
from ra_workbench.extensions import db
from ra_workbench.issuance.retention import run_retention
from ra_workbench.jobs.queue import (
    UnknownFailedJob,
    dispatch,
    failed_jobs,
    redis_connection,
    retry_failed,
    rq_queue,
)
from ra_workbench.jobs.rules import current_job_rules
from ra_workbench.jobs.scheduler import FileClaims, RedisClaims, run_forever, tick
from ra_workbench.review.waiting import due_reminders, remind
from ra_workbench.unit import unit_of_work

DAY = click.DateTime(formats=["%Y-%m-%d"])


def _require_redis() -> str:
    url = current_app.config["RA_SETTINGS"].redis_url
    if not url:
        raise click.ClickException(
            "REDIS_URL n'est pas défini : sans Redis, les tâches s'exécutent dans le processus "
            "qui les demande (pas de worker)."
        )
    return str(url)


@click.command("worker")
@click.option("--burst", is_flag=True, help="S'arrêter quand la file est vide (tests, lots).")
@click.option(
    "--with-scheduler/--without-scheduler",
    default=True,
    help="Exécuter aussi les relances différées de rq (retries avec délai).",
)
@click.option("--name", default=None, help="Nom du worker (par défaut : hôte + pid).")
@click.option(
    "--fork/--no-fork",
    default=True,
    help="Chaque tâche dans un processus fils (défaut, isolé) ou dans le worker même.",
)
@with_appcontext
def worker_command(burst: bool, with_scheduler: bool, name: str | None, fork: bool) -> None:
    """Worker rq sur la file de l'application (un processus par cœur conseillé)."""
    from rq import SimpleWorker, Worker

    _require_redis()
    connection = redis_connection()
    _preload_tasks()
    # Each job runs in a forked child: it must not inherit the parent's pooled connections.
    db.session.remove()
    db.engine.dispose()
    worker_class = Worker if fork else SimpleWorker
    worker = worker_class([rq_queue(connection)], connection=connection, name=name)
    worker.work(burst=burst, with_scheduler=with_scheduler, logging_level="INFO")


# Imported once in the worker before it forks: otherwise every job's work horse would
# import the checks and extraction stack again (≈ 0.2 s a job).
PRELOAD_MODULES = (
    "ra_workbench.jobs.tasks",
    "ra_workbench.worker",
    "ra_workbench.ingest.tasks",
    "ra_workbench.review.tasks",
    "ra_workbench.documents.tasks",
    "ra_workbench.checks.service",
    "ra_workbench.checks.tasks",
    "ra_workbench.documents.extraction_service",
    "ra_workbench.extraction",
    "ra_workbench.notify.service",
    "ra_workbench.notify.tasks",
    "ra_workbench.issuance.tasks",
    "ra_workbench.review.decisions",
    "ra_workbench.supervision.tasks",
)


def _preload_tasks() -> None:
    for module in PRELOAD_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a domain not installed yet
            if exc.name != module:
                raise


def _scheduler_step(now: dt.datetime) -> list[Any]:
    settings = current_app.config["RA_SETTINGS"]
    claims: Any = (
        RedisClaims(redis_connection())
        if settings.redis_url
        else FileClaims(settings.data_dir / "jobs" / "schedule.json")
    )
    return tick(current_job_rules().schedule, now, claims.claim, dispatch)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Un seul passage, puis s'arrêter.")
@click.option(
    "--now",
    "fake_now",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]),
    default=None,
    help="Horloge simulée (heure de Paris), avec --once.",
)
@click.option("--interval", default=15.0, show_default=True, help="Secondes entre passages.")
@with_appcontext
def scheduler_command(once: bool, fake_now: dt.datetime | None, interval: float) -> None:
    """Planificateur : met en file les tâches de rules/jobs.toml, chaque occurrence une fois."""

    if fake_now is not None and not once:
        raise click.UsageError("--now s'utilise avec --once.")
    if once:
        now = fake_now.replace(tzinfo=PARIS) if fake_now else dt.datetime.now(dt.UTC)
        for item in _scheduler_step(now):
            click.echo(f"{item.occurrence} → {item.task}{item.args}")
        return
    stopping = {"flag": False}

    def _stop(*_: Any) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, _stop)
    click.echo(f"planificateur démarré (passage toutes les {interval:g} s)", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        run_forever(
            _scheduler_step, interval_seconds=interval, should_stop=lambda: stopping["flag"]
        )


@click.group("jobs")
def jobs_group() -> None:
    """Traitements par lots et tâches en échec."""


def _today(value: dt.datetime | None) -> dt.date:
    return value.date() if value else as_day(None)


@jobs_group.command("recheck-pending")
@click.option("--today", "today", type=DAY, default=None, help="Date d'évaluation (AAAA-MM-JJ).")
@click.option("--enqueue", is_flag=True, help="Répartir sur les workers au lieu d'exécuter ici.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def recheck_pending_command(today: dt.datetime | None, enqueue: bool, as_json: bool) -> None:
    """Contrôler à nouveau chaque dossier en attente (ce que fait la tâche de nuit)."""
    day = _today(today)
    with unit_of_work() as session:
        ids = recheck_candidates(session)
    summary: dict[str, int] = {}
    with click.progressbar(
        ids, label=f"Contrôle au {day:%d/%m/%Y}", file=sys.stderr, show_pos=True
    ) as bar:
        for dossier_id in bar:
            if enqueue:
                dispatch(
                    RECHECK_TASK, dossier_id, day.isoformat(), job_id=f"recheck:{day}:{dossier_id}"
                )
                summary["enqueued"] = summary.get("enqueued", 0) + 1
                continue
            with unit_of_work() as session:
                outcome = recheck(session, dossier_id, today=day)
            key = "changed" if outcome.changed else outcome.action
            summary[key] = summary.get(key, 0) + 1
            summary["notified"] = summary.get("notified", 0) + int(outcome.notified)
    _print_summary({"day": day.isoformat(), "dossiers": len(ids)} | summary, as_json)


@jobs_group.command("purge")
@click.option("--today", "today", type=DAY, default=None)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def purge_command(today: dt.datetime | None, as_json: bool) -> None:
    """Conservation : chaque catégorie de données (pièces d'identité, dossiers abandonnés,
    messages), avec ses comptes."""
    day = _today(today)
    with unit_of_work() as session:
        summary = run_retention(session, today=day, rules=current_job_rules().retention)
    with unit_of_work() as session:
        summary["identity_copies"] |= delete_blobs(session, purgeable_digests(session))
    if as_json:
        click.echo(json.dumps({"day": day.isoformat()} | summary, ensure_ascii=False))
        return
    click.echo(f"day: {day.isoformat()}")
    for category, counts in summary.items():
        click.echo(f"{category}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))


@jobs_group.command("reminders")
@click.option("--today", "today", type=DAY, default=None)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def reminders_command(today: dt.datetime | None, as_json: bool) -> None:
    """Relancer les clients dont le dossier est incomplet depuis N jours."""
    day = _today(today)
    with unit_of_work() as session:
        due = due_reminders(session, today=day, rules=current_job_rules().reminders)
    sent = 0
    with click.progressbar(due, label="Relances", file=sys.stderr, show_pos=True) as bar:
        for reminder in bar:
            with unit_of_work() as session:
                sent += remind(session, reminder)
    _print_summary({"day": day.isoformat(), "due": len(due), "sent": sent}, as_json)


@jobs_group.command("failed")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def failed_command(as_json: bool) -> None:
    """Lister les tâches en échec (rq et exécution directe)."""

    jobs = failed_jobs()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": j.id,
                        "backend": j.backend,
                        "task": j.task,
                        "args": list(j.args),
                        "failed_at": j.failed_at.isoformat() if j.failed_at else None,
                        "error": j.error_summary,
                    }
                    for j in jobs
                ],
                ensure_ascii=False,
                default=str,
            )
        )
        return
    for j in jobs:
        click.echo(f"{j.backend:6} {j.id}  {j.task}{j.args}  {j.error_summary}")
    click.echo(f"{len(jobs)} tâche(s) en échec", err=True)


@jobs_group.command("retry")
@click.argument("job_id")
@with_appcontext
def retry_command(job_id: str) -> None:
    """Relancer une tâche en échec."""

    backend = "inline" if job_id.startswith("inline-") else "rq"
    try:
        retry_failed(job_id, backend)
    except UnknownFailedJob as exc:
        raise click.ClickException(f"tâche en échec inconnue : {job_id}") from exc
    click.echo(f"relancée : {job_id}")


@jobs_group.command("ping")
@with_appcontext
def ping_command() -> None:
    """Mettre en file une tâche de test (worker → base → journal d'audit)."""

    token = uuid.uuid4().hex[:12]
    dispatch("ra_workbench.jobs.tasks:ping", token, job_id=f"ping:{token}")
    click.echo(f"ping {token} envoyé")


def _print_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        click.echo(", ".join(f"{k} : {v}" for k, v in summary.items()))
