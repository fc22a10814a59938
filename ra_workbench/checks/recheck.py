"""Re-checking waiting dossiers: one path for the nightly job, `ra-workbench check
--all-pending`, `jobs recheck-pending`, the operator's « Relancer les contrôles » button and
the recovery sweep (a dossier whose checks were killed mid-run, or whose job was lost).

A waiting dossier's verdict can change with time alone (a Kbis ageing past 3 months, an
identity document expiring). One set of statuses, one policy: a dossier already evaluated
for that day and revision is skipped unless forced; the customer is told when a pending
dossier has just become incomplete. Services flush; the job or command commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.checks.models import CheckRun
from ra_workbench.checks.results import Outcome, Verdict
from ra_workbench.checks.service import customer_requests, evaluate_dossier, latest_run
from ra_workbench.documents.models import Document
from ra_workbench.dossiers.models import Dossier, DossierRevision, SignatureEvent
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.notify.service import notify_verdict_changed

# Waiting on the customer or on an operator: their verdict can change with time alone
# (a Kbis ageing past 3 months, an identity document expiring, a mandate ageing).
RECHECK_STATUSES = (
    DossierStatus.PENDING.value,
    DossierStatus.DOCUMENTS_REQUESTED.value,
    DossierStatus.AWAITING_SECOND_APPROVAL.value,
)
RECHECK_TASK = "ra_workbench.checks.tasks:recheck_dossier"

# Why a dossier that was fine yesterday is incomplete today (the customer reads it in
# « … est toujours en attente de validation, mais {reason}. »).
AGEING_REASONS_FR = {
    "kbis.age": "votre extrait Kbis a dépassé la durée de validité acceptée",
    "identity.valid_on_date": "une pièce d'identité fournie n'est plus en cours de validité",
    "mandate.valid": "le mandat fourni a dépassé la durée de validité acceptée",
}
DEFAULT_REASON_FR = "certaines pièces fournies ne sont plus valables"


def recheck_candidates(session: Session) -> list[int]:
    return list(
        session.scalars(
            sa.select(Dossier.id)
            .where(Dossier.status.in_(RECHECK_STATUSES))
            .order_by(Dossier.submitted_at, Dossier.id)
        )
    )


def unchecked_dossiers(
    session: Session, *, received_before: dt.datetime | None, dossier_id: int | None = None
) -> list[int]:
    """Waiting dossiers with documents whose checks never ran on what they last received:
    no run for their current revision, or a latest run older than their latest signature
    event (the inline check was killed, the worker died, the job was lost). With
    `received_before`, only what arrived before it: a check may still be running."""

    latest = (
        sa.select(CheckRun.dossier_id, sa.func.max(CheckRun.id).label("run_id"))
        .group_by(CheckRun.dossier_id)
        .subquery()
    )
    signed = (
        sa.select(
            SignatureEvent.dossier_id,
            sa.func.max(SignatureEvent.received_at).label("received_at"),
        )
        .group_by(SignatureEvent.dossier_id)
        .subquery()
    )
    revised = (
        sa.select(
            DossierRevision.dossier_id,
            DossierRevision.revision,
            sa.func.max(DossierRevision.received_at).label("received_at"),
        )
        .group_by(DossierRevision.dossier_id, DossierRevision.revision)
        .subquery()
    )

    def arrived(column: sa.ColumnElement[dt.datetime]) -> sa.ColumnElement[bool]:
        if received_before is None:
            return sa.true()
        return sa.or_(column.is_(None), column < received_before)

    has_documents = (
        sa.select(Document.id)
        .where(Document.dossier_id == Dossier.id, Document.superseded.is_(False))
        .exists()
    )
    query = (
        sa.select(Dossier.id)
        .outerjoin(latest, latest.c.dossier_id == Dossier.id)
        .outerjoin(CheckRun, CheckRun.id == latest.c.run_id)
        .outerjoin(signed, signed.c.dossier_id == Dossier.id)
        .outerjoin(
            revised,
            sa.and_(revised.c.dossier_id == Dossier.id, revised.c.revision == Dossier.revision),
        )
        .where(Dossier.status.in_(RECHECK_STATUSES), has_documents)
        .where(
            sa.or_(
                sa.and_(
                    sa.or_(CheckRun.id.is_(None), CheckRun.revision < Dossier.revision),
                    arrived(revised.c.received_at),
                ),
                sa.and_(CheckRun.created_at < signed.c.received_at, arrived(signed.c.received_at)),
            )
        )
        .order_by(Dossier.submitted_at, Dossier.id)
    )
    if dossier_id is not None:
        query = query.where(Dossier.id == dossier_id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class RecheckOutcome:
    dossier_id: int
    action: str  # evaluated | skipped | not_pending | missing
    previous: str | None = None
    verdict: str | None = None
    notified: bool = False

    @property
    def changed(self) -> bool:
        return self.action == "evaluated" and self.previous != self.verdict


def _reason(run: CheckRun, previous_run: CheckRun | None) -> str:
    failed_now = {r.rule for r in run.results if r.outcome == Outcome.FAIL}
    failed_before = (
        {r.rule for r in previous_run.results if r.outcome == Outcome.FAIL}
        if previous_run
        else set()
    )
    for rule in sorted(failed_now - failed_before):
        if rule in AGEING_REASONS_FR:
            return AGEING_REASONS_FR[rule]
    return DEFAULT_REASON_FR


def recheck(
    session: Session,
    dossier_id: int,
    *,
    today: dt.date,
    trigger: str = "nightly",
    force: bool = False,
) -> RecheckOutcome:
    """Re-evaluate one waiting dossier as of `today`; tell the customer when it has just
    become incomplete. Skips a dossier already evaluated for that day and revision, unless
    `force` (an operator asked)."""
    dossier = session.get(Dossier, dossier_id)
    if dossier is None:
        return RecheckOutcome(dossier_id, "missing")
    if dossier.status not in RECHECK_STATUSES:
        return RecheckOutcome(dossier_id, "not_pending")
    previous_run = latest_run(session, dossier_id)
    if (
        not force
        and previous_run is not None
        and previous_run.revision == dossier.revision
        and previous_run.evaluation_date >= today
    ):
        return RecheckOutcome(dossier_id, "skipped", dossier.verdict, dossier.verdict)
    previous = dossier.verdict
    run = evaluate_dossier(session, dossier_id, trigger=trigger, at=today)
    notified = False
    # A dossier already waiting for the documents an operator asked for has been told; one
    # never judged on this revision has not become incomplete with time (its first run,
    # recovered, tells nobody, as the ingestion's own would not have).
    if (
        run.verdict == Verdict.INCOMPLETE
        and previous != Verdict.INCOMPLETE
        and dossier.status == DossierStatus.PENDING.value
        and previous_run is not None
        and previous_run.revision == dossier.revision
    ):
        items = customer_requests(session, dossier)
        notify_verdict_changed(session, dossier, items, reason=_reason(run, previous_run))
        notified = True
    return RecheckOutcome(dossier_id, "evaluated", previous, run.verdict, notified)


def recover(session: Session, dossier_id: int, *, today: dt.date) -> RecheckOutcome:
    """Run the checks a dossier missed, through the one re-check path; skipped when its own
    check has run meanwhile (the sweep found it while that job waited in the queue)."""
    if not unchecked_dossiers(session, received_before=None, dossier_id=dossier_id):
        return RecheckOutcome(dossier_id, "skipped")
    return recheck(session, dossier_id, today=today, trigger="recovery", force=True)
