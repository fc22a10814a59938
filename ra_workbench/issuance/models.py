"""The issuance requests behind certificates (the certificates themselves are core data:
ra_workbench/certificates/models.py)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ra_workbench.db import Base, CreatedAt, intpk


class IssuanceRequest(Base):
    """One per approved dossier: its state is what the failed list and the retry button show."""

    __tablename__ = "issuance_requests"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), unique=True)
    state: Mapped[str] = mapped_column(sa.String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[CreatedAt]
