"""Revocation requests, from their opening to the certificate's revocation or the refusal.

A request comes from the portal (the holder, the legal representative or the mandataire,
with an RFC 5280 reason) or is opened by staff (a ground among STAFF_GROUNDS). Staff review it
like a dossier: claim it (compare-and-set), read the certificate, the dossier and the check of
the requester's link to the organisation, then decide « Révoquer » or « Refuser » with a
reason. A staff-opened request is decided by someone else (four eyes). Key compromise does not
wait: the certificate is revoked when the request arrives, and a second person checks it
afterwards. Every state change is one conditional UPDATE on the request's state; the loser of
a race reads who won. The certificate itself is revoked by issuance's `revoke` (the one path
that revokes: CA backend, register, CRL); what follows (the customer and the holder told) is a
subscription to the dossier event `certificate_revoked` in ra_workbench/journey.py.

Services flush; the request commits.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ra_workbench.accounts.models import User
from ra_workbench.audit.service import record
from ra_workbench.certificates.models import Certificate
from ra_workbench.clock import PARIS
from ra_workbench.db import utcnow
from ra_workbench.dossiers.labels import ROLE_LABELS_FR, PersonRole
from ra_workbench.dossiers.lifecycle import announce
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.people import folded_email, same_name
from ra_workbench.ingest.package import parse_portal_json
from ra_workbench.issuance.service import REVOCATION_REASONS_FR, IssuanceError, revoke
from ra_workbench.review.conflicts import conflicting_person
from ra_workbench.revocation.models import RevocationRequest, RevocationSource, RevocationState

log = logging.getLogger(__name__)

S = RevocationState

STATE_LABELS_FR = {
    S.OPEN: "Ouverte",
    S.AWAITING_SECOND: "En attente de seconde validation",
    S.CLAIMED: "Prise en charge",
    S.REVOKED: "Révoquée",
    S.REFUSED: "Refusée",
}
SOURCE_LABELS_FR = {RevocationSource.PORTAL: "Portail", RevocationSource.STAFF: "Équipe AE"}
REQUESTER_LABELS_FR = {**ROLE_LABELS_FR, "staff": "Équipe AE"}

# What a requester may give as the reason through the portal (RFC 5280 codes; `superseded`
# belongs to the renewal, which revokes by itself).
PORTAL_REASONS = (
    "unspecified",
    "keyCompromise",
    "affiliationChanged",
    "cessationOfOperation",
    "privilegeWithdrawn",
)
# Why staff open a request, and the RFC 5280 code each one revokes with. A lost or stolen
# token is treated as a compromised key: whoever holds it may guess the activation code.
STAFF_GROUNDS: dict[str, tuple[str, str]] = {
    "token_lost": ("Support (clé USB) perdu ou volé", "keyCompromise"),
    "holder_left": ("Le porteur a quitté l'organisation", "affiliationChanged"),
    "information_changed": ("Informations du certificat modifiées", "affiliationChanged"),
    "key_compromise": ("Compromission de la clé", "keyCompromise"),
    "cessation": ("Cessation d'activité de l'organisation", "cessationOfOperation"),
}
# Handled at once, without waiting in the queue.
IMMEDIATE_REASONS = frozenset({"keyCompromise"})
MIN_DECISION_COMMENT = 10
MAX_COMMENT = 2000


class RevocationError(Exception):
    """The request cannot go on as asked (message in French). `code` says why, stably; the
    portal API answers with its status (portal/problems.py)."""

    def __init__(self, message: str, *, code: str = "conflict", request_id: int | None = None):
        super().__init__(message)
        self.code = code
        self.request_id = request_id


# -- the requester's link to the organisation -------------------------------------------------


@dataclass(frozen=True)
class LinkCheck:
    verified: bool
    detail: str  # French: what matched, or what did not


def check_link(
    dossier: Dossier, role: str, first_name: str, last_name: str, email: str
) -> LinkCheck:
    """The requester is the dossier's person of that role: names (folded as the MRZ writes
    them, a surname part and a given-name part shared) and e-mail address (folded) match."""
    label = ROLE_LABELS_FR.get(role, role).lower()
    person = dossier.person(role)
    if person is None and role == PersonRole.LEGAL_REPRESENTATIVE:
        holder = dossier.holder
        person = holder if holder is not None and holder.same_as_legal_representative else None
    if person is None:
        return LinkCheck(False, f"Le dossier ne déclare aucun {label}.")
    mismatches = []
    if not same_name(first_name, last_name, person.first_name, person.last_name):
        mismatches.append(f"les nom et prénom ne sont pas ceux du {label} déclaré")
    if not email.strip() or folded_email(email) != folded_email(person.email):
        mismatches.append(f"l'adresse e-mail n'est pas celle du {label} déclaré")
    if mismatches:
        return LinkCheck(False, "Lien non vérifié : " + " ; ".join(mismatches) + ".")
    return LinkCheck(
        True, f"Lien vérifié : nom, prénom et e-mail du {label} déclaré dans le dossier."
    )


# -- opening ------------------------------------------------------------------------------


def _locked_certificate(session: Session, certificate_id: int) -> Certificate | None:
    """The certificate, locked: two requests for it run one after the other."""
    return session.scalar(
        sa.select(Certificate)
        .where(Certificate.id == certificate_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def undecided_request(session: Session, certificate_id: int) -> RevocationRequest | None:
    return session.scalar(
        sa.select(RevocationRequest).where(
            RevocationRequest.certificate_id == certificate_id,
            RevocationRequest.state.in_(S.UNDECIDED),
        )
    )


def _ensure_revocable(session: Session, certificate: Certificate) -> None:
    if certificate.revoked_at is not None:
        at = certificate.revoked_at.astimezone(PARIS)
        raise RevocationError(
            f"Le certificat n° {certificate.serial_number} est déjà révoqué "
            f"(le {at:%d/%m/%Y à %H:%M}).",
            code="certificate_revoked",
        )
    pending = undecided_request(session, certificate.id)
    if pending is not None:
        raise RevocationError(
            f"Une demande de révocation de ce certificat est déjà en cours (n° {pending.id}, "
            f"« {STATE_LABELS_FR[pending.state]} »).",
            request_id=pending.id,
            code="revocation_open",
        )


def _add(session: Session, request: RevocationRequest) -> RevocationRequest:
    try:
        with session.begin_nested():
            session.add(request)
    except IntegrityError as exc:
        # Two openings at the same instant: uq_revocation_requests_open_certificate keeps one.
        raise RevocationError(
            "Une demande de révocation de ce certificat vient d'être ouverte.",
            code="revocation_open",
        ) from exc
    return request


def _audit(
    session: Session,
    event: str,
    request: RevocationRequest,
    *,
    actor: str,
    actor_id: int | None,
    **payload: Any,
) -> None:
    # The request's id, never the requester's names or e-mail (minimal collection).
    record(
        session,
        event,
        actor=actor,
        actor_id=actor_id,
        dossier_id=request.dossier_id,
        payload={
            "request_id": request.id,
            "certificate_id": request.certificate_id,
            "state": request.state,
        }
        | payload,
    )


SCHEMA_DIR = Path(__file__).with_name("schema")
# The request's fields that may hold newlines (JSON pointers).
MULTILINE = frozenset({"/comment"})


def parse_portal_request(data: bytes) -> dict[str, Any]:
    """The portal's JSON, bounded and valid against schema/revocation.schema.json (the
    comment may hold newlines); PackageRefused with French messages otherwise."""
    return parse_portal_json(
        data,
        what="demande de révocation",
        schema="revocation",
        directory=SCHEMA_DIR,
        multiline=MULTILINE,
    )


def request_from_portal(
    session: Session,
    *,
    order_number: str,
    certificate_serial: str,
    role: str,
    first_name: str,
    last_name: str,
    email: str,
    reason: str,
    comment: str,
    actor: str,
) -> RevocationRequest:
    """A request from the holder, the legal representative or the mandataire, as the portal
    forwards it (already valid against schema/revocation.schema.json)."""
    if role not in PersonRole.ALL:
        raise RevocationError(f"Demandeur inconnu : {role!r}.", code="invalid_content")
    if reason not in PORTAL_REASONS:
        raise RevocationError(
            f"Motif de révocation non admis : {reason!r}.", code="invalid_content"
        )
    dossier = session.scalar(sa.select(Dossier).where(Dossier.order_number == order_number))
    if dossier is None:
        raise RevocationError(f"commande inconnue : {order_number}", code="unknown_order")
    certificate_id = session.scalar(
        sa.select(Certificate.id).where(
            Certificate.dossier_id == dossier.id,
            Certificate.serial_number == certificate_serial.upper(),
        )
    )
    certificate = _locked_certificate(session, certificate_id) if certificate_id else None
    if certificate is None:
        raise RevocationError(
            f"Aucun certificat n° {certificate_serial} pour la commande {order_number}.",
            code="unknown_certificate",
        )
    _ensure_revocable(session, certificate)
    link = check_link(dossier, role, first_name, last_name, email)
    request = _add(
        session,
        RevocationRequest(
            certificate_id=certificate.id,
            dossier_id=dossier.id,
            source=RevocationSource.PORTAL,
            requester_role=role,
            requester_first_name=first_name,
            requester_last_name=last_name,
            requester_email=email,
            reason=reason,
            comment=comment[:MAX_COMMENT],
            state=S.OPEN,
            link_verified=link.verified,
            link_detail=link.detail,
            opened_by=actor,
        ),
    )
    _audit(
        session,
        "revocation.requested",
        request,
        actor=actor,
        actor_id=None,
        source=request.source,
        requester_role=role,
        reason=reason,
        link_verified=link.verified,
    )
    # Key compromise is revoked at once, but only for a requester whose link to the
    # organisation holds: anyone else's claim waits for staff at the top of the queue.
    if reason in IMMEDIATE_REASONS and link.verified:
        _try_at_once(session, request, actor=actor, actor_id=None)
    return request


def open_by_staff(
    session: Session, certificate_id: int, user: User, *, ground: str, comment: str
) -> RevocationRequest:
    """Staff open a request (lost or stolen token, holder left, …): someone else decides
    it; key compromise and a lost token are revoked at once and checked afterwards."""
    if not user.can("revocation:request:open"):
        raise RevocationError("Vous n'avez pas le droit d'ouvrir une demande de révocation.")
    if ground not in STAFF_GROUNDS:
        raise RevocationError("Choisissez le motif de la révocation.")
    if len(comment.strip()) < MIN_DECISION_COMMENT:
        raise RevocationError(
            f"Expliquez la demande (circonstances, qui l'a signalée) : "
            f"{MIN_DECISION_COMMENT} caractères au moins."
        )
    certificate = _locked_certificate(session, certificate_id)
    if certificate is None:
        raise RevocationError("Certificat introuvable.", code="unknown_certificate")
    dossier = session.get(Dossier, certificate.dossier_id)
    if dossier is not None and conflicting_person(dossier, user) is not None:
        raise RevocationError(
            "Conflit d'intérêts : vous êtes l'une des personnes de ce dossier, vous ne "
            "pouvez pas demander la révocation de son certificat."
        )
    _ensure_revocable(session, certificate)
    reason = STAFF_GROUNDS[ground][1]
    request = _add(
        session,
        RevocationRequest(
            certificate_id=certificate.id,
            dossier_id=certificate.dossier_id,
            source=RevocationSource.STAFF,
            requester_role="staff",
            reason=reason,
            ground=ground,
            comment=comment.strip()[:MAX_COMMENT],
            state=S.AWAITING_SECOND,
            link_verified=None,
            link_detail="",
            opened_by=user.email,
            opened_by_id=user.id,
        ),
    )
    _audit(
        session,
        "revocation.requested",
        request,
        actor=user.email,
        actor_id=user.id,
        source=request.source,
        ground=ground,
        reason=reason,
    )
    if reason in IMMEDIATE_REASONS:
        _try_at_once(session, request, actor=user.email, actor_id=user.id)
    return request


def _revoke_certificate(
    session: Session, request: RevocationRequest, *, actor: str, actor_id: int | None
) -> Certificate:
    try:
        certificate = revoke(
            session, request.certificate_id, request.reason, actor, actor_id=actor_id
        )
    except IssuanceError as exc:
        raise RevocationError(str(exc)) from exc
    dossier = session.get(Dossier, request.dossier_id)
    if dossier is not None:
        announce(
            session,
            "certificate_revoked",
            dossier,
            actor=actor,
            actor_id=actor_id,
            payload={
                "request_id": request.id,
                "certificate_id": certificate.id,
                "serial_number": certificate.serial_number,
                "reason": request.reason,
                "revoked_at": certificate.revoked_at,
            },
        )
    return certificate


def _revoke_at_once(
    session: Session, request: RevocationRequest, *, actor: str, actor_id: int | None
) -> None:
    now = utcnow()
    _set_state(
        session,
        request,
        S.UNDECIDED,
        S.REVOKED,
        values={"decided_at": now, "immediate": True},
    )
    _revoke_certificate(session, request, actor=actor, actor_id=actor_id)
    _audit(
        session,
        "revocation.revoked_at_once",
        request,
        actor=actor,
        actor_id=actor_id,
        reason=request.reason,
    )


def _try_at_once(
    session: Session, request: RevocationRequest, *, actor: str, actor_id: int | None
) -> None:
    """Revoke at once; when the CA refuses or does not answer, the request stays recorded,
    undecided and first in the queue, with the CA's answer in the trail: a key compromise
    is never lost to an outage."""
    try:
        with session.begin_nested():
            _revoke_at_once(session, request, actor=actor, actor_id=actor_id)
    except RevocationError as exc:
        session.refresh(request)
        log.warning("immediate revocation of request %s failed", request.id)
        _audit(
            session,
            "revocation.immediate_failed",
            request,
            actor=actor,
            actor_id=actor_id,
            error=str(exc)[:500],
        )


# -- compare-and-set ------------------------------------------------------------------------


def _who(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id else None
    return user.display_name if user is not None else "un autre membre de l'équipe"


def _changed_message(session: Session, request: RevocationRequest) -> str:
    """What the loser of a race reads: who decided, or who holds the request now."""
    if request.state in (S.REVOKED, S.REFUSED):
        at = (request.decided_at or utcnow()).astimezone(PARIS)
        who = (
            "automatiquement"
            if request.decided_by_id is None
            else f"par {_who(session, request.decided_by_id)}"
        )
        return (
            f"Cette demande vient d'être décidée {who} à {at:%H:%M} "
            f"(« {STATE_LABELS_FR[request.state]} ») : rien n'a été modifié."
        )
    if request.state == S.CLAIMED:
        return (
            "Cette demande vient d'être prise en charge par "
            f"{_who(session, request.claimed_by_id)} : la décision lui revient."
        )
    return "Cette demande vient d'être libérée : prenez-la en charge pour décider."


def _set_state(
    session: Session,
    request: RevocationRequest,
    sources: tuple[str, ...],
    target: str,
    *,
    where: tuple[sa.ColumnElement[bool], ...] = (),
    values: dict[str, Any] | None = None,
) -> None:
    """UPDATE revocation_requests SET state = :target WHERE id = :id AND state IN :sources
    (and `where`); refused with the winner's name when no row changed."""
    session.flush()
    now = utcnow()
    changed = session.execute(
        sa.update(RevocationRequest)
        .where(RevocationRequest.id == request.id, RevocationRequest.state.in_(sources), *where)
        .values(state=target, updated_at=now, **(values or {}))
        .execution_options(synchronize_session=False)
    )
    session.refresh(request)
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise RevocationError(_changed_message(session, request))


def get_request(session: Session, request_id: int) -> RevocationRequest:
    request = session.get(RevocationRequest, request_id)
    if request is None:
        raise RevocationError("Demande de révocation introuvable.", code="not_found")
    return request


def _ensure_second_person(request: RevocationRequest, user: User, verb: str) -> None:
    if request.opened_by_id is not None and request.opened_by_id == user.id:
        raise RevocationError(
            f"Vous avez ouvert cette demande : un autre membre de l'équipe doit la {verb} "
            "(double contrôle)."
        )


def claim(
    session: Session,
    request_id: int,
    user: User,
    *,
    claim_minutes: int,
    now: dt.datetime | None = None,
) -> RevocationRequest:
    """Take the request for `claim_minutes`: a free one, one's own, or one whose claim
    expired. Never the one you opened (four eyes), never for your own dossier."""
    now = now or utcnow()
    if not user.can("revocation:request:decide"):
        raise RevocationError("Vous n'avez pas le droit de traiter une demande de révocation.")
    request = get_request(session, request_id)
    _ensure_second_person(request, user, "traiter")
    dossier = session.get(Dossier, request.dossier_id)
    if dossier is not None and conflicting_person(dossier, user) is not None:
        raise RevocationError(
            "Conflit d'intérêts : vous êtes l'une des personnes de ce dossier, vous ne "
            "pouvez pas traiter cette demande."
        )
    if request.state not in S.UNDECIDED:
        raise RevocationError(_changed_message(session, request))
    cutoff = now - dt.timedelta(minutes=claim_minutes)
    _set_state(
        session,
        request,
        S.UNDECIDED,
        S.CLAIMED,
        where=(
            sa.or_(
                RevocationRequest.state != S.CLAIMED,
                RevocationRequest.claimed_by_id == user.id,
                RevocationRequest.claimed_at < cutoff,
            ),
        ),
        values={"claimed_by_id": user.id, "claimed_at": now},
    )
    _audit(
        session,
        "revocation.claimed",
        request,
        actor=user.email,
        actor_id=user.id,
        until=(now + dt.timedelta(minutes=claim_minutes)).isoformat(),
    )
    return request


def release(session: Session, request_id: int, user: User) -> RevocationRequest:
    """The claimant gives the request back (a supervisor may free anyone's)."""
    request = get_request(session, request_id)
    if request.state != S.CLAIMED:
        raise RevocationError("Cette demande n'est prise en charge par personne.")
    mine = request.claimed_by_id == user.id
    if not mine and not user.can("review:claim:release"):
        raise RevocationError("Seul un superviseur peut libérer la demande d'un autre membre.")
    back = S.AWAITING_SECOND if request.source == RevocationSource.STAFF else S.OPEN
    _set_state(
        session,
        request,
        (S.CLAIMED,),
        back,
        where=(RevocationRequest.claimed_by_id == request.claimed_by_id,),
        values={"claimed_by_id": None, "claimed_at": None},
    )
    _audit(session, "revocation.released", request, actor=user.email, actor_id=user.id)
    return request


class Decision:
    REVOKE = "revoke"
    REFUSE = "refuse"


def decide(
    session: Session,
    request_id: int,
    user: User,
    *,
    decision: str,
    comment: str,
    link_confirmed: bool = False,
    claim_minutes: int,
    now: dt.datetime | None = None,
) -> RevocationRequest:
    """« Révoquer » or « Refuser », with the reason, by the member of staff who holds the
    claim (and who did not open the request). A requester whose link to the organisation
    was not verified can still be revoked, but only when the decider states that the link
    was checked another way (say how in the reason)."""
    now = now or utcnow()
    if decision not in (Decision.REVOKE, Decision.REFUSE):
        raise RevocationError("Décision inconnue.")
    request = get_request(session, request_id)
    _ensure_second_person(request, user, "décider")
    if len(comment.strip()) < MIN_DECISION_COMMENT:
        raise RevocationError(f"Motivez la décision : {MIN_DECISION_COMMENT} caractères au moins.")
    if decision == Decision.REVOKE and request.link_verified is False and not link_confirmed:
        raise RevocationError(
            "Le lien du demandeur avec l'organisation n'est pas vérifié : pour révoquer, "
            "confirmez l'avoir vérifié par un autre moyen (et dites lequel dans le motif), "
            "sinon refusez la demande."
        )
    target = S.REVOKED if decision == Decision.REVOKE else S.REFUSED
    cutoff = now - dt.timedelta(minutes=claim_minutes)
    if request.state == S.CLAIMED and request.claimed_by_id != user.id:
        raise RevocationError(_changed_message(session, request))
    if (
        request.state == S.CLAIMED
        and request.claimed_at is not None
        and request.claimed_at < cutoff
    ):
        raise RevocationError(
            "Votre prise en charge de cette demande a expiré : reprenez-la pour décider."
        )
    if request.state in (S.OPEN, S.AWAITING_SECOND):
        raise RevocationError("Prenez la demande en charge pour décider.")
    _set_state(
        session,
        request,
        (S.CLAIMED,),
        target,
        where=(RevocationRequest.claimed_by_id == user.id, RevocationRequest.claimed_at >= cutoff),
        values={
            "decided_by_id": user.id,
            "decided_at": now,
            "decision_comment": comment.strip()[:MAX_COMMENT],
        },
    )
    _audit(
        session,
        "revocation.decided",
        request,
        actor=user.email,
        actor_id=user.id,
        decision=decision,
        reason=request.reason,
        link_verified=request.link_verified,
        link_confirmed_by_staff=bool(link_confirmed and request.link_verified is False),
        four_eyes_opened_by_id=request.opened_by_id,
    )
    if decision == Decision.REVOKE:
        _revoke_certificate(session, request, actor=user.email, actor_id=user.id)
    return request


def check_afterwards(
    session: Session, request_id: int, user: User, *, comment: str
) -> RevocationRequest:
    """A revocation made at once (key compromise) checked by a second person afterwards:
    once, and never by whoever opened it."""
    request = get_request(session, request_id)
    if not request.immediate or request.state != S.REVOKED:
        raise RevocationError("Seule une révocation immédiate se contrôle a posteriori.")
    _ensure_second_person(request, user, "contrôler")
    if len(comment.strip()) < MIN_DECISION_COMMENT:
        raise RevocationError(
            f"Notez ce que vous avez contrôlé : {MIN_DECISION_COMMENT} caractères au moins."
        )
    try:
        _set_state(
            session,
            request,
            (S.REVOKED,),
            S.REVOKED,
            where=(RevocationRequest.after_checked_at.is_(None),),
            values={
                "after_checked_by_id": user.id,
                "after_checked_at": utcnow(),
                "decision_comment": comment.strip()[:MAX_COMMENT],
            },
        )
    except RevocationError as exc:
        raise RevocationError(
            "Cette révocation vient d'être contrôlée par "
            f"{_who(session, request.after_checked_by_id)} : rien n'a été modifié."
        ) from exc
    _audit(session, "revocation.checked_afterwards", request, actor=user.email, actor_id=user.id)
    return request


# -- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    request: RevocationRequest
    order_number: str
    organisation: str
    serial_number: str
    holder: str


def queue(session: Session) -> list[QueueRow]:
    """What waits for staff: undecided requests, key compromise and unverified links first,
    then oldest first; and immediate revocations not yet checked afterwards."""
    rows = session.execute(
        sa.select(RevocationRequest, Dossier, Certificate)
        .join(Dossier, Dossier.id == RevocationRequest.dossier_id)
        .join(Certificate, Certificate.id == RevocationRequest.certificate_id)
        .where(
            sa.or_(
                RevocationRequest.state.in_(S.UNDECIDED),
                sa.and_(
                    RevocationRequest.immediate.is_(True),
                    RevocationRequest.after_checked_at.is_(None),
                ),
            )
        )
        .order_by(
            sa.case((RevocationRequest.reason == "keyCompromise", 0), else_=1),
            RevocationRequest.created_at,
            RevocationRequest.id,
        )
    ).all()
    out = []
    for request, dossier, certificate in rows:
        holder = dossier.holder
        out.append(
            QueueRow(
                request,
                dossier.order_number,
                dossier.organisation.name,
                certificate.serial_number,
                holder.full_name if holder else "",
            )
        )
    return out


def requests_for_dossier(session: Session, dossier_id: int) -> list[RevocationRequest]:
    return list(
        session.scalars(
            sa.select(RevocationRequest)
            .where(RevocationRequest.dossier_id == dossier_id)
            .order_by(RevocationRequest.id)
        )
    )


def reason_label(reason: str | None) -> str:
    return REVOCATION_REASONS_FR.get(reason or "", reason or "")


def status_for_portal(session: Session, dossier: Dossier) -> dict[str, Any]:
    """What the status API reports: each certificate's revocation state, and the latest
    revocation request (open or decided)."""
    certificates = session.scalars(
        sa.select(Certificate).where(Certificate.dossier_id == dossier.id).order_by(Certificate.id)
    )
    latest = session.scalars(
        sa.select(RevocationRequest)
        .where(RevocationRequest.dossier_id == dossier.id)
        .order_by(RevocationRequest.id.desc())
        .limit(1)
    ).first()
    return {
        "certificates_status": [
            {
                "serial_number": c.serial_number,
                "not_after": c.not_after.isoformat(),
                "revoked": c.revoked_at is not None,
                "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None,
                "revocation_reason": c.revocation_reason,
                "revocation_reason_label": reason_label(c.revocation_reason) or None,
            }
            for c in certificates
        ],
        "revocation_request": None if latest is None else request_summary(session, latest),
    }


def request_summary(session: Session, request: RevocationRequest) -> dict[str, Any]:
    certificate = session.get(Certificate, request.certificate_id)
    return {
        "request_id": request.id,
        "certificate_serial": certificate.serial_number if certificate else None,
        "state": request.state,
        "state_label": STATE_LABELS_FR[request.state],
        "open": request.state in S.UNDECIDED,
        "reason": request.reason,
        "reason_label": reason_label(request.reason),
        "requested_at": request.created_at.isoformat(),
        "decided_at": request.decided_at.isoformat() if request.decided_at else None,
        "revoked_at": (
            certificate.revoked_at.isoformat()
            if certificate is not None and certificate.revoked_at and request.state == S.REVOKED
            else None
        ),
    }
