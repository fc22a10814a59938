"""Reminders to customers whose dossier waits for them: which reminder is due, and the
message itself. Who waits and since when is told by the caller (review/waiting.py)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.audit.service import record
from ra_workbench.dossiers.models import Dossier
from ra_workbench.jobs.rules import ReminderRules
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.notify.service import notify_verdict_changed

# The audit entry of each reminder sent, payload {since, number}: what the dossier page reads.
REMINDER_SENT = "jobs.reminder_sent"


def reminder_dates(since: dt.date, rules: ReminderRules) -> list[dt.date]:
    """The day each reminder falls due for a dossier waiting since `since`: reminder n° k is
    the list's k-th day, `incomplete_after_days` after `since`, then every `repeat_every_days`."""
    return [
        since + dt.timedelta(days=rules.incomplete_after_days + k * rules.repeat_every_days)
        for k in range(rules.max_reminders)
    ]


def reminder_number(since: dt.date, today: dt.date, rules: ReminderRules) -> int:
    """Which reminder is due on `today` for a dossier incomplete since `since` (0: none): the
    last one of the schedule whose day has come."""
    return sum(due <= today for due in reminder_dates(since, rules))


def send_reminder(
    session: Session,
    dossier: Dossier,
    items: list[str],
    *,
    since: dt.date,
    number: int,
    waiting_for_documents: bool,
) -> bool:
    """Store the reminder in the outbox (once: the outbox de-duplicates on its content,
    which names the day the dossier became incomplete and the reminder's number)."""
    if waiting_for_documents:
        reason = (
            f"les pièces demandées le {since:%d/%m/%Y} ne nous sont pas encore "
            f"parvenues (relance n° {number})"
        )
    else:
        reason = f"il est incomplet depuis le {since:%d/%m/%Y} (relance n° {number})"
    count = _outbox_count(session, dossier.id)
    notify_verdict_changed(session, dossier, items, reason=reason)
    created = _outbox_count(session, dossier.id) > count
    if created:
        record(
            session,
            REMINDER_SENT,
            dossier=dossier,
            payload={"since": since.isoformat(), "number": number},
        )
    return created


def _outbox_count(session: Session, dossier_id: int) -> int:
    session.flush()
    return int(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.dossier_id == dossier_id)
        )
        or 0
    )
