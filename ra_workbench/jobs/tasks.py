"""Scheduled tasks, as the job queue runs them (rq worker or inline).

Each is named "ra_workbench.jobs.tasks:<function>", takes ids and ISO dates only, and runs
inside one unit of work opened by the runner (ra_workbench/jobs/runner.py), which commits
at its end. Every task takes the day (or instant) it works for — the fake clock of the
tests and the CLI — defaulting to the real one. Each is idempotent.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path
from typing import Any, cast

from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

RECHECK_TASK = "ra_workbench.jobs.tasks:recheck_dossier"


def _session() -> Session:
    from ra_workbench.extensions import db

    return cast(Session, db.session)


def as_day(value: str | dt.date | None) -> dt.date:
    """A task's `today`: an ISO date (or datetime) string, a date, or None for today in
    Paris."""
    if value is None:
        from ra_workbench.jobs.batch import paris_today

        return paris_today()
    if isinstance(value, dt.datetime):
        from ra_workbench.checks.service import PARIS

        return value.astimezone(PARIS).date()
    if isinstance(value, dt.date):
        return value
    if "T" in value:
        return as_day(dt.datetime.fromisoformat(value))
    return dt.date.fromisoformat(value)


def ingest_inbox(now: str | None = None) -> int:
    """Ingest the packages dropped in the inbox (each package commits on its own)."""
    from flask import current_app

    from ra_workbench.ingest.inbox import drain_inbox

    outcomes = list(drain_inbox(current_app.config["RA_SETTINGS"].inbox_dir))
    if outcomes:
        log.info("inbox: %d package(s) ingested", len(outcomes))
    return len(outcomes)


def nightly_recheck(today: str | None = None) -> int:
    """Fan out: one re-check job per waiting dossier, enqueued after this unit commits.
    The job id names the dossier and the day, so a second run enqueues nothing new."""
    from ra_workbench.jobs.batch import recheck_candidates
    from ra_workbench.unit import defer_job

    day = as_day(today).isoformat()
    session = _session()
    ids = recheck_candidates(session)
    for dossier_id in ids:
        defer_job(session, RECHECK_TASK, dossier_id, day, job_id=f"recheck:{day}:{dossier_id}")
    log.info("nightly re-check for %s: %d dossier(s)", day, len(ids))
    return len(ids)


def recheck_dossier(dossier_id: int, today: str | None = None) -> str:
    from ra_workbench.jobs.batch import recheck

    outcome = recheck(_session(), int(dossier_id), today=as_day(today))
    return outcome.action


def send_reminders(today: str | None = None) -> int:
    from ra_workbench.jobs.batch import due_reminders, send_reminder
    from ra_workbench.jobs.rules import current_job_rules

    session = _session()
    sent = 0
    for reminder in due_reminders(
        session, today=as_day(today), rules=current_job_rules().reminders
    ):
        sent += send_reminder(session, reminder)
    return sent


def retention_purge(today: str | None = None) -> int:
    """Mark the copies whose retention ended; their bytes go after the commit."""
    from ra_workbench.jobs.retention import DELETE_BLOBS_TASK, due_dossiers, mark_due
    from ra_workbench.jobs.rules import current_job_rules
    from ra_workbench.unit import defer_job

    session = _session()
    rules = current_job_rules().retention
    purged = 0
    for due in due_dossiers(session, today=as_day(today), rules=rules):
        purged += len(mark_due(session, due, rules=rules))
    # Always: it also finishes the deletions of a run that crashed after its commit.
    defer_job(session, DELETE_BLOBS_TASK)
    return purged


def delete_purged_blobs() -> dict[str, int]:
    from ra_workbench.jobs.retention import delete_blobs, purgeable_digests

    session = _session()
    return delete_blobs(session, purgeable_digests(session))


def ping(token: str, wait_for: str | None = None, max_wait_seconds: float = 300) -> str:
    """Health check of the whole path (queue → worker → database → audit): appends a
    `jobs.ping` entry. With `wait_for`, the job then holds its transaction open until that
    file exists: how an operator (or the failover test) catches a worker mid-job, with
    uncommitted work in flight."""
    from ra_workbench.audit.service import record

    record(_session(), "jobs.ping", actor="worker", payload={"token": token})
    if wait_for:
        marker = Path(wait_for)
        Path(f"{wait_for}.started").touch()
        deadline = time.monotonic() + max_wait_seconds
        while not marker.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"ping {token}: {wait_for} never appeared")
            time.sleep(0.1)
    return token


def describe(task: str, args: tuple[Any, ...]) -> str:
    """French label of a task for the failed-jobs screen."""
    labels = {
        "ra_workbench.jobs.tasks:ingest_inbox": "Ingestion du répertoire d'entrée",
        "ra_workbench.jobs.tasks:nightly_recheck": "Contrôle nocturne des dossiers en attente",
        RECHECK_TASK: "Nouveau contrôle d'un dossier",
        "ra_workbench.jobs.tasks:send_reminders": "Relances des clients",
        "ra_workbench.jobs.tasks:retention_purge": "Purge des pièces d'identité",
        "ra_workbench.jobs.tasks:delete_purged_blobs": "Suppression des fichiers purgés",
        "ra_workbench.jobs.tasks:ping": "Test de fonctionnement",
        "ra_workbench.checks.tasks:run_checks": "Contrôles automatiques",
        "ra_workbench.supervision.tasks:sample_quality_reviews": "Échantillon de revue qualité",
    }
    return labels.get(task, task)
