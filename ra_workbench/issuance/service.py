"""From approval to a certificate: the issuance request, the CA call, the dossier's moves.

`on_approved` runs when a dossier becomes APPROVED (subscribed in ra_workbench/journey.py): it
records the request and defers the job. `issue_certificate` (the job's body) is idempotent: it names
the holder from the identity document as read (MRZ, ICAO 9303 transliteration written to the
audit trail when it differs from what was typed), prepares the token at the preparation
station (issuance/token.py: the key pair born on the token, the CSR signed there), asks the
configured CA backend to issue from that CSR, writes the certificate back on the token and
gives the token its activation code as user PIN, stores the certificate with the serial read
from the token, and moves the dossier through `issue_certificate` (delivery follows from the
journey table).
A failed attempt is recorded on the request (attempts, error) and shown in the failed list.

Services flush; the request or job commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ra_workbench.audit.service import SYSTEM_ACTOR, record
from ra_workbench.certificates.activation import activation_code_for
from ra_workbench.certificates.models import Certificate
from ra_workbench.certificates.register import active_certificate
from ra_workbench.checks.service import latest_run, renewed_certificate_id
from ra_workbench.clock import PARIS
from ra_workbench.db import utcnow
from ra_workbench.documents.extraction_service import extraction_for
from ra_workbench.documents.models import Document, DocumentType, Extraction
from ra_workbench.dossiers.lifecycle import lock, transition
from ra_workbench.dossiers.models import Dossier, PersonRole
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.issuance.backends import CABackend, get_backend
from ra_workbench.issuance.ca import CAError, CertificateProfile, IssuedCertificate, SubjectIdentity
from ra_workbench.issuance.config import IssuanceConfig, issuance_config
from ra_workbench.issuance.models import IssuanceRequest
from ra_workbench.issuance.names import (
    CertificateNames,
    certificate_names,
    natural_person_identifier,
)
from ra_workbench.issuance.token import (
    PreparedToken,
    TokenConfig,
    TokenError,
    prepare_token,
    set_activation_code,
    station_token,
    write_certificate,
)
from ra_workbench.review.freshness import (
    changed_explanation,
    coverage_of,
    current_freshness,
    reassess,
    return_to_queue,
)
from ra_workbench.review.models import Decision, DecisionKind
from ra_workbench.unit import defer_job

log = logging.getLogger(__name__)

ISSUE_TASK = "ra_workbench.issuance.tasks:issue_certificate"


class RequestState:
    QUEUED = "queued"  # waiting for the job (or for an automatic retry: last_error is set)
    ISSUED = "issued"
    FAILED = "failed"  # waits for an operator's retry
    # The checks no longer confirm the approval, or it is too old: back to the queue; a new
    # approval queues it again.
    RETURNED = "returned"


REQUEST_STATE_LABELS_FR = {
    "queued": "En attente",
    "issued": "Certificat émis",
    "failed": "Échec",
    "returned": "Renvoyé en validation",
}


class IssuanceError(Exception):
    """Issuance cannot proceed for this dossier (message in French, shown to operators)."""


def _touch(request: IssuanceRequest) -> None:
    request.updated_at = utcnow()


def on_approved(
    session: Session, dossier: Dossier, *, actor: str, actor_id: int | None = None
) -> IssuanceRequest:
    """The dossier was approved: record the issuance request and defer the job."""
    request = session.scalar(
        sa.select(IssuanceRequest).where(IssuanceRequest.dossier_id == dossier.id)
    )
    if request is None:
        request = IssuanceRequest(dossier_id=dossier.id, state=RequestState.QUEUED, attempts=0)
        session.add(request)
    elif request.state == RequestState.ISSUED:
        return request
    request.state = RequestState.QUEUED
    _touch(request)
    session.flush()
    record(
        session,
        "issuance.requested",
        actor=actor,
        actor_id=actor_id,
        dossier=dossier,
        payload={"request_id": request.id},
    )
    defer_job(session, ISSUE_TASK, dossier.id, job_id=f"issue-certificate-{dossier.id}")
    return request


def retry_issuance(
    session: Session, request_id: int, *, actor: str, actor_id: int | None = None
) -> IssuanceRequest:
    """An operator retries a failed issuance (the failed list's button)."""
    request = session.get(IssuanceRequest, request_id)
    if request is None:
        raise IssuanceError("Demande d'émission introuvable.")
    if request.state != RequestState.FAILED:
        raise IssuanceError("Seule une émission en échec peut être relancée.")
    request.state = RequestState.QUEUED
    _touch(request)
    record(
        session,
        "issuance.retry",
        actor=actor,
        actor_id=actor_id,
        dossier_id=request.dossier_id,
        payload={"request_id": request.id, "attempts": request.attempts},
    )
    defer_job(
        session,
        ISSUE_TASK,
        request.dossier_id,
        job_id=f"issue-certificate-{request.dossier_id}-retry-{request.attempts}",
    )
    session.flush()
    return request


# -- the holder's names as read ---------------------------------------------------------------


@dataclass(frozen=True)
class HolderReading:
    document_id: int
    surname: str
    given_names: tuple[str, ...]
    birth_date: dt.date | None
    expiry_date: dt.date | None
    valid: bool
    document_code: str = ""
    issuing_state: str = ""
    document_number: str = ""


def _extraction(session: Session, document: Document, today: dt.date) -> Mapping[str, Any] | None:
    """The document's extraction, through the cache (extracted now if absent); when the
    extractor is unavailable, the latest cached result for the same file."""
    try:
        return extraction_for(session, document, today=today)
    except Exception as exc:  # the extractor may fail or be absent: fall back to the cache
        log.info("extraction of document %s unavailable (%s)", document.id, type(exc).__name__)
    return session.scalar(
        sa.select(Extraction.result)
        .where(Extraction.sha256 == document.sha256, Extraction.kind == DocumentType.IDENTITY)
        .order_by(Extraction.created_at.desc(), Extraction.id.desc())
        .limit(1)
    )


def _date(value: Any) -> dt.date | None:
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def holder_reading(session: Session, dossier: Dossier, *, today: dt.date) -> HolderReading:
    """The MRZ that speaks for the holder: a valid one first, then the earliest document."""
    holder = dossier.holder
    if holder is None:
        raise IssuanceError("Le dossier n'a pas de porteur.")
    roles = {PersonRole.HOLDER}
    if holder.same_as_legal_representative:
        roles.add(PersonRole.LEGAL_REPRESENTATIVE)
    readings: list[HolderReading] = []
    for document in dossier.current_documents():
        if document.type != DocumentType.IDENTITY or document.person_role not in roles:
            continue
        result = _extraction(session, document, today)
        mrz = (result or {}).get("mrz")
        if not isinstance(mrz, Mapping) or not mrz.get("surname"):
            continue
        given = mrz.get("given_names") or []
        readings.append(
            HolderReading(
                document_id=document.id,
                surname=str(mrz["surname"]),
                given_names=tuple(str(g) for g in ([given] if isinstance(given, str) else given)),
                birth_date=_date(mrz.get("birth_date")),
                expiry_date=_date(mrz.get("expiry_date")),
                valid=bool(mrz.get("valid")),
                document_code=str(mrz.get("document_code") or ""),
                issuing_state=str(mrz.get("issuing_state") or ""),
                document_number=str(mrz.get("document_number") or ""),
            )
        )
    if not readings:
        raise IssuanceError(
            "Aucune lecture de la pièce d'identité du porteur : les nom et prénoms du "
            "certificat ne peuvent pas être établis."
        )
    readings.sort(key=lambda r: (not r.valid, r.document_id))
    return readings[0]


# -- issuing ----------------------------------------------------------------------------------


# REQ 11: a DN is never reused for another person. The subject's serialNumber is the
# holder's identity document (EN 319 412-1 5.1.3: « IDCFR-<card number> », « PASFR-<passport
# number> »): two people with the same names in the same organisation have two documents. The
# same person keeps the same value on each of their certificates; the register never gives a
# value already carried by someone else (another surname or birth date as read).


class SubjectSerialTaken(IssuanceError):
    """The identity document's number is already on another person's certificate."""


def subject_serial_for(session: Session, reading: HolderReading) -> str:
    try:
        serial = natural_person_identifier(
            reading.document_code, reading.issuing_state, reading.document_number
        )
    except ValueError as exc:
        raise IssuanceError(str(exc)) from exc
    someone_else = session.scalar(
        sa.select(Certificate.id)
        .where(
            Certificate.subject_serial == serial,
            sa.or_(
                Certificate.holder_surname != reading.surname,
                Certificate.holder_birth_date.is_distinct_from(reading.birth_date),
            ),
        )
        .limit(1)
    )
    if someone_else is not None:
        log.warning("subject serial already given to another person (certificate %s)", someone_else)
        raise SubjectSerialTaken(
            "Le numéro de la pièce d'identité du porteur figure déjà sur le certificat d'une "
            "autre personne : émission arrêtée, rien n'a été demandé à l'AC (un DN n'est "
            "jamais réattribué). Vérifier la pièce d'identité."
        )
    return serial


def _subject(dossier: Dossier, names: CertificateNames, subject_serial: str) -> SubjectIdentity:
    return SubjectIdentity(
        given_name=names.given_name,
        surname=names.surname,
        subject_serial=subject_serial,
        organisation_name=dossier.organisation.name,
        siren="".join(c for c in dossier.organisation.siren if c.isdigit()),
    )


def _issue_on_token(
    backend: CABackend, subject: SubjectIdentity, profile: CertificateProfile
) -> tuple[PreparedToken, IssuedCertificate]:
    """The token at the preparation station makes the key pair and signs the CSR, the CA
    issues from it, the certificate goes back on the token, and the token's user PIN becomes
    the holder's activation code. That code derives from the certificate's serial, known
    only once the CA has issued: the token is prepared under a transient PIN (forgotten here)
    and given the activation code last."""
    station = station_token(TokenConfig.from_env(current_app.config["RA_SETTINGS"].data_dir))
    transient = secrets.token_hex(8)
    prepared = prepare_token(
        station,
        activation_code=transient,
        subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject.common_name)]),
    )
    station = station.of_token(prepared.token_serial)  # the same token to the end
    issued = backend.issue_from_csr(subject, profile, prepared.csr_der)
    _check_answer(issued, prepared.csr_der)
    write_certificate(
        station, activation_code=transient, key_id=prepared.key_id, certificate_pem=issued.pem
    )
    set_activation_code(station, activation_code=activation_code_for(issued.serial_number))
    return prepared, issued


def _check_answer(issued: IssuedCertificate, csr_der: bytes) -> None:
    """What the CA answered is what it says and is for the token's key: the certificate's
    public key is the CSR's, its serial and fingerprint those reported. Otherwise nothing is
    written on the token nor recorded (CAError: a failed attempt)."""
    try:
        certificate = x509.load_pem_x509_certificate(issued.pem.encode())
    except ValueError as exc:
        raise CAError("l'AC a rendu un certificat illisible") from exc
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    token_key = x509.load_der_x509_csr(csr_der).public_key().public_bytes(*spki)
    if certificate.public_key().public_bytes(*spki) != token_key:
        raise CAError(
            f"l'AC a rendu le certificat n° {certificate.serial_number:X} pour une autre clé "
            "que celle du support : il n'est ni écrit sur la clé ni enregistré, et doit être "
            "révoqué auprès de l'AC"
        )
    if (f"{certificate.serial_number:X}", certificate.fingerprint(hashes.SHA256()).hex()) != (
        issued.serial_number,
        issued.fingerprint_sha256,
    ):
        raise CAError("la réponse de l'AC ne correspond pas au certificat rendu")


def _token_failure(exc: TokenError) -> str:
    return (
        f"Préparation du support (clé USB) impossible : {exc}. Brancher un jeton vierge au "
        "poste de préparation (ou vérifier la configuration PKCS#11), puis relancer "
        "l'émission."
    )


def _fail(
    session: Session, request: IssuanceRequest, dossier: Dossier, error: str, *, retry_later: bool
) -> IssuanceRequest:
    request.state = RequestState.QUEUED if retry_later else RequestState.FAILED
    request.last_error = error[:2000]
    _touch(request)
    record(
        session,
        "issuance.failed",
        dossier=dossier,
        payload={
            "request_id": request.id,
            "attempt": request.attempts,
            "error": request.last_error,
            "retry_scheduled": retry_later,
        },
    )
    session.flush()
    return request


def _still_approved(
    session: Session,
    dossier: Dossier,
    *,
    now: dt.datetime,
    today: dt.date,
    config: IssuanceConfig,
) -> str | None:
    """REG-6.3.1-00B: the attributes must still be right when the certificate is issued.
    Re-checks when the approval's basis is old or something arrived since; refuses an
    approval older than `[approval] valid_hours`, and a dossier with no approval decision
    on record. On a stop, the dossier is back in the queue and the French explanation is
    returned."""
    approval = session.scalars(
        sa.select(Decision)
        .where(
            Decision.dossier_id == dossier.id,
            Decision.kind.in_((DecisionKind.APPROVE, DecisionKind.SECOND_APPROVAL)),
        )
        .order_by(Decision.id.desc())
        .limit(1)
    ).first()
    if approval is None:
        # Fail closed: with no decision on record nobody can say who approved the dossier,
        # on which checks, or when (so whether the approval has expired). Only the review
        # service approves; a dossier APPROVED some other way goes back for a decision.
        explanation = (
            "Émission du certificat arrêtée : aucune décision de validation n'est "
            "enregistrée pour ce dossier (ni qui l'a validé, ni sur quels contrôles). Le "
            "dossier revient dans la file de validation pour une décision."
        )
        return_to_queue(
            session,
            dossier,
            step="issuance",
            explanation=explanation,
            actor=SYSTEM_ACTOR,
            rules=[],
        )
        return explanation
    accepted = [approval]
    if approval.seconds_decision_id is not None:
        request = session.get(Decision, approval.seconds_decision_id)
        accepted += [request] if request is not None else []
    fresh = reassess(
        session,
        dossier,
        coverage_of(accepted),
        now=now,
        today=today,
        max_age_hours=current_freshness().recheck_after_hours,
        trigger="issuance",
    )
    rules: list[str] = []
    if not fresh.stands:
        explanation = changed_explanation("Émission du certificat", fresh, today)
        rules = [r.rule for r in fresh.changed]
    elif approval.at < now - dt.timedelta(hours=config.approval_valid_hours):
        at = approval.at.astimezone(PARIS)
        explanation = (
            f"Émission du certificat arrêtée : la validation du {at:%d/%m/%Y à %H:%M} a "
            f"expiré (plus de {config.approval_valid_hours} h). Le dossier revient dans la "
            "file de validation pour une nouvelle décision."
        )
    else:
        return None
    return_to_queue(
        session,
        dossier,
        step="issuance",
        explanation=explanation,
        actor=SYSTEM_ACTOR,
        check_run_id=fresh.run.id,
        rules=rules,
    )
    return explanation


def issue_certificate(
    session: Session,
    dossier_id: int,
    *,
    retry_later: bool = False,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> IssuanceRequest:
    """Issue the dossier's certificate once. A failure is recorded on the request: left
    queued when `retry_later` (an automatic retry is coming), marked failed otherwise."""

    # The dossier first, then its request: the order every writer takes (no deadlock), and
    # a second job for the same dossier waits here, then sees the request issued.
    dossier = lock(session, dossier_id)
    if dossier is None:
        raise IssuanceError(f"dossier {dossier_id} introuvable")
    request = session.scalar(
        sa.select(IssuanceRequest)
        .where(IssuanceRequest.dossier_id == dossier_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if request is None:
        raise IssuanceError(f"aucune demande d'émission pour le dossier {dossier_id}")
    if request.state == RequestState.ISSUED:
        return request
    request.attempts += 1
    if dossier.status != DossierStatus.APPROVED.value:
        return _fail(
            session,
            request,
            dossier,
            f"Le dossier n'est pas à l'état « validé » (état : {dossier.status}).",
            retry_later=False,
        )
    now = now or utcnow()
    today = today or now.date()
    config = issuance_config()
    stopped = _still_approved(session, dossier, now=now, today=today, config=config)
    if stopped is not None:
        request.state = RequestState.RETURNED
        request.last_error = stopped
        _touch(request)
        record(
            session,
            "issuance.returned_to_queue",
            dossier=dossier,
            payload={"request_id": request.id, "attempt": request.attempts},
        )
        session.flush()
        return request
    # What the approval stands on (the run reassessed just now) says whether this order
    # renews a certificate, and which.
    renews = _renewable(session, renewed_certificate_id(latest_run(session, dossier.id)))
    try:
        reading = holder_reading(session, dossier, today=today)
        if reading.expiry_date is not None and reading.expiry_date < today:
            # REG-6.3.1-00B: the attributes must still be right on the day of issuance.
            raise IssuanceError(
                "La pièce d'identité du porteur a expiré depuis la validation "
                f"({reading.expiry_date:%d/%m/%Y}) : demander une nouvelle pièce."
            )
        subject_serial = subject_serial_for(session, reading)
        holder = dossier.holder
        names = certificate_names(
            typed_first_name=holder.first_name if holder else "",
            typed_last_name=holder.last_name if holder else "",
            read_surname=reading.surname,
            read_given_names=reading.given_names,
        )
        backend = get_backend(config.backend)
        prepared, issued = _issue_on_token(
            backend, _subject(dossier, names, subject_serial), config.profile
        )
    except TokenError as exc:
        log.info("token preparation failed for dossier %s", dossier.order_number)
        return _fail(session, request, dossier, _token_failure(exc), retry_later=retry_later)
    except (IssuanceError, CAError, ValueError) as exc:
        return _fail(session, request, dossier, str(exc), retry_later=retry_later)
    except Exception as exc:  # a backend's transport error is a failed attempt, not a crash
        log.exception("CA backend failed for dossier %s", dossier.order_number)
        return _fail(
            session, request, dossier, f"{type(exc).__name__}: {exc}", retry_later=retry_later
        )

    certificate = Certificate(
        dossier_id=dossier.id,
        issuance_request_id=request.id,
        serial_number=issued.serial_number,
        subject_serial=issued.subject_serial,
        subject=issued.subject,
        fingerprint_sha256=issued.fingerprint_sha256,
        not_before=issued.not_before,
        not_after=issued.not_after,
        key_algorithm=issued.key_algorithm,
        pem=issued.pem,
        backend=backend.name,
        token_serial=prepared.token_serial,
        token_prepared_at=utcnow(),
        holder_surname=reading.surname,
        holder_given_names=" ".join(reading.given_names),
        holder_birth_date=reading.birth_date,
        renews_certificate_id=renews.id if renews else None,
    )
    try:
        with session.begin_nested():
            session.add(certificate)
    except IntegrityError:
        # The register refuses it (a subject serial, serial or fingerprint already there, a
        # second valid certificate for the dossier): never recorded, so never delivered.
        # The CA's serial and fingerprint are in the trail for its revocation.
        record(
            session,
            "issuance.certificate_refused_by_register",
            dossier=dossier,
            payload={
                "request_id": request.id,
                "serial_number": issued.serial_number,
                "fingerprint_sha256": issued.fingerprint_sha256,
            },
        )
        return _fail(
            session,
            request,
            dossier,
            f"Le certificat n° {issued.serial_number} rendu par l'AC est refusé par le "
            "registre (numéro de série ou empreinte déjà attribué, ou un autre certificat "
            "valide pour ce dossier) : il n'est ni enregistré ni remis, et doit être "
            "révoqué auprès de l'AC.",
            retry_later=retry_later,
        )
    request.state = RequestState.ISSUED
    request.last_error = None
    _touch(request)
    session.flush()
    if names.differs_from_typed:
        record(
            session,
            "issuance.transliteration",
            dossier=dossier,
            payload={
                "rule": "ICAO 9303 partie 3 (EN 319 412-2 NAT-4.2.4-12)",
                "document_id": reading.document_id,
                "typed": {"given_name": names.typed_given_name, "surname": names.typed_surname},
                "read": {"given_names": list(reading.given_names), "surname": reading.surname},
                "certificate": {"given_name": names.given_name, "surname": names.surname},
            },
        )
    record(
        session,
        "issuance.token_prepared",
        dossier=dossier,
        payload={
            "request_id": request.id,
            "certificate_id": certificate.id,
            "certificate_serial": certificate.serial_number,
            # Read from the token, never typed; the key's CKA_ID only as a digest; the
            # activation code (the user PIN) is nowhere.
            "token_serial": prepared.token_serial,
            "key_id_sha256": hashlib.sha256(prepared.key_id).hexdigest(),
        },
    )
    record(
        session,
        "issuance.certificate_issued",
        dossier=dossier,
        payload={
            "request_id": request.id,
            "certificate_id": certificate.id,
            "serial_number": certificate.serial_number,
            "fingerprint_sha256": certificate.fingerprint_sha256,
            # Names and the subject serial (the identity document's number) stay in the
            # register: the trail names no one (REQUIREMENTS, minimal collection).
            "not_after": certificate.not_after.isoformat(),
            "backend": certificate.backend,
            "attempt": request.attempts,
        }
        | (
            {"renews_certificate_id": renews.id, "renews_serial_number": renews.serial_number}
            if renews
            else {}
        ),
    )
    transition(
        session,
        dossier,
        "issue_certificate",
        actor=SYSTEM_ACTOR,
        payload={"certificate_serial": certificate.serial_number},
    )
    return request


# -- revocation ------------------------------------------------------------------------------

# RFC 5280 CRLReason codes a holder certificate may be revoked with (cryptography's
# ReasonFlags values), and what staff read.
REVOCATION_REASONS_FR = {
    "unspecified": "Non précisé",
    "keyCompromise": "Compromission de la clé",
    "affiliationChanged": "Changement d'affiliation (le porteur a quitté l'organisation)",
    "superseded": "Remplacé par un nouveau certificat",
    "cessationOfOperation": "Cessation d'activité",
    "privilegeWithdrawn": "Privilège retiré",
}
REFRESH_CRL_TASK = "ra_workbench.issuance.tasks:refresh_crl"


def revoke(
    session: Session,
    certificate_id: int,
    reason: str,
    actor: str,
    *,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> Certificate:
    """Revoke one certificate: the CA that issued it revokes it (the configured backend,
    which must be the one named on the certificate), then the register records the time the
    CA gives, audited; the local CA's CRL is signed again after the commit. A CA that
    refuses or does not answer leaves the register untouched (IssuanceError, in French).
    The revocation workflow (requests, review, notices) decides; this carries it out."""
    if reason not in REVOCATION_REASONS_FR:
        raise IssuanceError(f"Motif de révocation inconnu : {reason!r}.")
    certificate = session.scalar(
        sa.select(Certificate)
        .where(Certificate.id == certificate_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if certificate is None:
        raise IssuanceError("Certificat introuvable.")
    if certificate.revoked_at is not None:
        raise IssuanceError(f"Le certificat n° {certificate.serial_number} est déjà révoqué.")
    backend = get_backend()
    if backend.name != certificate.backend:
        raise IssuanceError(
            f"Le certificat n° {certificate.serial_number} a été émis par l'AC « "
            f"{certificate.backend} » ; la configuration désigne l'AC « {backend.name} »."
        )
    try:
        revoked_at = backend.revoke(
            certificate.serial_number, reason, (now or utcnow()).replace(microsecond=0)
        )
    except CAError as exc:
        raise IssuanceError(
            f"L'AC n'a pas révoqué le certificat n° {certificate.serial_number} : {exc}."
        ) from exc
    certificate.revoked_at = revoked_at
    certificate.revocation_reason = reason
    session.flush()
    record(
        session,
        "issuance.certificate_revoked",
        actor=actor,
        actor_id=actor_id,
        dossier_id=certificate.dossier_id,
        payload={
            "certificate_id": certificate.id,
            "serial_number": certificate.serial_number,
            "reason": reason,
            "revoked_at": certificate.revoked_at.isoformat(),
        },
    )
    defer_job(session, REFRESH_CRL_TASK, job_id=f"refresh-crl-revoked-{certificate.id}")
    return certificate


# -- renewal --------------------------------------------------------------------------------


def _renewable(session: Session, certificate_id: int | None) -> Certificate | None:
    """The certificate a renewal replaces, while it is still valid in the register."""
    if certificate_id is None:
        return None
    certificate = session.get(Certificate, certificate_id)
    if certificate is None or certificate.revoked_at is not None:
        return None
    return certificate


def supersede_renewed(
    session: Session,
    dossier_id: int,
    *,
    actor: str,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> Certificate | None:
    """The renewal's certificate reached its holder: the one it renews is revoked with
    reason `superseded` (one certificate per person, guide §4), even if it has expired by
    then: the register says why it ended. Nothing to do when it was revoked meanwhile."""
    new = active_certificate(session, dossier_id)
    if new is None or new.renews_certificate_id is None:
        return None
    previous = session.scalar(
        sa.select(Certificate)
        .where(Certificate.id == new.renews_certificate_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if previous is None or previous.revoked_at is not None:
        return None
    return revoke(session, previous.id, "superseded", actor, actor_id=actor_id, now=now)


# -- for the screens --------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestRow:
    request: IssuanceRequest
    order_number: str
    holder: str


def requests_needing_attention(session: Session) -> list[RequestRow]:
    """Failed requests, and those that failed once and await an automatic retry."""
    rows = session.execute(
        sa.select(IssuanceRequest, Dossier.order_number)
        .join(Dossier, Dossier.id == IssuanceRequest.dossier_id)
        .where(
            sa.or_(
                IssuanceRequest.state == RequestState.FAILED,
                sa.and_(
                    IssuanceRequest.state == RequestState.QUEUED,
                    IssuanceRequest.last_error.is_not(None),
                ),
            )
        )
        .order_by(IssuanceRequest.updated_at.desc())
    ).all()
    out = []
    for request, order_number in rows:
        dossier = session.get(Dossier, request.dossier_id)
        holder = dossier.holder if dossier else None
        out.append(RequestRow(request, order_number, holder.full_name if holder else ""))
    return out


def recent_certificates(session: Session, limit: int = 200) -> list[tuple[Certificate, str]]:
    return [
        (certificate, order_number)
        for certificate, order_number in session.execute(
            sa.select(Certificate, Dossier.order_number)
            .join(Dossier, Dossier.id == Certificate.dossier_id)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
            .limit(limit)
        ).all()
    ]
