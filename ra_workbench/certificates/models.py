"""Certificates issued for approved dossiers: one row each, never two valid per dossier."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ra_workbench.db import Base, CreatedAt, intpk


class Certificate(Base):
    __tablename__ = "certificates"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    # One certificate per issuance request, ever: a second issue for the same request
    # (a retried job, a double click upstream) fails at the database.
    issuance_request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("issuance_requests.id"), unique=True
    )
    serial_number: Mapped[str] = mapped_column(sa.String(80), unique=True)
    # EN 319 412-1 natural person identifier (« IDCFR-<card number> »): one person's, on
    # each of their certificates; never another person's (checked at issuance).
    subject_serial: Mapped[str] = mapped_column(sa.String(80), index=True)
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
    # RFC 5280 CRLReason, as cryptography's ReasonFlags value (« keyCompromise », …).
    revocation_reason: Mapped[str | None] = mapped_column(sa.String(32))
    # A renewal's previous certificate (holder.unique passed as its renewal), revoked as
    # « superseded » when this one is handed over.
    renews_certificate_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certificates.id"))

    __table_args__ = (
        # At most one valid (unrevoked) certificate per dossier, whatever the code above does.
        sa.Index(
            "uq_certificates_active_dossier",
            "dossier_id",
            unique=True,
            postgresql_where=sa.text("revoked_at IS NULL"),
            sqlite_where=sa.text("revoked_at IS NULL"),
        ),
    )
