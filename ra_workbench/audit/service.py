"""Append entries to the audit trail. There is deliberately no update or delete here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from ra_workbench.audit.chain import (
    GENESIS_HASH,
    ChainProblem,
    canonical_payload,
    entry_hash,
    entry_mac,
    verify_entries,
)
from ra_workbench.audit.models import AuditEvent
from ra_workbench.db import utcnow

if TYPE_CHECKING:
    from ra_workbench.dossiers.models import Dossier

SYSTEM_ACTOR = "system"
_CHAIN_LOCK_KEY = 7_311_532  # pg advisory lock id serialising appends


def _audit_key() -> str:
    if has_app_context():
        return str(current_app.config["RA_SETTINGS"].audit_key)
    raise RuntimeError("the audit trail needs an application context (for its key)")


def record(
    session: Session,
    event_type: str,
    *,
    actor: str = SYSTEM_ACTOR,
    actor_id: int | None = None,
    dossier: Dossier | None = None,
    dossier_id: int | None = None,
    order_number: str | None = None,
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one entry, chained to the previous one. Flushes; the caller commits."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_CHAIN_LOCK_KEY)))
    if dossier is not None:
        if dossier.id is None:
            session.flush()
        dossier_id = dossier.id
        order_number = dossier.order_number
    last = session.execute(
        sa.select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq = (last.seq + 1) if last else 1
    prev_hash = last.hash if last else GENESIS_HASH
    at = utcnow()
    body = canonical_payload(payload)
    digest = entry_hash(
        seq=seq,
        at=at,
        actor=actor,
        actor_id=actor_id,
        event_type=event_type,
        dossier_id=dossier_id,
        order_number=order_number,
        payload=body,
        prev_hash=prev_hash,
    )
    event = AuditEvent(
        seq=seq,
        at=at,
        actor=actor,
        actor_id=actor_id,
        event_type=event_type,
        dossier_id=dossier_id,
        order_number=order_number,
        payload=body,
        prev_hash=prev_hash,
        hash=digest,
        mac=entry_mac(_audit_key(), digest),
    )
    session.add(event)
    session.flush()
    return event


def verify(session: Session) -> tuple[int, ChainProblem | None]:
    """Check the whole chain; returns (entries read, first problem or None)."""
    entries = list(session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)))
    return len(entries), verify_entries(entries, _audit_key())
