"""Who is waiting for the customer, and since when: dossiers incomplete after their checks,
and dossiers whose documents an operator requested. The reminders' schedule reads this;
notify/reminders.py numbers and writes the messages. The dossier page shows one dossier's
schedule: each reminder, its day, and whether the nightly job sent it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.audit.models import AuditEvent
from ra_workbench.checks.models import CheckRun
from ra_workbench.checks.results import Verdict
from ra_workbench.checks.service import customer_requests
from ra_workbench.clock import PARIS, today_in_paris
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.jobs.rules import ReminderRules
from ra_workbench.notify.reminders import (
    REMINDER_SENT,
    reminder_dates,
    reminder_number,
    send_reminder,
)
from ra_workbench.review.decisions import documents_requested
from ra_workbench.review.models import Decision, DecisionKind


@dataclass(frozen=True)
class Reminder:
    dossier_id: int
    since: dt.date
    number: int  # 1 for the first reminder, …


@dataclass(frozen=True)
class ScheduledReminder:
    number: int
    due_on: dt.date
    sent_at: dt.datetime | None  # None: not sent (yet)
    missed: bool = False  # its day has passed and it was not sent (the job did not run)


@dataclass(frozen=True)
class ReminderSchedule:
    since: dt.date
    waiting_for_documents: bool  # else: incomplete after its checks
    reminders: list[ScheduledReminder]


def _incomplete_since(session: Session, dossier_ids: list[int]) -> dict[int, dt.date]:
    """First evaluation day of the current run of `incomplete` verdicts, per dossier."""
    if not dossier_ids:
        return {}
    last_other = (
        sa.select(CheckRun.dossier_id, sa.func.max(CheckRun.id).label("last_id"))
        .where(CheckRun.verdict != Verdict.INCOMPLETE, CheckRun.dossier_id.in_(dossier_ids))
        .group_by(CheckRun.dossier_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(CheckRun.dossier_id, sa.func.min(CheckRun.evaluation_date))
        .outerjoin(last_other, last_other.c.dossier_id == CheckRun.dossier_id)
        .where(
            CheckRun.dossier_id.in_(dossier_ids),
            CheckRun.verdict == Verdict.INCOMPLETE,
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
    return {dossier_id: at.astimezone(PARIS).date() for dossier_id, at in rows if at}


def due_reminders(session: Session, *, today: dt.date, rules: ReminderRules) -> list[Reminder]:
    incomplete_ids = list(
        session.scalars(
            sa.select(Dossier.id).where(
                Dossier.status == DossierStatus.PENDING.value, Dossier.verdict == Verdict.INCOMPLETE
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


def reminder_schedule(
    session: Session, dossier: Dossier, *, rules: ReminderRules, today: dt.date | None = None
) -> ReminderSchedule | None:
    """The reminders of the dossier's current wait for the customer, sent or to come; None
    when it does not wait for the customer."""
    waiting_for_documents = dossier.status == DossierStatus.DOCUMENTS_REQUESTED.value
    if waiting_for_documents:
        since = _requested_since(session, [dossier.id]).get(dossier.id)
    elif dossier.status == DossierStatus.PENDING.value and dossier.verdict == Verdict.INCOMPLETE:
        since = _incomplete_since(session, [dossier.id]).get(dossier.id)
    else:
        return None
    if since is None:
        return None
    # Sent for this wait: the job names the wait by its first day (an earlier wait's
    # reminders carry another day).
    sent: dict[int, dt.datetime] = {}
    for at, payload in session.execute(
        sa.select(AuditEvent.at, AuditEvent.payload)
        .where(AuditEvent.event_type == REMINDER_SENT, AuditEvent.dossier_id == dossier.id)
        .order_by(AuditEvent.id)
    ):
        if isinstance(payload, dict) and payload.get("since") == since.isoformat():
            sent.setdefault(int(payload.get("number") or 0), at)
    return ReminderSchedule(
        since=since,
        waiting_for_documents=waiting_for_documents,
        reminders=[
            ScheduledReminder(
                number,
                due_on,
                sent.get(number),
                missed=number not in sent and due_on < (today or today_in_paris()),
            )
            for number, due_on in enumerate(reminder_dates(since, rules), start=1)
        ],
    )


def remind(session: Session, reminder: Reminder) -> bool:
    """Send one due reminder: the operator's request, or the checks' list, as it stands."""
    dossier = session.get(Dossier, reminder.dossier_id)
    if dossier is None:
        return False
    waiting_for_documents = dossier.status == DossierStatus.DOCUMENTS_REQUESTED.value
    items = (
        documents_requested(session, dossier)
        if waiting_for_documents
        else customer_requests(session, dossier)
    )
    return send_reminder(
        session,
        dossier,
        items,
        since=reminder.since,
        number=reminder.number,
        waiting_for_documents=waiting_for_documents,
    )
