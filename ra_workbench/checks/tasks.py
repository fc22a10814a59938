"""Check tasks run by the job queue (rq or inline), inside the runner's unit of work.

Each takes ids and ISO dates only; the day defaults to today in Paris (the fake clock of the
tests and the CLI flows through `today`)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import cast

from sqlalchemy.orm import Session

from ra_workbench.checks.recheck import (
    RECHECK_TASK,
    recheck,
    recheck_candidates,
    recover,
    unchecked_dossiers,
)
from ra_workbench.checks.service import evaluate_dossier
from ra_workbench.clock import as_day
from ra_workbench.db import utcnow
from ra_workbench.extensions import db
from ra_workbench.jobs.rules import current_job_rules
from ra_workbench.unit import defer_job

log = logging.getLogger(__name__)


def _session() -> Session:
    return cast(Session, db.session)


CHECKS_TASK = "ra_workbench.checks.tasks:run_checks"
RECOVERY_TASK = "ra_workbench.checks.tasks:recover_dossier"


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


def recover_unchecked(now: str | None = None) -> int:
    """The recovery sweep (rules/jobs.toml, every 10 minutes): one job per dossier whose
    checks never ran on what it last received, enqueued after this unit commits. What
    arrived less than a job's timeout ago is left to its own check, which may be running."""
    moment = dt.datetime.fromisoformat(now) if now else utcnow()
    grace = dt.timedelta(seconds=current_job_rules().retry.job_timeout_seconds)
    session = _session()
    ids = unchecked_dossiers(session, received_before=moment - grace)
    day = as_day(moment).isoformat()
    for dossier_id in ids:
        defer_job(session, RECOVERY_TASK, dossier_id, day, job_id=f"recovery:{dossier_id}")
    if ids:
        log.warning("recovery: %d dossier(s) without checks on their latest input", len(ids))
    return len(ids)


def recover_dossier(dossier_id: int, today: str | None = None) -> str:
    return recover(_session(), int(dossier_id), today=as_day(today)).action
