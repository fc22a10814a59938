"""Reading the register: the dossier's valid certificate (the database allows at most one,
uq_certificates_active_dossier)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.certificates.models import Certificate


def active_certificate(session: Session, dossier_id: int) -> Certificate | None:
    return session.scalar(
        sa.select(Certificate).where(
            Certificate.dossier_id == dossier_id, Certificate.revoked_at.is_(None)
        )
    )
