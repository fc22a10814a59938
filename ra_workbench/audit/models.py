"""The append-only, hash-chained audit trail.

The application has no path that changes or removes an entry: the ORM refuses it (the
listeners below), and `audit verify` catches whatever is done to the table behind its
back (direct SQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from ra_workbench.db import Base, intpk


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[intpk]
    # Position in the chain; gaps or repeats are what `audit verify` looks for.
    seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(sa.String(320), index=True)
    actor_id: Mapped[int | None]
    event_type: Mapped[str] = mapped_column(sa.String(64), index=True)
    dossier_id: Mapped[int | None] = mapped_column(index=True)
    order_number: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))
    mac: Mapped[str] = mapped_column(sa.String(64))


class AuditTrailImmutable(RuntimeError):
    """Something tried to update or delete an audit entry through the application."""


@sa.event.listens_for(AuditEvent, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: AuditEvent) -> None:
    raise AuditTrailImmutable(f"audit entry n°{target.seq} cannot be updated")


@sa.event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(_mapper: Any, _connection: Any, target: AuditEvent) -> None:
    raise AuditTrailImmutable(f"audit entry n°{target.seq} cannot be deleted")


@sa.event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    """Bulk `update(AuditEvent)` / `delete(AuditEvent)` bypass the mapper events above."""
    if not (state.is_update or state.is_delete):
        return
    # ORM statements carry an annotated copy of the table: compare by name.
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) == AuditEvent.__tablename__:
        raise AuditTrailImmutable("audit entries cannot be updated or deleted")
