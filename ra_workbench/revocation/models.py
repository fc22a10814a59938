"""A revocation request: who asked (as sent), why (RFC 5280 code), how the requester's link
to the organisation was checked, and who claimed, decided and checked it afterwards."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ra_workbench.db import Base, CreatedAt, intpk


class RevocationState:
    OPEN = "open"  # from the portal, waiting for staff
    AWAITING_SECOND = "awaiting_second"  # opened by staff: someone else decides (four eyes)
    CLAIMED = "claimed"  # a member of staff is reviewing it
    REVOKED = "revoked"
    REFUSED = "refused"
    # Undecided: at most one per certificate (uq_revocation_requests_open_certificate).
    UNDECIDED = (OPEN, AWAITING_SECOND, CLAIMED)


class RevocationSource:
    PORTAL = "portal"
    STAFF = "staff"


class RevocationRequest(Base):
    __tablename__ = "revocation_requests"

    id: Mapped[intpk]
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("certificates.id"), index=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    source: Mapped[str] = mapped_column(sa.String(16))
    # holder | legal_representative | mandataire | staff, and the identity as sent (portal).
    requester_role: Mapped[str] = mapped_column(sa.String(32))
    requester_first_name: Mapped[str | None] = mapped_column(sa.String(200))
    requester_last_name: Mapped[str | None] = mapped_column(sa.String(200))
    requester_email: Mapped[str | None] = mapped_column(sa.String(254))
    # RFC 5280 CRLReason (cryptography's ReasonFlags value); staff also name the ground.
    reason: Mapped[str] = mapped_column(sa.String(32))
    ground: Mapped[str | None] = mapped_column(sa.String(32))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    # The requester's link to the organisation: role, names and e-mail against the dossier's
    # person of that role (None for a staff-opened request), and what did not match.
    link_verified: Mapped[bool | None]
    link_detail: Mapped[str] = mapped_column(sa.Text, default="")
    opened_by: Mapped[str] = mapped_column(sa.String(254))  # "api:portal" or a staff e-mail
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    claimed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    claimed_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None]
    decision_comment: Mapped[str | None] = mapped_column(sa.Text)
    # Key compromise is revoked at once; a second person checks it afterwards.
    immediate: Mapped[bool] = mapped_column(default=False)
    after_checked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    after_checked_at: Mapped[dt.datetime | None]
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[CreatedAt]

    __table_args__ = (
        # One undecided request per certificate, whatever two portal calls at once do.
        sa.Index(
            "uq_revocation_requests_open_certificate",
            "certificate_id",
            unique=True,
            postgresql_where=sa.text("state IN ('open', 'awaiting_second', 'claimed')"),
            sqlite_where=sa.text("state IN ('open', 'awaiting_second', 'claimed')"),
        ),
    )
