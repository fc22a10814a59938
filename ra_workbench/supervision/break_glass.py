"""Break-glass accesses to identity copies (documents/access.py), for the supervisors: who
opened which dossier's copies without a need to know, when, and why."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.accounts.models import User
from ra_workbench.clock import local_time
from ra_workbench.documents.models import IdentityAccessGrant
from ra_workbench.dossiers.models import Dossier

LIMIT = 500


@dataclass(frozen=True)
class BreakGlassRow:
    grant_id: int
    dossier_id: int
    order_number: str
    user: str
    user_email: str
    at: dt.datetime  # Europe/Paris
    until: dt.datetime  # Europe/Paris
    reason: str


def break_glass_accesses(session: Session, *, limit: int = LIMIT) -> list[BreakGlassRow]:
    """The latest break-glass accesses, newest first."""
    rows = session.execute(
        sa.select(IdentityAccessGrant, Dossier.order_number, User)
        .join(Dossier, Dossier.id == IdentityAccessGrant.dossier_id)
        .join(User, User.id == IdentityAccessGrant.user_id)
        .order_by(IdentityAccessGrant.granted_at.desc(), IdentityAccessGrant.id.desc())
        .limit(limit)
    )
    return [
        BreakGlassRow(
            grant_id=grant.id,
            dossier_id=grant.dossier_id,
            order_number=order_number,
            user=user.display_name,
            user_email=user.email,
            at=local_time(grant.granted_at),
            until=local_time(grant.expires_at),
            reason=grant.reason,
        )
        for grant, order_number, user in rows
    ]
