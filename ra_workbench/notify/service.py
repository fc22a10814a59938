"""The outbox: every message to a customer is stored first, then sent by a job after commit.

`enqueue_message` renders a French template (templates/notify/<template>.<channel>.txt),
stores the message once per `dedup_key` and defers the sender job; `send_message` hands it to
the e-mail or SMS transport. The other domains call the `notify_*` helpers below, handing
them what they need (an appointment's times and `.ics`, a certificate serial): this module
imports no domain of the journey.

The activation code is never stored: its message is kept with a placeholder and the code is
derived at send time (certificates/activation.py: the token's user PIN, set at issuance), and it
only ever goes to the holder's own contact, never to the mandataire (RGS annex A2).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ra_workbench.audit.service import SYSTEM_ACTOR, record
from ra_workbench.certificates.activation import activation_code_for
from ra_workbench.clock import local_time
from ra_workbench.db import utcnow
from ra_workbench.dossiers.models import Dossier, Person
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.notify.transports import Attachment, mail_transport, sms_provider
from ra_workbench.unit import defer_job

log = logging.getLogger(__name__)

SEND_TASK = "ra_workbench.notify.tasks:send_message"
ACTIVATION_PLACEHOLDER = "[[CODE-ACTIVATION]]"


class Channel:
    EMAIL = "email"
    SMS = "sms"
    ALL = ("email", "sms")


class MessageState:
    QUEUED = "queued"
    SENT = "sent"
    KEPT = "kept"  # no transport configured: kept in the outbox, visible to staff
    FAILED = "failed"
    WITHHELD = "withheld"  # refused before sending (e.g. activation code to a mandataire)


STATE_LABELS_FR = {
    "queued": "En attente d'envoi",
    "sent": "Envoyé",
    "kept": "Conservé (aucun transport configuré)",
    "failed": "Échec",
    "withheld": "Retenu",
}
CHANNEL_LABELS_FR = {"email": "E-mail", "sms": "SMS"}
TEMPLATE_LABELS_FR = {
    "documents_requested": "Pièces demandées",
    "rejected": "Commande refusée",
    "verdict_changed": "Dossier à compléter",
    "certificate_ready": "Certificat prêt",
    "appointment_confirmation": "Confirmation de rendez-vous",
    "appointment_update": "Rendez-vous déplacé",
    "appointment_cancellation": "Rendez-vous annulé",
    "appointment_reminder": "Rappel de rendez-vous",
    "activation_code": "Code d'activation",
    "certificate_revoked": "Certificat révoqué",
}


class NotifyError(Exception):
    """A message cannot be sent as asked (message in French)."""


# -- storing ---------------------------------------------------------------------------------


def render(template: str, channel: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, body) from templates/notify/<template>.<channel>.txt; the template sets
    `subject` with `{% set subject = … %}` for e-mails."""
    if template not in TEMPLATE_LABELS_FR or channel not in Channel.ALL:
        raise NotifyError(f"modèle de message inconnu : {template}.{channel}")
    jinja_template = current_app.jinja_env.get_template(f"notify/{template}.{channel}.txt")
    module = jinja_template.make_module(dict(context))
    body = str(module).strip() + "\n"
    subject = str(getattr(module, "subject", "") or "").strip()
    return subject, body


def enqueue_message(  # noqa: PLR0917 - the positional signature the other domains call
    session: Session,
    dossier: Dossier | None,
    template: str,
    channel: str,
    recipient: str,
    context: Mapping[str, Any],
    dedup_key: str | None,
    *,
    attachments: list[Attachment] | None = None,
    certificate_serial: str | None = None,
) -> OutboxMessage:
    """Store one message (once per dedup_key) and defer its sending to after the commit."""
    if dedup_key is not None:
        existing = session.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.dedup_key == dedup_key)
        )
        if existing is not None:
            return existing
    if not recipient.strip():
        raise NotifyError("destinataire absent")
    subject, body = render(template, channel, context)
    message = OutboxMessage(
        dossier_id=dossier.id if dossier is not None else None,
        channel=channel,
        recipient=recipient.strip(),
        template=template,
        subject=subject,
        body=body,
        state=MessageState.QUEUED,
        dedup_key=dedup_key,
        attachments=[
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "content": base64.b64encode(a.data).decode(),
            }
            for a in attachments or []
        ],
        certificate_serial=certificate_serial,
    )
    try:
        # A concurrent unit that stored the same notification first wins; not an error.
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        existing = session.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.dedup_key == dedup_key)
        )
        if existing is None:
            raise
        return existing
    defer_job(session, SEND_TASK, message.id, job_id=f"notify-{message.id}")
    return message


# -- sending ---------------------------------------------------------------------------------


def _final_body(message: OutboxMessage) -> str:
    if ACTIVATION_PLACEHOLDER not in message.body:
        return message.body
    if not message.certificate_serial:
        raise NotifyError("aucun certificat pour ce code d'activation")
    return message.body.replace(
        ACTIVATION_PLACEHOLDER, activation_code_for(message.certificate_serial)
    )


def _attachments(message: OutboxMessage) -> list[Attachment]:
    return [
        Attachment(item["filename"], item["content_type"], base64.b64decode(item["content"]))
        for item in message.attachments or []
    ]


def send_message(session: Session, message_id: int, *, retry_later: bool = False) -> str:
    """Send one queued message; returns its new state. On a transport error the message
    stays queued when `retry_later` (a job retry will come), else it is marked failed."""
    claimed = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.state == MessageState.QUEUED)
        .values(attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotifyError(f"message {message_id} introuvable")
    session.refresh(message)
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return message.state  # already sent, kept or withheld: nothing to do (idempotent)
    settings = current_app.config["RA_SETTINGS"]
    try:
        body = _final_body(message)
        if message.channel == Channel.EMAIL:
            delivered = mail_transport(settings.smtp_url).send(
                recipient=message.recipient,
                subject=message.subject,
                body=body,
                attachments=_attachments(message),
            )
        else:
            delivered = sms_provider().send(recipient=message.recipient, body=body)
    except Exception as exc:  # any transport failure is recorded, never lost
        message.error = f"{type(exc).__name__}: {exc}"[:2000]
        if not retry_later:
            message.state = MessageState.FAILED
        log.warning("message %s not sent: %s", message.id, type(exc).__name__)
        record(
            session,
            "notify.failed",
            dossier_id=message.dossier_id,
            payload={"message_id": message.id, "error": message.error, "final": not retry_later},
        )
        session.flush()
        return message.state
    message.state = MessageState.SENT if delivered else MessageState.KEPT
    message.sent_at = utcnow() if delivered else None
    message.error = None
    record(
        session,
        "notify.sent" if delivered else "notify.kept",
        dossier_id=message.dossier_id,
        payload={
            "message_id": message.id,
            "template": message.template,
            "channel": message.channel,
        },
    )
    session.flush()
    return message.state


def retry_message(
    session: Session, message_id: int, *, actor: str, actor_id: int | None = None
) -> OutboxMessage:
    """Staff resend a failed message: back to the queue, sender deferred after commit."""
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotifyError("message introuvable")
    if message.state != MessageState.FAILED:
        raise NotifyError("seul un message en échec peut être renvoyé")
    message.state = MessageState.QUEUED
    record(
        session,
        "notify.retry",
        actor=actor,
        actor_id=actor_id,
        dossier_id=message.dossier_id,
        payload={"message_id": message.id},
    )
    defer_job(
        session, SEND_TASK, message.id, job_id=f"notify-{message.id}-retry-{message.attempts}"
    )
    session.flush()
    return message


def queued_message_ids(session: Session, limit: int = 500) -> list[int]:
    return list(
        session.scalars(
            sa.select(OutboxMessage.id)
            .where(OutboxMessage.state == MessageState.QUEUED)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


# -- what the other domains call -------------------------------------------------------------


def _customer_contacts(dossier: Dossier) -> list[Person]:
    """Who follows the order: the mandataire (else the legal representative), and the holder;
    one message per distinct e-mail address."""
    contacts: list[Person] = []
    seen: set[str] = set()
    for person in (dossier.mandataire or dossier.legal_representative, dossier.holder):
        if person is None or not person.email.strip():
            continue
        key = person.email.strip().lower()
        if key not in seen:
            seen.add(key)
            contacts.append(person)
    return contacts


def _base_context(dossier: Dossier, person: Person) -> dict[str, Any]:
    return {
        "order_number": dossier.order_number,
        "organisation": dossier.organisation.name,
        "person": person,
        "holder": dossier.holder,
        "civility": {"M": "Monsieur", "MME": "Madame"}.get(person.civility.upper(), ""),
    }


def notify_documents_requested(session: Session, dossier: Dossier, items: list[str]) -> None:
    """The customer is asked to send documents: the French list, once per revision."""
    digest = hashlib.sha256("\n".join(items).encode()).hexdigest()[:12]
    for person in _customer_contacts(dossier):
        enqueue_message(
            session,
            dossier,
            "documents_requested",
            Channel.EMAIL,
            person.email,
            _base_context(dossier, person) | {"items": items},
            dedup_key=f"documents-requested:{dossier.id}:{dossier.revision}:{person.role}:{digest}",
        )


def notify_rejected(session: Session, dossier: Dossier, reason: str) -> None:
    """The order is refused, for good: every person of the order reads why and what to do."""
    seen: set[str] = set()
    for person in (dossier.holder, dossier.legal_representative, dossier.mandataire):
        if person is None or not person.email.strip() or person.email.strip().lower() in seen:
            continue
        seen.add(person.email.strip().lower())
        enqueue_message(
            session,
            dossier,
            "rejected",
            Channel.EMAIL,
            person.email,
            _base_context(dossier, person) | {"reason": reason},
            dedup_key=f"rejected:{dossier.id}:{person.role}",
        )


def notify_verdict_changed(
    session: Session, dossier: Dossier, items: list[str], *, reason: str
) -> None:
    """A pending dossier became incomplete (e.g. the Kbis aged past 3 months overnight)."""
    digest = hashlib.sha256(("\n".join(items) + reason).encode()).hexdigest()[:12]
    for person in _customer_contacts(dossier):
        enqueue_message(
            session,
            dossier,
            "verdict_changed",
            Channel.EMAIL,
            person.email,
            _base_context(dossier, person) | {"items": items, "reason": reason},
            dedup_key=f"verdict-changed:{dossier.id}:{dossier.revision}:{person.role}:{digest}",
        )


def notify_certificate_ready(
    session: Session, dossier: Dossier, delivery: Mapping[str, Any]
) -> None:
    """The certificate is issued: how the token will reach the holder."""
    for person in _customer_contacts(dossier):
        enqueue_message(
            session,
            dossier,
            "certificate_ready",
            Channel.EMAIL,
            person.email,
            _base_context(dossier, person) | {"delivery": delivery},
            dedup_key=f"certificate-ready:{dossier.id}:{person.role}",
        )


def notify_certificate_revoked(
    session: Session,
    dossier: Dossier,
    *,
    serial_number: str,
    reason_label: str,
    revoked_at: dt.datetime,
) -> None:
    """The certificate is revoked: the customer who follows the order and the holder read
    which one, since when and why, and what to do next."""
    for person in _customer_contacts(dossier):
        enqueue_message(
            session,
            dossier,
            "certificate_revoked",
            Channel.EMAIL,
            person.email,
            _base_context(dossier, person)
            | {
                "serial_number": serial_number,
                "reason_label": reason_label,
                "revoked_at": local_time(revoked_at),
            },
            dedup_key=f"certificate-revoked:{serial_number}:{person.role}",
        )


@dataclass(frozen=True)
class AppointmentNotice:
    """What a message about a pickup appointment says, handed over by the delivery domain."""

    id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    location: str
    sequence: int = 0  # the invitation's revision: one message per revision and person
    ics: bytes = b""


def _appointment_context(
    dossier: Dossier, person: Person, appointment: AppointmentNotice
) -> dict[str, Any]:
    return _base_context(dossier, person) | {
        "starts_at": local_time(appointment.starts_at),
        "ends_at": local_time(appointment.ends_at),
        "location": appointment.location,
    }


def _appointment_people(dossier: Dossier) -> list[Person]:
    # The holder must come in person; the mandataire, when there is one, is kept informed.
    people = [p for p in (dossier.holder, dossier.mandataire) if p is not None]
    seen: set[str] = set()
    out = []
    for person in people:
        key = person.email.strip().lower()
        if key and key not in seen:
            seen.add(key)
            out.append(person)
    return out


def _notify_appointment(
    session: Session,
    dossier: Dossier,
    appointment: AppointmentNotice,
    template: str,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """One e-mail per person and revision of the invitation, its `.ics` attached."""
    attachments = [Attachment("rendez-vous.ics", "text/calendar", appointment.ics)]
    for person in _appointment_people(dossier):
        enqueue_message(
            session,
            dossier,
            template,
            Channel.EMAIL,
            person.email,
            _appointment_context(dossier, person, appointment) | dict(extra or {}),
            dedup_key=f"{template}:{appointment.id}:{appointment.sequence}:{person.role}",
            attachments=attachments if appointment.ics else None,
        )


def notify_appointment_confirmed(
    session: Session, dossier: Dossier, appointment: AppointmentNotice
) -> None:
    _notify_appointment(session, dossier, appointment, "appointment_confirmation")


def notify_appointment_moved(
    session: Session,
    dossier: Dossier,
    appointment: AppointmentNotice,
    *,
    previous_starts_at: dt.datetime,
) -> None:
    _notify_appointment(
        session,
        dossier,
        appointment,
        "appointment_update",
        {"previous_starts_at": local_time(previous_starts_at)},
    )


def notify_appointment_cancelled(
    session: Session, dossier: Dossier, appointment: AppointmentNotice
) -> None:
    _notify_appointment(session, dossier, appointment, "appointment_cancellation")


def notify_appointment_reminder(
    session: Session, dossier: Dossier, appointment: AppointmentNotice
) -> None:
    holder = dossier.holder
    for person in _appointment_people(dossier):
        enqueue_message(
            session,
            dossier,
            "appointment_reminder",
            Channel.EMAIL,
            person.email,
            _appointment_context(dossier, person, appointment),
            dedup_key=f"appointment-reminder:{appointment.id}:{appointment.sequence}:{person.role}",
        )
    if holder is not None and holder.mobile.strip():
        enqueue_message(
            session,
            dossier,
            "appointment_reminder",
            Channel.SMS,
            holder.mobile,
            _appointment_context(dossier, holder, appointment),
            dedup_key=f"appointment-reminder:{appointment.id}:{appointment.sequence}:holder-sms",
        )


def _contact_key(value: str) -> str:
    value = value.strip().lower()
    if "@" in value:
        return value
    digits = "".join(c for c in value if c.isdigit())
    return "0" + digits[2:] if digits.startswith("33") and len(digits) == 11 else digits


def notify_activation_code(
    session: Session,
    dossier: Dossier,
    certificate_serial: str,
    *,
    actor: str = SYSTEM_ACTOR,
    actor_id: int | None = None,
) -> OutboxMessage | None:
    """After hand-over: the activation code, to the holder through the channel they chose.
    Withheld (and audited) when that contact is missing or is also the mandataire's."""
    holder = dossier.holder
    if holder is None:
        raise NotifyError("dossier sans porteur")
    channel = Channel.SMS if holder.activation_code_channel == Channel.SMS else Channel.EMAIL
    recipient = holder.mobile if channel == Channel.SMS else holder.email
    mandataire = dossier.mandataire
    reason = None
    if not recipient.strip():
        reason = "coordonnée du porteur absente"
    elif mandataire is not None and _contact_key(recipient) in {
        _contact_key(mandataire.email),
        _contact_key(mandataire.mobile),
    }:
        reason = "la coordonnée du porteur est celle du mandataire"
    if reason is not None:
        record(
            session,
            "notify.activation_withheld",
            actor=actor,
            actor_id=actor_id,
            dossier=dossier,
            payload={"channel": channel, "reason": reason},
        )
        return None
    return enqueue_message(
        session,
        dossier,
        "activation_code",
        channel,
        recipient,
        _base_context(dossier, holder) | {"activation_code": ACTIVATION_PLACEHOLDER},
        dedup_key=f"activation-code:{dossier.id}",
        certificate_serial=certificate_serial,
    )
