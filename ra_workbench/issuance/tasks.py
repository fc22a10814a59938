"""The issuance job: one unit of work (ra_workbench.jobs.runner), the dossier id as argument.

With Redis, rq retries a failed attempt with back-off (ra_workbench.jobs.queue): the job
commits the attempt (count and error) and then raises so that rq schedules the retry. The
last attempt, and every inline attempt, ends with the request marked failed — visible in
the failed list with its retry button.
"""

from __future__ import annotations

from typing import cast

from cryptography import x509
from sqlalchemy.orm import Session

from ra_workbench.clock import as_day
from ra_workbench.documents.retention import DELETE_BLOBS_TASK
from ra_workbench.extensions import db
from ra_workbench.issuance import publication, service
from ra_workbench.issuance.retention import run_retention
from ra_workbench.jobs.rules import current_job_rules
from ra_workbench.notify.tasks import retries_left
from ra_workbench.unit import defer_job


class IssuanceNotDone(Exception):
    """Raised after the failed attempt is committed, so that rq retries with back-off."""


def issue_certificate(dossier_id: int) -> str:
    session = cast(Session, db.session)
    retry_later = retries_left()
    request = service.issue_certificate(session, dossier_id, retry_later=retry_later)
    # A dossier sent back to the queue is not retried: a new approval queues it again.
    if retry_later and request.state not in {
        service.RequestState.ISSUED,
        service.RequestState.RETURNED,
    }:
        session.commit()
        raise IssuanceNotDone(f"émission du dossier {dossier_id} : {request.last_error}")
    return request.state


def retention_purge(today: str | None = None) -> dict[str, dict[str, int]]:
    """Every retention category (issuance/retention.py), counts per category; the bytes of
    purged copies go after the commit."""
    session = cast(Session, db.session)
    summary = run_retention(session, today=as_day(today), rules=current_job_rules().retention)
    # Always: it also finishes the deletions of a run that crashed after its commit.
    defer_job(session, DELETE_BLOBS_TASK)
    return summary


def refresh_crl() -> int:
    """After a revocation, and on schedule: the CRL on disk brought in line with the CA's
    database (signed again when it differs or has used half its validity). Its CRL number."""
    current = publication.current_crl()
    number = x509.load_der_x509_crl(current).extensions.get_extension_for_class(x509.CRLNumber)
    return number.value.crl_number
