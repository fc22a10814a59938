"""Scheduled work on dossiers: the nightly re-check and the reminders to customers.

Services: they flush, never commit (the job or CLI command around them commits), and they
are idempotent — running one again on the same day changes nothing. Every function takes
the evaluation day explicitly, so tests and the CLI drive them with a fake clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.checks.models import CheckRun
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.jobs.rules import ReminderRules
from ra_workbench.review.models import Decision, DecisionKind

# Waiting on the customer or on an operator: their verdict can change with time alone
# (a Kbis ageing past 3 months, an identity document expiring, a mandate ageing).
RECHECK_STATUSES = (DossierStatus.PENDING.value, DossierStatus.DOCUMENTS_REQUESTED.value)
INCOMPLETE = "incomplete"

# Why a dossier that was fine yesterday is incomplete today (the customer reads it in
# « … est toujours en attente de validation, mais {reason}. »).
AGEING_REASONS_FR = {
    "kbis.age": "votre extrait Kbis a dépassé la durée de validité acceptée",
    "identity.valid_on_date": "une pièce d'identité fournie n'est plus en cours de validité",
    "mandate.valid": "le mandat fourni a dépassé la durée de validité acceptée",
}
DEFAULT_REASON_FR = "certaines pièces fournies ne sont plus valables"


def paris_today() -> dt.date:
    from ra_workbench.checks.service import today_in_paris

    return today_in_paris()


def recheck_candidates(session: Session) -> list[int]:
    return list(
        session.scalars(
            sa.select(Dossier.id)
            .where(Dossier.status.in_(RECHECK_STATUSES))
            .order_by(Dossier.submitted_at, Dossier.id)
        )
    )


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
    failed_now = {r.rule for r in run.results if r.outcome == "fail"}
    failed_before = (
        {r.rule for r in previous_run.results if r.outcome == "fail"} if previous_run else set()
    )
    for rule in sorted(failed_now - failed_before):
        if rule in AGEING_REASONS_FR:
            return AGEING_REASONS_FR[rule]
    return DEFAULT_REASON_FR


def recheck(session: Session, dossier_id: int, *, today: dt.date) -> RecheckOutcome:
    """Re-evaluate one waiting dossier as of `today`; tell the customer when it has just
    become incomplete. Skips a dossier already evaluated for that day and revision."""
    from ra_workbench.checks.service import customer_requests, evaluate_dossier, latest_run

    dossier = session.get(Dossier, dossier_id)
    if dossier is None:
        return RecheckOutcome(dossier_id, "missing")
    if dossier.status not in RECHECK_STATUSES:
        return RecheckOutcome(dossier_id, "not_pending")
    previous_run = latest_run(session, dossier_id)
    if (
        previous_run is not None
        and previous_run.revision == dossier.revision
        and previous_run.evaluation_date >= today
    ):
        return RecheckOutcome(dossier_id, "skipped", dossier.verdict, dossier.verdict)
    previous = dossier.verdict
    run = evaluate_dossier(session, dossier_id, trigger="nightly", at=today)
    notified = False
    # A dossier already waiting for the documents an operator asked for has been told.
    if (
        run.verdict == INCOMPLETE
        and previous != INCOMPLETE
        and dossier.status == DossierStatus.PENDING.value
    ):
        from ra_workbench.notify.service import notify_verdict_changed

        items = customer_requests(session, dossier)
        notify_verdict_changed(session, dossier, items, reason=_reason(run, previous_run))
        notified = True
    return RecheckOutcome(dossier_id, "evaluated", previous, run.verdict, notified)


# --- reminders -------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    dossier_id: int
    since: dt.date
    number: int  # 1 for the first reminder, …


def _incomplete_since(session: Session, dossier_ids: list[int]) -> dict[int, dt.date]:
    """First evaluation day of the current run of `incomplete` verdicts, per dossier."""
    if not dossier_ids:
        return {}
    last_other = (
        sa.select(CheckRun.dossier_id, sa.func.max(CheckRun.id).label("last_id"))
        .where(CheckRun.verdict != INCOMPLETE, CheckRun.dossier_id.in_(dossier_ids))
        .group_by(CheckRun.dossier_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(CheckRun.dossier_id, sa.func.min(CheckRun.evaluation_date))
        .outerjoin(last_other, last_other.c.dossier_id == CheckRun.dossier_id)
        .where(
            CheckRun.dossier_id.in_(dossier_ids),
            CheckRun.verdict == INCOMPLETE,
            CheckRun.id > sa.func.coalesce(last_other.c.last_id, 0),
        )
        .group_by(CheckRun.dossier_id)
    )
    return {int(row[0]): row[1] for row in rows}


def _requested_since(session: Session, dossier_ids: list[int]) -> dict[int, dt.date]:
    if not dossier_ids:
        return {}
    rows = session.execute(
        sa.select(Decision.dossier_id, sa.func.max(Decision.at))
        .where(
            Decision.dossier_id.in_(dossier_ids),
            Decision.kind == DecisionKind.REQUEST_DOCUMENTS,
        )
        .group_by(Decision.dossier_id)
    )
    from ra_workbench.checks.service import PARIS

    return {dossier_id: at.astimezone(PARIS).date() for dossier_id, at in rows if at}


def reminder_number(since: dt.date, today: dt.date, rules: ReminderRules) -> int:
    """Which reminder is due on `today` for a dossier incomplete since `since` (0: none)."""
    days = (today - since).days
    if days < rules.incomplete_after_days or rules.max_reminders == 0:
        return 0
    number = 1 + (days - rules.incomplete_after_days) // rules.repeat_every_days
    return min(number, rules.max_reminders)


def due_reminders(session: Session, *, today: dt.date, rules: ReminderRules) -> list[Reminder]:
    incomplete_ids = list(
        session.scalars(
            sa.select(Dossier.id).where(
                Dossier.status == DossierStatus.PENDING.value, Dossier.verdict == INCOMPLETE
            )
        )
    )
    requested_ids = list(
        session.scalars(
            sa.select(Dossier.id).where(Dossier.status == DossierStatus.DOCUMENTS_REQUESTED.value)
        )
    )
    since = _incomplete_since(session, incomplete_ids) | _requested_since(session, requested_ids)
    reminders = []
    for dossier_id in sorted(since):
        number = reminder_number(since[dossier_id], today, rules)
        if number:
            reminders.append(Reminder(dossier_id, since[dossier_id], number))
    return reminders


def send_reminder(session: Session, reminder: Reminder) -> bool:
    """Store the reminder in the outbox (once: the outbox de-duplicates on its content,
    which names the day the dossier became incomplete and the reminder's number)."""
    from ra_workbench.audit.service import record
    from ra_workbench.checks.service import customer_requests
    from ra_workbench.notify.models import OutboxMessage
    from ra_workbench.notify.service import notify_verdict_changed
    from ra_workbench.review.service import documents_requested

    dossier = session.get(Dossier, reminder.dossier_id)
    if dossier is None:
        return False
    if dossier.status == DossierStatus.DOCUMENTS_REQUESTED.value:
        items = documents_requested(session, dossier)
        reason = (
            f"les pièces demandées le {reminder.since:%d/%m/%Y} ne nous sont pas encore "
            f"parvenues (relance n° {reminder.number})"
        )
    else:
        items = customer_requests(session, dossier)
        reason = (
            f"il est incomplet depuis le {reminder.since:%d/%m/%Y} (relance n° {reminder.number})"
        )
    count = _outbox_count(session, OutboxMessage, dossier.id)
    notify_verdict_changed(session, dossier, items, reason=reason)
    created = _outbox_count(session, OutboxMessage, dossier.id) > count
    if created:
        record(
            session,
            "jobs.reminder_sent",
            dossier=dossier,
            payload={"since": reminder.since.isoformat(), "number": reminder.number},
        )
    return created


def _outbox_count(session: Session, model: Any, dossier_id: int) -> int:
    session.flush()
    return int(
        session.scalar(
            sa.select(sa.func.count()).select_from(model).where(model.dossier_id == dossier_id)
        )
        or 0
    )
