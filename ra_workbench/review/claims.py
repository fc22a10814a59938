"""Claims: an operator takes a dossier for a while so that no two people decide on it at
once; the claim ends with a decision, a release or by expiring.

Taking a claim is a compare-and-set UPDATE, so two operators racing get one winner.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.accounts.models import User
from ra_workbench.audit.service import record
from ra_workbench.checks.results import Verdict
from ra_workbench.db import utcnow
from ra_workbench.dossiers.labels import ROLE_LABELS_FR
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.review.common import ReviewError, get_dossier, locked_dossier
from ra_workbench.review.conflicts import conflicting_person, ensure_no_conflict

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


def _free_for(user: User, cutoff: dt.datetime) -> sa.ColumnElement[bool]:
    """Nobody holds the dossier, `user` does, or the claim began before `cutoff` (expired)."""
    return sa.or_(
        Dossier.claimed_by_id.is_(None),
        Dossier.claimed_by_id == user.id,
        Dossier.claimed_at.is_(None),
        Dossier.claimed_at < cutoff,
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
            _free_for(user, cutoff),
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


# The order in which « dossier suivant » offers work: what can be approved first (the
# checks found nothing), then the other pending dossiers; oldest submission first in each.
NEXT_BATCH = 20


def claim_next(
    session: Session,
    user: User,
    *,
    claim_minutes: int,
    skip: int | None = None,
    now: dt.datetime | None = None,
) -> Dossier | None:
    """Claim the next pending dossier nobody holds (« Valider et dossier suivant », the
    queue's « Traiter le dossier suivant »): each candidate goes through `claim`'s
    compare-and-set, so two operators pressing it at the same instant get two different
    dossiers; a dossier the operator may not handle (conflict of interest) is passed over.
    None when there is nothing left."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(minutes=claim_minutes)
    candidates = session.scalars(
        sa.select(Dossier.id)
        .where(
            Dossier.status == S.PENDING.value, _free_for(user, cutoff), Dossier.id != (skip or 0)
        )
        .order_by(
            sa.case((Dossier.verdict == Verdict.READY, 0), else_=1),
            Dossier.submitted_at,
            Dossier.id,
        )
        .limit(NEXT_BATCH)
    ).all()
    for dossier_id in candidates:
        try:
            return claim(session, dossier_id, user, claim_minutes=claim_minutes, now=now)
        except ReviewError:  # taken meanwhile, or a conflict of interest: the next one
            continue
    return None


# -- supervision: who holds what, released or handed to someone else ------------------------


@dataclass(frozen=True)
class HeldClaim:
    """A claim in force, as the supervisor's page shows it."""

    dossier_id: int
    order_number: str
    status: str
    organisation: str
    holder_id: int
    holder: str
    since: dt.datetime
    until: dt.datetime


def held_claims(
    session: Session, *, claim_minutes: int, now: dt.datetime | None = None
) -> list[HeldClaim]:
    """Every claim in force (not expired, on a dossier still awaiting a decision), oldest
    first: the supervisor sees who sits on what."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(minutes=claim_minutes)
    rows = session.execute(
        sa.select(Dossier, User)
        .join(User, User.id == Dossier.claimed_by_id)
        .where(Dossier.status.in_(CLAIMABLE_STATUSES), Dossier.claimed_at > cutoff)
        .order_by(Dossier.claimed_at, Dossier.id)
    ).all()
    return [
        HeldClaim(
            dossier_id=dossier.id,
            order_number=dossier.order_number,
            status=dossier.status,
            organisation=dossier.organisation.name,
            holder_id=holder.id,
            holder=holder.display_name,
            since=dossier.claimed_at,
            until=dossier.claimed_at + dt.timedelta(minutes=claim_minutes),
        )
        for dossier, holder in rows
        if dossier.claimed_at is not None
    ]


def claim_candidates(session: Session) -> list[User]:
    """Who a claim may be handed to: active staff allowed to claim, by name."""
    users = session.scalars(sa.select(User).where(User.active.is_(True)))
    return sorted(
        (u for u in users if u.can("review:dossier:claim")), key=lambda u: u.display_name.lower()
    )


def _changed_hands(session: Session, dossier: Dossier, expected: User | None) -> ReviewError:
    """The refusal of a release or reassignment decided on a page that is out of date."""
    session.refresh(dossier)
    shown = expected.display_name if expected is not None else "l'opérateur affiché"
    if dossier.status not in CLAIMABLE_STATUSES:
        now_ = "il a été décidé depuis"
    elif dossier.claimed_by is None:
        now_ = "il n'est plus pris en charge par personne"
    else:
        now_ = f"il est maintenant pris en charge par {dossier.claimed_by.display_name}"
    return ReviewError(
        f"Le dossier {dossier.order_number} n'est plus pris en charge par {shown} : "
        f"{now_}. Rien n'a été modifié ; vérifiez la liste à jour."
    )


def _ensure_supervisor(user: User, verb: str) -> None:
    if not user.can("review:claim:release"):
        raise ReviewError(f"Seul un superviseur peut {verb} le dossier d'un autre opérateur.")


def _hand_over_claim(
    session: Session,
    dossier: Dossier,
    expected_holder_id: int,
    new_holder_id: int | None,
    now: dt.datetime | None,
) -> None:
    """Compare-and-set on the holder the supervisor's page showed: the claim goes to
    `new_holder_id` (None: nobody) only if `expected_holder_id` still holds it."""
    result = session.execute(
        sa.update(Dossier)
        .where(
            Dossier.id == dossier.id,
            Dossier.status.in_(CLAIMABLE_STATUSES),
            Dossier.claimed_by_id == expected_holder_id,
        )
        .values(claimed_by_id=new_holder_id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _changed_hands(session, dossier, session.get(User, expected_holder_id))
    session.refresh(dossier)


def release_held(
    session: Session, dossier_id: int, supervisor: User, *, expected_holder_id: int
) -> Dossier:
    """A supervisor frees the claim the page showed as `expected_holder_id`'s: a
    compare-and-set on the holder, so a claim that changed hands meanwhile is left alone."""
    _ensure_supervisor(supervisor, "libérer")
    dossier = get_dossier(session, dossier_id)
    _hand_over_claim(session, dossier, expected_holder_id, None, None)
    record(
        session,
        "review.claim_released",
        actor=supervisor.email,
        actor_id=supervisor.id,
        dossier=dossier,
        payload={
            "claimed_by_id": expected_holder_id,
            "by_supervisor": expected_holder_id != supervisor.id,
        },
    )
    return dossier


def reassign(
    session: Session,
    dossier_id: int,
    supervisor: User,
    *,
    expected_holder_id: int,
    new_holder_id: int,
    claim_minutes: int,
    now: dt.datetime | None = None,
) -> Dossier:
    """A supervisor hands the claim to another operator, for a full claim period: only if
    the dossier is still held by the person the page showed (compare-and-set on the holder),
    and only to someone allowed to take it (never one of the dossier's people)."""
    now = now or utcnow()
    _ensure_supervisor(supervisor, "réassigner")
    dossier = get_dossier(session, dossier_id)
    new_holder = session.get(User, new_holder_id)
    if new_holder is None or not new_holder.active or not new_holder.can("review:dossier:claim"):
        raise ReviewError("Cette personne ne peut pas prendre de dossier en charge.")
    if new_holder_id == expected_holder_id:
        raise ReviewError(f"Le dossier est déjà pris en charge par {new_holder.display_name}.")
    if dossier.status == S.AWAITING_SECOND_APPROVAL.value and not new_holder.can(
        "review:override:second"
    ):
        raise ReviewError(
            "Une dérogation à seconder ne peut être confiée qu'à un superviseur : "
            f"{new_holder.display_name} ne l'est pas."
        )
    person = conflicting_person(dossier, new_holder)
    if person is not None:
        role = ROLE_LABELS_FR.get(person.role, person.role).lower()
        raise ReviewError(
            f"Conflit d'intérêts : {new_holder.display_name} est {role} de ce dossier "
            "et ne peut pas le traiter."
        )
    _hand_over_claim(session, dossier, expected_holder_id, new_holder_id, now)
    record(
        session,
        "review.claim_reassigned",
        actor=supervisor.email,
        actor_id=supervisor.id,
        dossier=dossier,
        payload={
            "from_id": expected_holder_id,
            "to_id": new_holder_id,
            "until": (now + dt.timedelta(minutes=claim_minutes)).isoformat(),
        },
    )
    return dossier
