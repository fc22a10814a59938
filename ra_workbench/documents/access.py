"""Need to know for identity copies (REQUIREMENTS 15, EN 319 411-1 REG-6.2.2-22/-23).

An identity copy (recto, verso of the ID card, passport, residence permit) opens for whoever
has a need to know, and for a member of staff who states why (« bris de glace »: the reason
is stored, written with every view it allows, and listed for the supervisors). The others
see the declared and extracted data, not the images.

Who has a need to know is the review's call (the claimant of the dossier, a supervisor),
and review/ sits above documents/: the shell registers the policy here
(`decide_need_to_know_with`, as it tells us RA_MAX_PDF_PAGES). Without a policy nobody
has one: the copies open by break-glass only (fail closed).

The Kbis, the mandate and the payment proof stay open to every reviewer: they are what the
operator checks the organisation against, and the names they carry are on the dossier
page anyway. Only identity copies are images of a person's identity document.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from ra_workbench.accounts.models import User
from ra_workbench.audit.service import record
from ra_workbench.db import utcnow
from ra_workbench.documents.models import Document, IdentityAccessGrant
from ra_workbench.dossiers.models import Dossier

# Types whose copies need a need to know (documents/labels.py DocumentType).
NEED_TO_KNOW_TYPES = frozenset({"identity"})
REASON_MIN_LENGTH = 10
REASON_MAX_LENGTH = 1000
_POLICY = "ra_need_to_know"

# Returns why `user` has a need to know for `dossier` ("claimant", "supervisor"), or None.
NeedToKnow = Callable[[Dossier, User], str | None]


class AccessError(ValueError):
    """A break-glass request refused; the message is French, for the user."""


@dataclass(frozen=True)
class Access:
    basis: str  # claimant | supervisor | break_glass | not_restricted
    reason: str | None = None


def decide_need_to_know_with(policy: NeedToKnow) -> None:
    """Called by the shell (app factory) with the review's policy."""
    current_app.extensions[_POLICY] = policy


def active_grant(
    session: Session, dossier_id: int, user_id: int, *, now: dt.datetime | None = None
) -> IdentityAccessGrant | None:
    now = now or utcnow()
    return session.scalar(
        sa.select(IdentityAccessGrant)
        .where(
            IdentityAccessGrant.dossier_id == dossier_id,
            IdentityAccessGrant.user_id == user_id,
            IdentityAccessGrant.expires_at > now,
        )
        .order_by(IdentityAccessGrant.id.desc())
        .limit(1)
    )


def identity_access(
    session: Session, dossier: Dossier, user: User, *, now: dt.datetime | None = None
) -> Access | None:
    """On what ground `user` may open the dossier's identity copies; None: she may not."""
    policy: NeedToKnow | None = current_app.extensions.get(_POLICY)
    basis = policy(dossier, user) if policy else None
    if basis:
        return Access(basis)
    grant = active_grant(session, dossier.id, user.id, now=now)
    if grant is not None:
        return Access("break_glass", grant.reason)
    return None


def document_access(
    session: Session, document: Document, dossier: Dossier, user: User
) -> Access | None:
    if document.type not in NEED_TO_KNOW_TYPES:
        return Access("not_restricted")
    return identity_access(session, dossier, user)


def break_glass(
    session: Session,
    dossier: Dossier,
    user: User,
    reason: str,
    *,
    minutes: int,
    now: dt.datetime | None = None,
) -> IdentityAccessGrant:
    """Record a stated reason to open the dossier's identity copies for `minutes`; audited."""
    reason = " ".join(reason.split())
    if len(reason) < REASON_MIN_LENGTH:
        raise AccessError(
            f"Indiquez la raison de cet accès (au moins {REASON_MIN_LENGTH} caractères)."
        )
    if len(reason) > REASON_MAX_LENGTH:
        raise AccessError(f"Raison trop longue (au plus {REASON_MAX_LENGTH} caractères).")
    now = now or utcnow()
    grant = IdentityAccessGrant(
        dossier_id=dossier.id,
        user_id=user.id,
        reason=reason,
        granted_at=now,
        expires_at=now + dt.timedelta(minutes=minutes),
    )
    session.add(grant)
    session.flush()
    record(
        session,
        "document.break_glass",
        actor=user.email,
        actor_id=user.id,
        dossier=dossier,
        payload={"grant_id": grant.id, "reason": reason, "until": grant.expires_at.isoformat()},
    )
    return grant
