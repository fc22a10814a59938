"""The dossier's journey, wired in one table: what follows each transition or event.

Read it top to bottom: a package or a signature arrives → the checks run; a dossier is
approved (directly, or by a supervisor seconding an override) → a certificate is requested;
the certificate is issued → delivery is scheduled → the customer is told how the token will
reach the holder; the token is delivered or handed over → the holder gets the activation
code, and the certificate a renewal replaces is revoked (superseded); documents are
requested → the customer gets the list; a revocation request ends in the certificate's
revocation → the customer and the holder are told. Every hook runs inside the unit of work
that fired it (`ra_workbench.dossiers.lifecycle`), so either all of it is committed or none.

Domains never call a later domain: this shell module is the only place that knows the order.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ra_workbench.certificates.register import active_certificate
from ra_workbench.checks.tasks import request_checks
from ra_workbench.delivery.service import delivery_summary, schedule_delivery
from ra_workbench.dossiers import lifecycle
from ra_workbench.dossiers.lifecycle import Hook, TransitionEvent
from ra_workbench.issuance.service import on_approved, supersede_renewed
from ra_workbench.notify.service import (
    NotifyError,
    notify_activation_code,
    notify_certificate_ready,
    notify_certificate_revoked,
    notify_documents_requested,
    notify_rejected,
)
from ra_workbench.review.decisions import documents_requested, rejection_reason
from ra_workbench.revocation.service import reason_label


def check_new_documents(session: Session, event: TransitionEvent) -> None:
    dossier = event.dossier
    request_checks(session, dossier.id, "ingest", f"checks-{dossier.id}-r{dossier.revision}")


def check_signatures(session: Session, event: TransitionEvent) -> None:
    request_checks(session, event.dossier.id, "signature", None)


def request_certificate(session: Session, event: TransitionEvent) -> None:
    on_approved(session, event.dossier, actor=event.actor, actor_id=event.actor_id)


def prepare_delivery(session: Session, event: TransitionEvent) -> None:
    schedule_delivery(session, event.dossier)


def tell_certificate_ready(session: Session, event: TransitionEvent) -> None:
    summary = delivery_summary(session, event.dossier) or {}
    notify_certificate_ready(session, event.dossier, summary)


def send_activation_code(session: Session, event: TransitionEvent) -> None:
    certificate = active_certificate(session, event.dossier.id)
    if certificate is None:  # delivery refuses to hand over a token without a certificate
        raise NotifyError("aucun certificat pour ce code d'activation")
    notify_activation_code(
        session,
        event.dossier,
        certificate.serial_number,
        actor=event.actor,
        actor_id=event.actor_id,
    )


def supersede_renewed_certificate(session: Session, event: TransitionEvent) -> None:
    supersede_renewed(session, event.dossier.id, actor=event.actor, actor_id=event.actor_id)


def tell_certificate_revoked(session: Session, event: TransitionEvent) -> None:
    notify_certificate_revoked(
        session,
        event.dossier,
        serial_number=event.payload["serial_number"],
        reason_label=reason_label(event.payload["reason"]),
        revoked_at=event.payload["revoked_at"],
    )


def tell_rejected(session: Session, event: TransitionEvent) -> None:
    notify_rejected(session, event.dossier, rejection_reason(session, event.dossier) or "")


def tell_documents_requested(session: Session, event: TransitionEvent) -> None:
    notify_documents_requested(session, event.dossier, documents_requested(session, event.dossier))


JOURNEY: tuple[tuple[str, Hook], ...] = (
    ("received", check_new_documents),
    ("signature_recorded", check_signatures),
    ("approve", request_certificate),
    ("second_approval", request_certificate),
    ("issue_certificate", prepare_delivery),
    ("schedule_delivery", tell_certificate_ready),
    ("hand_over", send_activation_code),
    ("hand_over", supersede_renewed_certificate),
    ("request_documents", tell_documents_requested),
    ("reject", tell_rejected),
    ("certificate_revoked", tell_certificate_revoked),
)


def wire() -> None:
    """Subscribe the journey (idempotent: the app factory calls it for every app)."""
    lifecycle.reset()
    for transition, hook in JOURNEY:
        lifecycle.after(transition, hook)
