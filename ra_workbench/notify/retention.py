"""Outbox retention: a message kept for ever is a copy of what it said to whom. After a
period a message sent (or given up) keeps its metadata — channel, recipient, template,
subject, state, dates — and loses its body and attachments; the messages of an abandoned
dossier lose their recipient too."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.db import utcnow
from ra_workbench.notify.models import OutboxMessage

# A queued message is still to be sent, a failed one may be retried from the outbox: their
# body is what they will say.
OPEN_STATES = ("queued", "failed")


def shorten_bodies(session: Session, *, created_before: dt.datetime) -> int:
    """Drop the body and attachments of settled messages created before the cutoff."""
    result = session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.created_at < created_before,
            OutboxMessage.state.not_in(OPEN_STATES),
            OutboxMessage.body_shortened_at.is_(None),
        )
        .values(body="", attachments=[], body_shortened_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def erase_dossier_messages(session: Session, dossier_id: int) -> int:
    """An abandoned dossier's messages: metadata without body, attachments or recipient."""
    result = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.dossier_id == dossier_id, OutboxMessage.state != "queued")
        .values(
            body="",
            attachments=[],
            recipient="",
            body_shortened_at=sa.func.coalesce(OutboxMessage.body_shortened_at, utcnow()),
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)
