"""Ingestion service: the one code path behind the CLI, the API and the inbox."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from ra_workbench.audit.service import record
from ra_workbench.documents.models import Document
from ra_workbench.documents.store import put_blob
from ra_workbench.dossiers.lifecycle import announce, transition
from ra_workbench.dossiers.models import (
    Dossier,
    DossierRevision,
    Organisation,
    Person,
    PersonRole,
    SignatureEvent,
)
from ra_workbench.dossiers.states import VALIDATED_STATUSES, DossierStatus
from ra_workbench.extraction.media import MEDIA_PDF, MediaError, inspect_pdf, sniff_media_type
from ra_workbench.ingest import declared
from ra_workbench.ingest.package import (
    Limits,
    Package,
    PackageFile,
    PackageRefused,
    display_name,
    parse_signature_event,
    valid_order_number,
)
from ra_workbench.unit import unit_of_work

log = logging.getLogger(__name__)


@dataclass
class IngestOutcome:
    path: str
    order_number: str | None
    outcome: str  # created | revised | duplicate | refused | error (batch shells only)
    errors: list[str] = field(default_factory=list)
    dossier_status: str | None = None
    revision: int | None = None
    dossier_id: int | None = None
    refusal_code: str | None = None  # a refusal's stable code (PackageRefused.code)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def package_limits() -> Limits:
    settings = current_app.config["RA_SETTINGS"]
    return Limits(
        max_uncompressed_bytes=settings.max_package_uncompressed_bytes,
        max_entries=settings.max_package_entries,
    )


def ingest(
    read: Callable[[], Package], *, name: str, source: str, actor: str = "portail"
) -> IngestOutcome:
    """Read, validate and apply one package in one unit of work.

    `read` parses and validates the whole package before the database is touched. A refusal
    rolls back everything the package touched (rows and stored files); the refusal itself is
    then written to the audit trail, which is the registration authority's log.
    """
    name = display_name(name)
    try:
        package = read()
        with unit_of_work() as session:
            outcome = apply_package(session, package, source=source, actor=actor)
        outcome.path = name  # as the caller named it (the CLI's argument, not its basename)
        return outcome
    except PackageRefused as exc:
        order_number = valid_order_number(exc.order_number)
        _audit_refusal(name, source, actor, exc.errors, order_number=order_number)
        return IngestOutcome(
            path=name,
            order_number=order_number,
            outcome="refused",
            errors=exc.errors,
            refusal_code=exc.code,
        )


def _audit_refusal(
    name: str,
    source: str,
    actor: str,
    errors: list[str],
    *,
    order_number: str | None = None,
    **details: Any,
) -> None:
    with unit_of_work() as session:
        record(
            session,
            "package.refused",
            actor=actor,
            order_number=order_number,
            payload={"package": name, "source": source, "errors": errors, **details},
        )


INTERNAL_ERROR = (
    "erreur interne : le paquet n'a pas pu être traité et a été mis de côté, sans rien "
    "enregistrer ; l'incident est consigné dans le journal de l'application"
)
INTERNAL_ERROR_EVENT = (
    "erreur interne : l'événement de signature n'a pas pu être traité et a été mis de côté, "
    "sans rien enregistrer ; l'incident est consigné dans le journal de l'application"
)


def log_internal_error(logger: logging.Logger, context: str, exc: BaseException) -> None:
    """An unexpected error, logged by its kind and where it arose: never its message, which
    may quote the names or the content of what was being read."""
    where = "".join(traceback.format_tb(exc.__traceback__))
    logger.error("%s : erreur interne %s\n%s", context, type(exc).__name__, where)


def ingest_or_set_aside(
    read: Callable[[], Package], *, name: str, source: str, actor: str = "portail"
) -> IngestOutcome:
    """`ingest` for the batch shells (CLI, inbox): an unexpected error on one package is
    logged (its kind and where, never the package's names or content), audited when the
    database still answers, and becomes an `error` outcome, so the batch goes on."""
    name = display_name(name)
    try:
        return ingest(read, name=name, source=source, actor=actor)
    except Exception as exc:
        log_internal_error(log, f"ingestion ({source})", exc)
        try:
            _audit_refusal(name, source, actor, [INTERNAL_ERROR], internal_error=type(exc).__name__)
        except Exception as audit_exc:
            kind = type(audit_exc).__name__
            log.error("ingestion : refus non inscrit au journal d'audit (%s)", kind)
        return IngestOutcome(path=name, order_number=None, outcome="error", errors=[INTERNAL_ERROR])


def _find_dossier(session: Session, order_number: str, *, lock: bool) -> Dossier | None:
    query = sa.select(Dossier).where(Dossier.order_number == order_number)
    if lock:
        query = query.with_for_update(of=Dossier)
    return session.scalars(query).unique().one_or_none()


def apply_package(
    session: Session, package: Package, *, source: str, actor: str = "portail"
) -> IngestOutcome:
    existing = _find_dossier(session, package.order_number, lock=True)
    if existing is None:
        dossier = _create_dossier(session, package, source=source, actor=actor)
        outcome = "created"
    else:
        known = {r.revision for r in existing.revisions}
        if package.revision in known or package.revision == existing.revision:
            return IngestOutcome(
                path=package.name,
                order_number=package.order_number,
                outcome="duplicate",
                dossier_status=existing.status,
                revision=existing.revision,
                dossier_id=existing.id,
            )
        if package.revision < existing.revision:
            raise PackageRefused(
                [
                    f"révision {package.revision} antérieure à la révision {existing.revision} "
                    "déjà reçue"
                ],
                package.order_number,
                code="stale_revision",
            )
        if DossierStatus(existing.status) in VALIDATED_STATUSES:
            raise PackageRefused(
                ["dossier déjà validé par CertEurope : les pièces ne peuvent plus être remplacées"],
                package.order_number,
                code="dossier_validated",
            )
        dossier = existing
        _apply_revision(session, dossier, package, source=source, actor=actor)
        outcome = "revised"
    announce(session, "received", dossier, actor=actor, payload={"outcome": outcome})
    return IngestOutcome(
        path=package.name,
        order_number=dossier.order_number,
        outcome=outcome,
        dossier_status=dossier.status,
        revision=dossier.revision,
        dossier_id=dossier.id,
    )


def _decimal(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def _set_person(person: Person, declared: dict[str, Any]) -> None:
    person.civility = str(declared.get("civility") or "")
    person.first_name = str(declared.get("first_name") or "")
    person.last_name = str(declared.get("last_name") or "")
    person.email = str(declared.get("email") or "")
    person.mobile = str(declared.get("mobile") or "")
    person.address = declared.get("address") or {}


def _declared_people(m: dict[str, Any]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Per role: the declared identity and contact, and the role's own fields."""
    holder = m["holder"]
    same = bool(holder.get("same_as_legal_representative"))
    people = {
        PersonRole.HOLDER: (
            m["legal_representative"] if same else holder,
            {
                "same_as_legal_representative": same,
                "activation_code_channel": holder.get("activation_code_channel"),
            },
        ),
        PersonRole.LEGAL_REPRESENTATIVE: (m["legal_representative"], {}),
    }
    if m.get("mandataire"):
        people[PersonRole.MANDATAIRE] = (
            m["mandataire"],
            {"has_valid_mandate": bool(m["mandataire"].get("has_valid_mandate"))},
        )
    return people


def _apply_declared(dossier: Dossier, m: dict[str, Any]) -> None:
    """The order's declared data onto the dossier: at creation and at every re-export (one
    path, so that a correction is applied exactly as the first export was)."""
    org = m["organisation"]
    if dossier.organisation is None:
        dossier.organisation = Organisation()
    dossier.organisation.siren = str(org["siren"])
    dossier.organisation.name = str(org["name"])
    dossier.organisation.legal_form = str(org.get("legal_form") or "")
    dossier.organisation.manual_entry = bool(org.get("manual_entry"))
    dossier.organisation.address = org.get("address") or {}
    payment = m["payment"]
    dossier.format = m["format"]
    dossier.offer_code = str(m["offer"]["code"])
    dossier.offer_label = str(m["offer"].get("label") or "")
    dossier.price_ttc = _decimal(m["offer"].get("price_ttc"))
    dossier.delivery_mode = m["delivery_mode"]
    dossier.dossier_type = m.get("dossier_type", "dematerialised")
    dossier.delivery_info = str(m.get("delivery_info") or "")
    dossier.payment_method = payment["method"]
    dossier.payment_amount_ttc = _decimal(payment.get("amount_ttc"))
    dossier.payment_transaction_id = payment.get("transaction_id") or None
    dossier.documents_valid_attested = bool(m.get("documents_valid_attested"))
    dossier.declared = m
    declared = _declared_people(m)
    by_role = {p.role: p for p in dossier.people}
    for role, (identity, own) in declared.items():
        person = by_role.get(role)
        if person is None:
            person = Person(role=role)
            dossier.people.append(person)
        _set_person(person, identity)
        for name, value in own.items():
            setattr(person, name, value)
    for role, person in by_role.items():
        if role not in declared:  # a mandataire the customer no longer declares
            for document in dossier.documents:
                if document.person_id == person.id:
                    document.person_id = None  # kept, with its role, as superseded
            dossier.people.remove(person)


def _create_dossier(session: Session, package: Package, *, source: str, actor: str) -> Dossier:
    dossier = Dossier(
        order_number=package.order_number,
        revision=package.revision,
        submitted_at=package.submitted_at,
        status=DossierStatus.PENDING.value,
    )
    _apply_declared(dossier, package.manifest)
    session.add(dossier)
    session.flush()
    stored = [_store_document(session, dossier, f, package.revision) for f in package.files]
    session.flush()
    session.add(
        DossierRevision(
            dossier_id=dossier.id,
            revision=package.revision,
            source=source,
            package_name=package.name,
            summary={
                "added": [d.id for d in stored],
                "superseded": [],
                "declared": package.manifest,
            },
        )
    )
    record(
        session,
        "package.ingested",
        actor=actor,
        dossier=dossier,
        payload={
            "package": package.name,
            "source": source,
            "revision": package.revision,
            "documents": [
                {"type": d.type, "person": d.person_role, "side": d.side, "sha256": d.sha256}
                for d in stored
            ],
        },
    )
    return dossier


def _store_document(
    session: Session, dossier: Dossier, file: PackageFile, revision: int
) -> Document:
    media_type = sniff_media_type(file.data)
    page_count: int | None = None
    if media_type == MEDIA_PDF:
        try:
            info = inspect_pdf(file.data, probe_text=False)
            page_count = None if info.encrypted else info.page_count
        except MediaError:
            page_count = None
    elif media_type.startswith("image/"):
        page_count = 1
    digest, _created = put_blob(session, file.data)
    person = dossier.person(file.person) if file.person else None
    document = Document(
        dossier_id=dossier.id,
        person_id=person.id if person else None,
        person_role=file.person,
        type=file.type,
        side=file.side,
        original_name=file.original_name,
        size=len(file.data),
        media_type=media_type,
        sha256=digest,
        page_count=page_count,
        revision=revision,
    )
    session.add(document)
    return document


def _document_key(
    doc_type: str, person: str | None, side: str | None, sha256: str
) -> tuple[Any, ...]:
    return (doc_type, person, side, sha256)


def _apply_revision(
    session: Session, dossier: Dossier, package: Package, *, source: str, actor: str
) -> None:
    """A re-export replaces the declared data and the documents: what is no longer there is
    superseded (kept); what the customer changed is recorded field by field, and the changes
    an operator must look at are flagged for the checks."""
    now = dt.datetime.now(dt.UTC)
    current = dossier.current_documents()
    changed = declared.changes(dossier.declared or {}, package.manifest)
    flagged = declared.sensitive(
        changed,
        documents_requested=dossier.status == DossierStatus.DOCUMENTS_REQUESTED.value,
        mandate_on_file=any(d.type == "mandate" for d in current)
        or any(p.has_valid_mandate for p in dossier.people),
    )
    _apply_declared(dossier, package.manifest)
    session.flush()  # a newly declared mandataire has an id for its documents
    incoming = {
        _document_key(f.type, f.person, f.side, hashlib.sha256(f.data).hexdigest()): f
        for f in package.files
    }
    kept_keys = set()
    superseded: list[int] = []
    for doc in current:
        key = _document_key(doc.type, doc.person_role, doc.side, doc.sha256)
        if key in incoming:
            kept_keys.add(key)
        else:
            doc.superseded = True
            doc.superseded_at = now
            superseded.append(doc.id)
    added = [
        _store_document(session, dossier, f, package.revision)
        for key, f in incoming.items()
        if key not in kept_keys
    ]
    session.flush()
    dossier.revision = package.revision
    dossier.updated_at = now
    session.add(
        DossierRevision(
            dossier_id=dossier.id,
            revision=package.revision,
            source=source,
            package_name=package.name,
            summary={
                "added": [d.id for d in added],
                "superseded": superseded,
                "changes": [c.to_json() for c in changed],
                "sensitive": flagged,
                "declared": package.manifest,
            },
        )
    )
    transition(
        session,
        dossier,
        "receive_revision",
        actor=actor,
        # The fields' names, not their values: the trail names no one (REQUIREMENTS 15).
        payload={
            "revision": package.revision,
            "added": len(added),
            "superseded": len(superseded),
            "changed_fields": [c.key for c in changed],
            "sensitive_fields": flagged,
        },
    )
    # A new revision invalidates any claim: the operator must look at the new documents.
    dossier.claimed_by_id = None
    dossier.claimed_at = None


# -- signature events ------------------------------------------------------------------------


@dataclass
class SignatureOutcome:
    order_number: str | None
    outcome: str  # recorded | superseded | refused | error (batch shell only)
    errors: list[str] = field(default_factory=list)
    signer: str | None = None
    refusal_code: str | None = None  # a refusal's stable code (PackageRefused.code)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def ingest_signature(data: bytes, *, source: str, actor: str = "portail") -> SignatureOutcome:
    try:
        with unit_of_work() as session:
            return apply_signature_event(session, parse_signature_event(data), actor=actor)
    except PackageRefused as exc:
        return SignatureOutcome(
            order_number=exc.order_number,
            outcome="refused",
            errors=exc.errors,
            refusal_code=exc.code,
        )


def ingest_signature_or_set_aside(
    read: Callable[[], bytes], *, source: str, actor: str = "portail"
) -> SignatureOutcome:
    """`ingest_signature` for the batch shell (the CLI), as `ingest_or_set_aside` is for
    packages: an unexpected error on one event, its file unreadable included, is logged (its
    kind and where, never the event's content) and becomes an `error` outcome, so the batch
    goes on."""
    try:
        return ingest_signature(read(), source=source, actor=actor)
    except Exception as exc:
        log_internal_error(log, f"signature ({source})", exc)
        return SignatureOutcome(order_number=None, outcome="error", errors=[INTERNAL_ERROR_EVENT])


def apply_signature_event(
    session: Session, event: dict[str, Any], *, actor: str
) -> SignatureOutcome:
    dossier = _find_dossier(session, event["order_number"], lock=True)
    if dossier is None:
        raise PackageRefused(
            [f"commande inconnue : {event['order_number']}"],
            event["order_number"],
            code="unknown_order",
        )
    at: dt.datetime = event.pop("at_parsed")
    latest = session.scalars(
        sa.select(SignatureEvent)
        .where(SignatureEvent.dossier_id == dossier.id, SignatureEvent.signer == event["signer"])
        .order_by(SignatureEvent.at.desc())
        .limit(1)
    ).first()
    session.add(
        SignatureEvent(
            dossier_id=dossier.id,
            signer=event["signer"],
            status=event["status"],
            identity_verification=event["identity_verification"],
            evidence_id=event["evidence_id"],
            at=at,
            payload=event,
        )
    )
    stands = latest is None or at > latest.at
    record(
        session,
        "signature.received",
        actor=actor,
        dossier=dossier,
        payload={
            "signer": event["signer"],
            "status": event["status"],
            "identity_verification": event["identity_verification"],
            "evidence_id": event["evidence_id"],
            "at": at.isoformat(),
            "stands": stands,
        },
    )
    if stands:
        announce(session, "signature_recorded", dossier, actor=actor)
    return SignatureOutcome(
        order_number=dossier.order_number,
        outcome="recorded" if stands else "superseded",
        signer=event["signer"],
    )


def latest_signatures(dossier: Dossier) -> dict[str, SignatureEvent]:
    """Per signer, the event with the latest `at` (events arrive repeated and out of order)."""
    latest: dict[str, SignatureEvent] = {}
    for event in dossier.signature_events:
        if event.signer not in latest or event.at > latest[event.signer].at:
            latest[event.signer] = event
    return latest
