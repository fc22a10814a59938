"""Certificates issued for approved dossiers, and the issuance requests behind them."""

from __future__ import annotations

import datetime as dt

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


class Certificate(Base):
    __tablename__ = "certificates"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    serial_number: Mapped[str] = mapped_column(sa.String(80), unique=True)
    subject_serial: Mapped[str] = mapped_column(sa.String(80), unique=True)
    subject: Mapped[str] = mapped_column(sa.Text)
    fingerprint_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    not_before: Mapped[dt.datetime]
    not_after: Mapped[dt.datetime] = mapped_column(index=True)
    key_algorithm: Mapped[str] = mapped_column(sa.String(32))
    pem: Mapped[str] = mapped_column(sa.Text)
    backend: Mapped[str] = mapped_column(sa.String(32))
    token_serial: Mapped[str | None] = mapped_column(sa.String(80))
    token_prepared_at: Mapped[dt.datetime | None]
    # Holder identity as read from the document (surname, given names, birth date).
    holder_surname: Mapped[str] = mapped_column(sa.String(200), index=True)
    holder_given_names: Mapped[str] = mapped_column(sa.String(300))
    holder_birth_date: Mapped[dt.date | None]
    issued_at: Mapped[CreatedAt]
    revoked_at: Mapped[dt.datetime | None]
