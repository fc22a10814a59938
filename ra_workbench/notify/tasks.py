"""Jobs of the notify domain: send one message; sweep the queue (for the scheduler).

Each runs inside one unit of work (ra_workbench.jobs.runner), with ids only as arguments.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy.orm import Session

from ra_workbench.extensions import db
from ra_workbench.notify import service
from ra_workbench.notify.service import MessageState


class MessageNotSent(Exception):
    """Raised after the failed attempt is committed, so that rq retries with back-off."""


def retries_left() -> bool:
    """Inside an rq job with retries remaining (inline there is no automatic retry)."""
    from rq import get_current_job  # noqa: PLC0415 - rq only when the task runs in a worker

    job = get_current_job()
    return bool(job is not None and job.retries_left)


def send_message(message_id: int) -> str:
    session = cast(Session, db.session)
    retry_later = retries_left()
    state = service.send_message(session, message_id, retry_later=retry_later)
    if retry_later and state == MessageState.QUEUED:
        # The job's unit rolls back on an exception: commit the attempt and its error first.
        session.commit()
        raise MessageNotSent(f"message {message_id} non envoyé, nouvel essai programmé")
    return state


def send_queued() -> int:
    """Scheduler sweep: send what is still queued (e.g. after an outage). Returns the count."""
    session = cast(Session, db.session)
    ids = service.queued_message_ids(session)
    for message_id in ids:
        service.send_message(session, message_id)
    return len(ids)
