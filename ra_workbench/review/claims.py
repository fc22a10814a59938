"""Claims: an operator takes a dossier for a while so that no two people decide on it at
once; the claim ends with a decision, a release or by expiring.

Taking a claim is a compare-and-set UPDATE, so two operators racing get one winner.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.accounts.models import User
from ra_workbench.audit.service import record
from ra_workbench.db import utcnow
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.review.common import ReviewError, get_dossier, locked_dossier
from ra_workbench.review.conflicts import ensure_no_conflict

S = DossierStatus

# A claim is possible while a decision can still be taken on the dossier.
CLAIMABLE_STATUSES = frozenset(
    {S.PENDING.value, S.AWAITING_SECOND_APPROVAL.value, S.DOCUMENTS_REQUESTED.value}
)


def claim_is_active(
    dossier: Dossier, *, claim_minutes: int, now: dt.datetime | None = None
) -> bool:
    now = now or utcnow()
    return (
        dossier.claimed_by_id is not None
        and dossier.claimed_at is not None
        and dossier.claimed_at > now - dt.timedelta(minutes=claim_minutes)
    )


def holds_claim(
    dossier: Dossier, user: User, *, claim_minutes: int, now: dt.datetime | None = None
) -> bool:
    return dossier.claimed_by_id == user.id and claim_is_active(
        dossier, claim_minutes=claim_minutes, now=now
    )


def claim(
    session: Session,
    dossier_id: int,
    user: User,
    *,
    claim_minutes: int,
    now: dt.datetime | None = None,
) -> Dossier:
    """Take the dossier for `claim_minutes`. Two operators racing: exactly one wins, because
    the UPDATE only matches a free (or expired, or own) claim and PostgreSQL re-checks the
    condition on the locked row after the other transaction commits."""
    now = now or utcnow()
    if not user.can("review:dossier:claim"):
        raise ReviewError("Vous n'avez pas le droit de prendre en charge un dossier.")
    dossier = get_dossier(session, dossier_id)
    if dossier.status not in CLAIMABLE_STATUSES:
        raise ReviewError("Ce dossier est déjà décidé : il ne peut plus être pris en charge.")
    if dossier.status == S.AWAITING_SECOND_APPROVAL.value and not user.can(
        "review:override:second"
    ):
        raise ReviewError("Seul un superviseur peut prendre en charge une dérogation à seconder.")
    ensure_no_conflict(dossier, user, "claim")
    cutoff = now - dt.timedelta(minutes=claim_minutes)
    result = session.execute(
        sa.update(Dossier)
        .where(
            Dossier.id == dossier_id,
            Dossier.status.in_(CLAIMABLE_STATUSES),
            sa.or_(
                Dossier.claimed_by_id.is_(None),
                Dossier.claimed_by_id == user.id,
                Dossier.claimed_at.is_(None),
                Dossier.claimed_at < cutoff,
            ),
        )
        .values(claimed_by_id=user.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(dossier)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        holder = dossier.claimed_by.display_name if dossier.claimed_by else "un autre opérateur"
        raise ReviewError(f"Dossier déjà pris en charge par {holder}.")
    record(
        session,
        "review.claimed",
        actor=user.email,
        actor_id=user.id,
        dossier=dossier,
        payload={"until": (now + dt.timedelta(minutes=claim_minutes)).isoformat()},
    )
    return dossier


def release(session: Session, dossier_id: int, user: User) -> Dossier:
    """The holder of a claim gives it back; a supervisor can release anyone's."""
    dossier = locked_dossier(session, dossier_id)
    if dossier.claimed_by_id is None:
        raise ReviewError("Ce dossier n'est pris en charge par personne.")
    previous = dossier.claimed_by_id
    if previous != user.id and not user.can("review:claim:release"):
        raise ReviewError("Seul un superviseur peut libérer le dossier d'un autre opérateur.")
    dossier.claimed_by_id = None
    dossier.claimed_at = None
    session.flush()
    record(
        session,
        "review.claim_released",
        actor=user.email,
        actor_id=user.id,
        dossier=dossier,
        payload={"claimed_by_id": previous, "by_supervisor": previous != user.id},
    )
    return dossier


def end_claim(dossier: Dossier) -> None:
    dossier.claimed_by_id = None
    dossier.claimed_at = None
