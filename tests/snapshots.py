"""Byte-for-byte views of the database and the document store, to prove nothing changed."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ra_workbench.documents.store import store
from ra_workbench.extensions import db

# The audit trail records refusals too: that is its purpose. Compared separately.
AUDIT_TABLE = "audit_events"


def database_rows(*, include_audit: bool = False) -> dict[str, list[tuple[Any, ...]]]:
    db.session.expire_all()
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name == AUDIT_TABLE and not include_audit:
                continue
            result = conn.execute(sa.select(table))
            rows[table.name] = sorted((tuple(map(repr, r)) for r in result), key=repr)
    return rows


def store_files() -> dict[str, bytes]:
    doc_store = store()
    return {digest: doc_store.read(digest) for digest in doc_store.all_digests()}


def audit_event_types() -> list[str]:
    from ra_workbench.audit.models import AuditEvent

    return list(db.session.scalars(sa.select(AuditEvent.event_type).order_by(AuditEvent.seq)))
