"""Check tasks run by the job queue (rq or inline), inside the runner's unit of work.

Each takes ids and ISO dates only; the day defaults to today in Paris (the fake clock of the
tests and the CLI flows through `today`)."""

from __future__ import annotations

import logging
from typing import cast

from sqlalchemy.orm import Session

from ra_workbench.checks.recheck import RECHECK_TASK, recheck, recheck_candidates
from ra_workbench.checks.service import evaluate_dossier
from ra_workbench.clock import as_day
from ra_workbench.extensions import db
from ra_workbench.unit import defer_job

log = logging.getLogger(__name__)


def _session() -> Session:
    return cast(Session, db.session)


CHECKS_TASK = "ra_workbench.checks.tasks:run_checks"


def request_checks(session: Session, dossier_id: int, trigger: str, job_id: str | None) -> None:
    """Run the checks once this unit commits (a job: rq, or inline without Redis)."""
    defer_job(session, CHECKS_TASK, dossier_id, trigger, job_id=job_id)


def run_checks(dossier_id: int, trigger: str = "manual") -> None:
    evaluate_dossier(_session(), dossier_id, trigger=trigger)


def nightly_recheck(today: str | None = None) -> int:
    """Fan out: one re-check job per waiting dossier, enqueued after this unit commits.
    The job id names the dossier and the day, so a second run enqueues nothing new."""
    day = as_day(today).isoformat()
    session = _session()
    ids = recheck_candidates(session)
    for dossier_id in ids:
        defer_job(session, RECHECK_TASK, dossier_id, day, job_id=f"recheck:{day}:{dossier_id}")
    log.info("nightly re-check for %s: %d dossier(s)", day, len(ids))
    return len(ids)


def recheck_dossier(dossier_id: int, today: str | None = None) -> str:
    outcome = recheck(_session(), int(dossier_id), today=as_day(today))
    return outcome.action
