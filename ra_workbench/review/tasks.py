"""Review tasks run by the job queue (rq or inline), inside the runner's unit of work."""

from __future__ import annotations

from typing import cast

from sqlalchemy.orm import Session

from ra_workbench.clock import as_day
from ra_workbench.extensions import db
from ra_workbench.jobs.rules import current_job_rules
from ra_workbench.review.waiting import due_reminders, remind


def send_reminders(today: str | None = None) -> int:
    """Remind the customers a dossier waits for (each reminder once: outbox dedup keys)."""
    session = cast(Session, db.session)
    reminders = due_reminders(session, today=as_day(today), rules=current_job_rules().reminders)
    return sum(remind(session, reminder) for reminder in reminders)
