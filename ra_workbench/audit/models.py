"""The append-only, hash-chained audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

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
