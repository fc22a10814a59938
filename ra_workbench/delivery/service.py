"""Getting the token to the holder (SDP-6.3.3-09A, SDP-6.4.5-10): every step is logged.

Shipping: a shipment to the holder's declared address with a tracked-mail number, prepared →
shipped → delivered | returned. Pickup: staff phone the holder, mandataire or legal
representative, book a slot (capacity held by a conditional UPDATE, so concurrent bookings
never overfill it) and record the hand-over, to the holder in person only (a hand-over to
anyone else is refused and audited), as an identity check: on the day of the appointment
(or by a supervisor's recorded exception), on the identity document the checks verified
(the number presented must match; another valid document needs a second staff member's
confirmation). The token is prepared at issuance (the key pair born on it, the certificate
written back) and its serial, read from the token, is on the certificate; nothing ships or is
handed over without it.

Services flush and write the audit entry; the request or job commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import secrets
from dataclasses import dataclass
from typing import Any

import icalendar
import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session

from ra_workbench.accounts.models import User
from ra_workbench.audit.service import SYSTEM_ACTOR, record
from ra_workbench.certificates.models import Certificate
from ra_workbench.certificates.register import active_certificate
from ra_workbench.checks.facts import MrzFacts
from ra_workbench.checks.gather import holder_identity
from ra_workbench.clock import PARIS, local_time, today_in_paris
from ra_workbench.db import utcnow
from ra_workbench.delivery.models import (
    Appointment,
    AppointmentChange,
    CallAttempt,
    Handover,
    PickupSlot,
    Shipment,
)
from ra_workbench.documents.extraction_service import extractions_for
from ra_workbench.documents.models import Document
from ra_workbench.dossiers.lifecycle import changed_message, lock, transition
from ra_workbench.dossiers.models import ROLE_LABELS_FR, Dossier, Person, PersonRole
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.issuance.service import REVOCATION_REASONS_FR
from ra_workbench.notify.service import (
    AppointmentNotice,
    notify_appointment_cancelled,
    notify_appointment_confirmed,
    notify_appointment_moved,
    notify_appointment_reminder,
)

PERMISSION_HANDOVER = "delivery:dossier:manage"
TRACKING_PREFIX = "8R"
REMINDER_WINDOW = dt.timedelta(hours=24)

DELIVERY_MODE_LABELS_FR = {"shipping": "En livraison", "pickup": "À retirer en personne"}
SHIPMENT_STATE_LABELS_FR = {
    "prepared": "En préparation",
    "shipped": "Expédié",
    "delivered": "Livré",
    "returned": "Retourné à l'expéditeur",
}
# target state → the states it may be reached from
SHIPMENT_TRANSITIONS = {
    "shipped": frozenset({"prepared", "returned"}),
    "delivered": frozenset({"shipped"}),
    "returned": frozenset({"shipped"}),
}
PICKUP_STATE_LABELS_FR = {
    "to_schedule": "Rendez-vous à fixer",
    "appointment_booked": "Rendez-vous fixé",
    "handed_over": "Remis en main propre",
}
CALL_OUTCOME_LABELS_FR = {
    "reached": "Joint",
    "no_answer": "Pas de réponse",
    "voicemail": "Message laissé",
    "wrong_number": "Numéro erroné",
}
# REQ 12 (SDP-6.3.3-09A): the token goes to the registered holder. The customer guide
# promises « la remise du certificat sur clé USB au porteur en main propre »; the mandataire
# or the legal representative may be the one phoned to fix the appointment, never the one
# who collects the token.
HANDOVER_ROLES = (PersonRole.HOLDER,)
IDENTITY_DOCUMENT_LABELS_FR = {
    "cni": "Carte nationale d'identité",
    "passport": "Passeport",
    "residence_permit": "Titre de séjour",
}


class DeliveryError(Exception):
    """A delivery step refused (message in French, shown to staff)."""


class HandoverRefused(DeliveryError):
    """The token was about to go to someone other than the holder: refused, and the
    attempt written to the audit trail in a unit of work of its own (`record_refused_handover`)."""

    def __init__(self, dossier_id: int, handed_to_role: str) -> None:
        self.dossier_id = dossier_id
        self.handed_to_role = handed_to_role
        label = ROLE_LABELS_FR.get(handed_to_role)
        who = (
            f"Le {label.lower()} ne peut pas la retirer"
            if label
            else "Nul autre ne peut la retirer"
        )
        super().__init__(
            "La clé ne se remet qu'au porteur, en main propre, sur présentation de sa pièce "
            f"d'identité. {who} à sa place : fixez le rendez-vous avec le porteur."
        )


def record_refused_handover(session: Session, exc: HandoverRefused, *, actor: User) -> None:
    """Written in its own unit of work: the refused hand-over itself was rolled back."""
    dossier = session.get(Dossier, exc.dossier_id)
    person = dossier.person(exc.handed_to_role) if dossier is not None else None
    record(
        session,
        "delivery.handover_refused",
        actor=actor.email,
        actor_id=actor.id,
        dossier=dossier,
        dossier_id=exc.dossier_id if dossier is None else None,
        payload={
            "handed_to_role": exc.handed_to_role[:32],
            "person_id": person.id if person is not None else None,
        }
        | getattr(exc, "extra", {}),
    )


def _luhn_key(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            value -= 9 if value > 9 else 0
        total += value
    return str((10 - total % 10) % 10)


def new_tracking_number() -> str:
    """« 8R » + 10 digits + a Luhn key: the shape of a La Poste tracked letter number."""
    digits = "".join(secrets.choice("0123456789") for _ in range(10))
    return f"{TRACKING_PREFIX}{digits}{_luhn_key(digits)}"


def tracking_number_valid(number: str) -> bool:
    body = number[len(TRACKING_PREFIX) :]
    return (
        number.startswith(TRACKING_PREFIX)
        and len(body) == 11
        and body.isdigit()
        and _luhn_key(body[:-1]) == body[-1]
    )


def address_lines(address: dict[str, Any]) -> list[str]:
    city = " ".join(p for p in (address.get("postcode"), address.get("city")) if p)
    country = address.get("country") or "FR"
    lines = [address.get("line1"), address.get("line2"), city]
    if country != "FR":
        lines.append(country)
    return [str(line) for line in lines if line]


def _dossier(session: Session, dossier_id: int) -> Dossier:
    """Every delivery step starts here: the dossier's row lock makes a second, simultaneous
    request for the same dossier wait, then see what the first one did."""
    dossier = lock(session, dossier_id)
    if dossier is None:
        raise DeliveryError("Dossier introuvable.")
    return dossier


def _locked_with_dossier(
    session: Session, model: type[Shipment] | type[Appointment], row_id: int
) -> tuple[Dossier, Any] | None:
    """A shipment or appointment read fresh after its dossier's lock (the order every
    delivery step takes), or None when it does not exist."""
    dossier_id = session.scalar(sa.select(model.dossier_id).where(model.id == row_id))
    if dossier_id is None:
        return None
    dossier = _dossier(session, dossier_id)
    row = session.get(model, row_id, populate_existing=True)
    return (dossier, row) if row is not None else None


def _require_token(session: Session, dossier: Dossier) -> Certificate:
    certificate = active_certificate(session, dossier.id)
    if certificate is None:
        revoked = session.scalar(
            sa.select(Certificate)
            .where(Certificate.dossier_id == dossier.id, Certificate.revoked_at.is_not(None))
            .order_by(Certificate.revoked_at.desc())
            .limit(1)
        )
        if revoked is not None and revoked.revoked_at is not None:
            # Revoked before it left (a lost token, a holder who left): the token is dead.
            reason = REVOCATION_REASONS_FR.get(revoked.revocation_reason or "", "")
            raise DeliveryError(
                f"Le certificat n° {revoked.serial_number} de ce dossier a été révoqué le "
                f"{revoked.revoked_at.astimezone(PARIS):%d/%m/%Y à %H:%M}"
                + (f" ({reason.lower()})" if reason else "")
                + " : le support ne part pas et n'est pas remis."
            )
        raise DeliveryError("Aucun certificat émis pour ce dossier.")
    if not certificate.token_serial:
        # Issuance prepares the token and records the serial read from it: a certificate
        # without one was never written on a token.
        raise DeliveryError(
            "Le support (clé USB) n'a pas été préparé à l'émission : rien ne part sans une clé "
            "qui porte la clé privée et le certificat."
        )
    return certificate


# -- after issuance --------------------------------------------------------------------------


def schedule_delivery(
    session: Session, dossier: Dossier, *, actor: str = SYSTEM_ACTOR, actor_id: int | None = None
) -> dict[str, Any]:
    """Create what the delivery mode needs (a shipment, or a place on the call list) and move
    the dossier to « remise planifiée » (the journey then tells the customer). Returns the
    delivery summary."""
    payload: dict[str, Any] = {"delivery_mode": dossier.delivery_mode}
    if dossier.delivery_mode == "shipping":
        shipment = session.scalar(sa.select(Shipment).where(Shipment.dossier_id == dossier.id))
        if shipment is None:
            holder = dossier.holder
            address = dict(holder.address) if holder is not None and holder.address else {}
            if holder is None or not address.get("line1"):
                # « Expédié à l'adresse du porteur » (guide §8), never the organisation's in
                # its place: delivery.holder_address keeps such a dossier from approval.
                raise DeliveryError(
                    "Adresse postale du porteur absente : la clé USB ne peut pas être "
                    "expédiée (jamais à l'adresse de l'organisme à sa place)."
                )
            shipment = Shipment(
                dossier_id=dossier.id,
                tracking_number=_unused_tracking_number(session),
                address=address,
                recipient=holder.full_name,
                state="prepared",
            )
            session.add(shipment)
            session.flush()
        payload["tracking_number"] = shipment.tracking_number
    transition(
        session, dossier, "schedule_delivery", actor=actor, actor_id=actor_id, payload=payload
    )
    return delivery_summary(session, dossier) or {}


def _unused_tracking_number(session: Session) -> str:
    for _ in range(20):
        number = new_tracking_number()
        taken = session.scalar(sa.select(Shipment.id).where(Shipment.tracking_number == number))
        if taken is None:
            return number
    raise DeliveryError("Impossible de générer un numéro de suivi unique.")


# -- shipping --------------------------------------------------------------------------------


def change_shipment_state(
    session: Session, shipment_id: int, target: str, *, actor: User
) -> Shipment:
    found = _locked_with_dossier(session, Shipment, shipment_id)
    if found is None:
        raise DeliveryError("Envoi introuvable.")
    dossier, shipment = found
    allowed = SHIPMENT_TRANSITIONS.get(target)
    if allowed is None:
        raise DeliveryError(f"État d'envoi inconnu : {target}.")
    if shipment.state not in allowed:
        raise DeliveryError(
            f"Impossible de passer de « {SHIPMENT_STATE_LABELS_FR[shipment.state]} » "
            f"à « {SHIPMENT_STATE_LABELS_FR[target]} »."
        )
    if target == "shipped":
        _require_token(session, dossier)
    now = utcnow()
    previous = shipment.state
    shipment.state = target
    setattr(shipment, f"{target}_at", now)
    record(
        session,
        f"delivery.shipment_{target}",
        actor=actor.email,
        actor_id=actor.id,
        dossier=dossier,
        payload={
            "shipment_id": shipment.id,
            "tracking_number": shipment.tracking_number,
            "from": previous,
            "to": target,
        },
    )
    if target == "delivered":
        transition(
            session,
            dossier,
            "hand_over",
            actor=actor.email,
            actor_id=actor.id,
            payload={"delivery_mode": "shipping", "tracking_number": shipment.tracking_number},
        )
    session.flush()
    return shipment


def shipment_label_pdf(session: Session, shipment: Shipment) -> bytes:
    """An A4 page: the address label (top) and the packing slip (bottom)."""
    from reportlab.graphics.barcode import code128  # noqa: PLC0415 - reportlab is heavy; only rendering a delivery slip needs it
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415 - reportlab, as above
    from reportlab.lib.units import mm  # noqa: PLC0415 - reportlab, as above
    from reportlab.pdfgen import canvas  # noqa: PLC0415 - reportlab, as above

    dossier = _dossier(session, shipment.dossier_id)
    certificate = active_certificate(session, dossier.id)
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setTitle(f"Étiquette {shipment.tracking_number}")
    width, height = A4

    # Label: sender, recipient, tracking barcode.
    pdf.setLineWidth(1)
    pdf.rect(15 * mm, height - 140 * mm, width - 30 * mm, 125 * mm)
    pdf.setFont("Helvetica", 9)
    pdf.drawString(20 * mm, height - 25 * mm, "Expéditeur : CertEurope — Autorité d'enregistrement")
    pdf.drawString(20 * mm, height - 30 * mm, "LETTRE SUIVIE — REMISE CONTRE SIGNATURE")
    pdf.setFont("Helvetica-Bold", 14)
    y = height - 55 * mm
    for line in [shipment.recipient, dossier.organisation.name, *address_lines(shipment.address)]:
        pdf.drawString(90 * mm, y, line)
        y -= 7 * mm
    barcode = code128.Code128(shipment.tracking_number, barHeight=18 * mm, barWidth=0.45 * mm)
    barcode.drawOn(pdf, 20 * mm, height - 130 * mm)
    pdf.setFont("Helvetica-Bold", 12)
    pdf.drawString(20 * mm, height - 136 * mm, f"N° de suivi : {shipment.tracking_number}")

    # Packing slip.
    pdf.setDash(3, 3)
    pdf.line(10 * mm, height - 150 * mm, width - 10 * mm, height - 150 * mm)
    pdf.setDash()
    pdf.setFont("Helvetica-Bold", 14)
    pdf.drawString(20 * mm, height - 165 * mm, "Bordereau d'envoi")
    pdf.setFont("Helvetica", 11)
    rows = [
        ("Commande", dossier.order_number),
        ("Organisme", f"{dossier.organisation.name} (SIREN {dossier.organisation.siren})"),
        ("Porteur", shipment.recipient),
        ("Contenu", "1 clé USB contenant un certificat électronique"),
        ("N° de série du support", (certificate.token_serial if certificate else None) or "—"),
        ("N° de série du certificat", certificate.serial_number if certificate else "—"),
        ("Préparé le", local_time(shipment.prepared_at).strftime("%d/%m/%Y %H:%M")),
        ("N° de suivi", shipment.tracking_number),
    ]
    y = height - 178 * mm
    for label, value in rows:
        pdf.drawString(20 * mm, y, f"{label} :")
        pdf.drawString(75 * mm, y, str(value))
        y -= 7 * mm
    pdf.setFont("Helvetica-Oblique", 9)
    pdf.drawString(
        20 * mm,
        y - 5 * mm,
        "Le code d'activation est adressé séparément au porteur ; il ne figure pas dans ce pli.",
    )
    pdf.showPage()
    pdf.save()
    return out.getvalue()


# -- pickup ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonToCall:
    role: str
    role_label: str
    name: str
    phone: str


@dataclass(frozen=True)
class CallListEntry:
    dossier: Dossier
    people: list[PersonToCall]
    attempts: int
    last_attempt: CallAttempt | None
    appointment: Appointment | None


def people_to_call(dossier: Dossier) -> list[PersonToCall]:
    """Holder, mandataire and legal representative, each once (the holder may also be the
    legal representative), with their mobile numbers."""
    seen: set[tuple[str, str]] = set()
    people: list[PersonToCall] = []
    for role in (PersonRole.HOLDER, PersonRole.MANDATAIRE, PersonRole.LEGAL_REPRESENTATIVE):
        person = dossier.person(role)
        if person is None:
            continue
        key = (person.full_name.upper(), person.mobile)
        if key in seen:
            continue
        seen.add(key)
        people.append(PersonToCall(role, ROLE_LABELS_FR[role], person.full_name, person.mobile))
    return people


def _pending_pickups() -> sa.Select[Any]:
    return (
        sa.select(Dossier)
        .where(
            Dossier.delivery_mode == "pickup",
            Dossier.status == DossierStatus.DELIVERY_SCHEDULED.value,
        )
        .order_by(Dossier.submitted_at)
    )


def call_list(
    session: Session, matching: sa.ColumnElement[bool] | None = None
) -> list[CallListEntry]:
    """The pickups to arrange, oldest first; `matching` narrows them (the list's search)."""
    query = _pending_pickups()
    if matching is not None:
        query = query.where(matching)
    dossiers = list(session.scalars(query).unique())
    ids = [d.id for d in dossiers]
    attempts: dict[int, list[CallAttempt]] = {}
    if ids:
        for attempt in session.scalars(
            sa.select(CallAttempt)
            .where(CallAttempt.dossier_id.in_(ids))
            .order_by(CallAttempt.at, CallAttempt.id)
        ):
            attempts.setdefault(attempt.dossier_id, []).append(attempt)
    appointments = {
        a.dossier_id: a
        for a in session.scalars(
            sa.select(Appointment).where(
                Appointment.dossier_id.in_(ids), Appointment.state == "booked"
            )
        )
    }
    return [
        CallListEntry(
            dossier=d,
            people=people_to_call(d),
            attempts=len(attempts.get(d.id, [])),
            last_attempt=attempts[d.id][-1] if d.id in attempts else None,
            appointment=appointments.get(d.id),
        )
        for d in dossiers
    ]


def call_attempts(session: Session, dossier_id: int) -> list[CallAttempt]:
    return list(
        session.scalars(
            sa.select(CallAttempt)
            .where(CallAttempt.dossier_id == dossier_id)
            .order_by(CallAttempt.at.desc(), CallAttempt.id.desc())
        )
    )


def _pickup_dossier(session: Session, dossier_id: int) -> Dossier:
    dossier = _dossier(session, dossier_id)
    if dossier.delivery_mode != "pickup":
        raise DeliveryError("Ce dossier n'est pas en retrait en personne.")
    if dossier.status == DossierStatus.DELIVERED.value:  # handed over a moment ago
        raise DeliveryError(changed_message(session, dossier, verb="remis"))
    if dossier.status != DossierStatus.DELIVERY_SCHEDULED.value:
        raise DeliveryError("Ce dossier n'attend pas de remise.")
    return dossier


def log_call(
    session: Session,
    dossier_id: int,
    *,
    person_role: str,
    outcome: str,
    note: str = "",
    actor: User,
) -> CallAttempt:
    dossier = _pickup_dossier(session, dossier_id)
    if outcome not in CALL_OUTCOME_LABELS_FR:
        raise DeliveryError("Résultat d'appel inconnu.")
    person = dossier.person(person_role)
    if person is None:
        raise DeliveryError("Cette personne ne figure pas au dossier.")
    attempt = CallAttempt(
        dossier_id=dossier.id,
        person_role=person_role,
        phone=person.mobile,
        outcome=outcome,
        note=note.strip()[:2000],
        actor_id=actor.id,
    )
    session.add(attempt)
    session.flush()
    record(
        session,
        "delivery.call",
        actor=actor.email,
        actor_id=actor.id,
        dossier=dossier,
        payload={"call_id": attempt.id, "person_role": person_role, "outcome": outcome},
    )
    return attempt


def available_slots(session: Session, *, now: dt.datetime | None = None) -> list[PickupSlot]:
    now = now or utcnow()
    return list(
        session.scalars(
            sa.select(PickupSlot)
            .where(PickupSlot.starts_at > now, PickupSlot.booked < PickupSlot.capacity)
            .order_by(PickupSlot.starts_at)
        )
    )


def upcoming_slots(session: Session, *, now: dt.datetime | None = None) -> list[PickupSlot]:
    now = now or utcnow()
    return list(
        session.scalars(
            sa.select(PickupSlot).where(PickupSlot.ends_at > now).order_by(PickupSlot.starts_at)
        )
    )


def current_appointment(session: Session, dossier: Dossier) -> Appointment | None:
    return session.scalar(
        sa.select(Appointment)
        .where(Appointment.dossier_id == dossier.id, Appointment.state.in_(("booked", "done")))
        .order_by(Appointment.id.desc())
        .limit(1)
    )


def _take_place(session: Session, slot_id: int, *, now: dt.datetime) -> PickupSlot:
    """One place in the slot, held by the database itself (`booked < capacity` in the
    UPDATE, so two operators cannot take the last place twice)."""
    taken = session.execute(
        sa.update(PickupSlot)
        .where(
            PickupSlot.id == slot_id,
            PickupSlot.booked < PickupSlot.capacity,
            PickupSlot.starts_at > now,
        )
        .values(booked=PickupSlot.booked + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise DeliveryError("Ce créneau est complet ou déjà passé : choisissez-en un autre.")
    slot = session.get(PickupSlot, slot_id)
    if slot is None:  # the UPDATE above found it: only a concurrent delete gets here
        raise DeliveryError("Créneau introuvable.")
    session.refresh(slot)
    return slot


def _release_place(session: Session, slot_id: int) -> None:
    session.execute(
        sa.update(PickupSlot)
        .where(PickupSlot.id == slot_id, PickupSlot.booked > 0)
        .values(booked=PickupSlot.booked - 1)
        .execution_options(synchronize_session=False)
    )


def _log_change(
    session: Session, appointment: Appointment, kind: str, *, actor: User | None
) -> None:
    slot = appointment.slot
    session.add(
        AppointmentChange(
            appointment_id=appointment.id,
            dossier_id=appointment.dossier_id,
            kind=kind,
            sequence=appointment.sequence,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            location=slot.location,
            actor_id=actor.id if actor is not None else None,
        )
    )
    session.flush()


def _appointment_changed(
    session: Session,
    dossier: Dossier,
    appointment: Appointment,
    kind: str,
    *,
    actor: User,
    **extra: Any,
) -> None:
    """A booking, a move or a cancellation: a line of the appointment's history and its
    audit entry (`delivery.appointment_<kind>`), both naming the slot it now holds."""
    _log_change(session, appointment, kind, actor=actor)
    slot = appointment.slot
    record(
        session,
        f"delivery.appointment_{kind}",
        actor=actor.email,
        actor_id=actor.id,
        dossier=dossier,
        payload={
            "appointment_id": appointment.id,
            "slot_id": slot.id,
            "starts_at": slot.starts_at.isoformat(),
            "location": slot.location,
            "sequence": appointment.sequence,
            **extra,
        },
    )


def book_slot(
    session: Session,
    dossier_id: int,
    slot_id: int,
    *,
    actor: User,
    now: dt.datetime | None = None,
) -> Appointment:
    """Book one place in a slot for the dossier (one booked appointment per dossier) and
    send the invitation (METHOD:REQUEST, SEQUENCE 0)."""
    # Serialise bookings for this dossier (two operators, two slots, same dossier).
    dossier = _pickup_dossier(session, dossier_id)
    existing = session.scalar(
        sa.select(Appointment.id).where(
            Appointment.dossier_id == dossier.id, Appointment.state == "booked"
        )
    )
    if existing is not None:
        raise DeliveryError("Un rendez-vous est déjà fixé pour ce dossier : annulez-le d'abord.")
    slot = _take_place(session, slot_id, now=now or utcnow())
    appointment = Appointment(dossier_id=dossier.id, slot_id=slot_id, booked_by_id=actor.id)
    appointment.slot = slot
    session.add(appointment)
    session.flush()
    _appointment_changed(session, dossier, appointment, "booked", actor=actor)
    notify_appointment_confirmed(session, dossier, appointment_notice(dossier, appointment))
    return appointment


def _booked_appointment(
    session: Session, appointment_id: int, *, verb: str
) -> tuple[Dossier, Appointment]:
    found = _locked_with_dossier(session, Appointment, appointment_id)
    if found is None or found[1].state != "booked":
        raise DeliveryError(f"Aucun rendez-vous à {verb}.")
    dossier, appointment = found
    if dossier.status != DossierStatus.DELIVERY_SCHEDULED.value:
        raise DeliveryError("Ce dossier n'attend plus de remise.")
    return dossier, appointment


def move_appointment(
    session: Session,
    appointment_id: int,
    slot_id: int,
    *,
    actor: User,
    now: dt.datetime | None = None,
) -> Appointment:
    """The same appointment on another slot: the new place is taken before the old one is
    given back, the invitation keeps its UID and its SEQUENCE goes up by one, so that the
    customer's calendar moves the event instead of adding a second one."""
    dossier, appointment = _booked_appointment(session, appointment_id, verb="déplacer")
    if slot_id == appointment.slot_id:
        raise DeliveryError("Le rendez-vous est déjà sur ce créneau.")
    previous = appointment.slot
    slot = _take_place(session, slot_id, now=now or utcnow())
    _release_place(session, previous.id)
    appointment.slot_id = slot.id
    appointment.slot = slot
    appointment.sequence += 1
    session.flush()
    _appointment_changed(
        session,
        dossier,
        appointment,
        "moved",
        actor=actor,
        from_slot_id=previous.id,
        from_starts_at=previous.starts_at.isoformat(),
    )
    notify_appointment_moved(
        session,
        dossier,
        appointment_notice(dossier, appointment),
        previous_starts_at=previous.starts_at,
    )
    return appointment


def appointment_notice(
    dossier: Dossier, appointment: Appointment, *, with_ics: bool = True
) -> AppointmentNotice:
    slot = appointment.slot
    return AppointmentNotice(
        id=appointment.id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        location=slot.location,
        sequence=appointment.sequence,
        ics=appointment_ics(dossier, appointment) if with_ics else b"",
    )


def cancel_appointment(session: Session, appointment_id: int, *, actor: User) -> Appointment:
    """Cancel: the place goes back to the slot, the history keeps the appointment, and the
    customer gets the cancellation (METHOD:CANCEL, same UID, next SEQUENCE)."""
    dossier, appointment = _booked_appointment(session, appointment_id, verb="annuler")
    appointment.state = "cancelled"
    appointment.sequence += 1
    _release_place(session, appointment.slot_id)
    session.flush()
    _appointment_changed(session, dossier, appointment, "cancelled", actor=actor)
    notify_appointment_cancelled(session, dossier, appointment_notice(dossier, appointment))
    return appointment


def appointment_history(session: Session, dossier_id: int) -> list[AppointmentChange]:
    """Every booking, move, cancellation and hand-over of the dossier's appointments, oldest
    first: a cancelled appointment stays on the page."""
    return list(
        session.scalars(
            sa.select(AppointmentChange)
            .where(AppointmentChange.dossier_id == dossier_id)
            .order_by(AppointmentChange.at, AppointmentChange.id)
        )
    )


APPOINTMENT_CHANGE_LABELS_FR = {
    "booked": "Rendez-vous fixé",
    "moved": "Rendez-vous déplacé",
    "cancelled": "Rendez-vous annulé",
    "done": "Rendez-vous honoré (clé remise)",
}
# Who sends the invitations (RFC 5546 requires an ORGANIZER on REQUEST and CANCEL).
ICS_ORGANIZER = ("support@certeurope.fr", "CertEurope - Autorité d'enregistrement")


def appointment_uid(dossier: Dossier, appointment: Appointment) -> str:
    """Stable for the appointment's whole life: moves and the cancellation update the event
    the customer's calendar already holds."""
    return f"appointment-{appointment.id}-{dossier.order_number}@ra-workbench"


def _attendee(person: Person, role: str) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{person.email.strip()}")
    address.params["cn"] = icalendar.vText(person.full_name)
    address.params["role"] = icalendar.vText(role)
    return address


def appointment_ics(
    dossier: Dossier, appointment: Appointment, *, now: dt.datetime | None = None
) -> bytes:
    """The appointment as an iTIP message (RFC 5545/5546), built by `icalendar`: REQUEST
    while it stands (SEQUENCE 0 when booked, +1 per move), CANCEL once cancelled; times in
    UTC."""
    slot = appointment.slot
    holder = dossier.holder
    cancelled = appointment.state == "cancelled"
    description = (
        f"Remise en main propre de la clé USB (certificat électronique) de "
        f"{holder.full_name if holder else ''}, commande n° {dossier.order_number}.\n"
        "Se munir de la pièce d'identité fournie avec la commande."
    )
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//CertEurope//RA Workbench//FR")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = icalendar.Event()
    event.add("uid", appointment_uid(dossier, appointment))
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", (now or utcnow()).astimezone(dt.UTC))
    event.add("dtstart", slot.starts_at.astimezone(dt.UTC))
    event.add("dtend", slot.ends_at.astimezone(dt.UTC))
    event.add("summary", f"Remise du certificat électronique — {dossier.order_number}")
    event.add("location", slot.location)
    event.add("description", description)
    organizer = icalendar.vCalAddress(f"mailto:{ICS_ORGANIZER[0]}")
    organizer.params["cn"] = icalendar.vText(ICS_ORGANIZER[1])
    event.add("organizer", organizer)
    seen: set[str] = set()
    for person, role in ((holder, "REQ-PARTICIPANT"), (dossier.mandataire, "OPT-PARTICIPANT")):
        if person is None or not person.email.strip() or person.email.lower() in seen:
            continue
        seen.add(person.email.lower())
        event.add("attendee", _attendee(person, role))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    return calendar.to_ical()


EXCEPTION_PERMISSION = "delivery:handover:exception"
EXCEPTION_REASON_MIN_LENGTH = 10
# The MRZ document code's first letter(s) → the type the operator sees.
_MRZ_TYPES = (("P", "passport"), ("IR", "residence_permit"), ("AR", "residence_permit"))


def normalised_document_number(number: str) -> str:
    """Upper case, no spaces (« x4rt bpfw4 » is X4RTBPFW4), no MRZ filler."""
    return "".join(number.upper().split()).replace("<", "")


def document_number_sha256(number: str) -> str:
    return hashlib.sha256(normalised_document_number(number).encode()).hexdigest()


def mrz_document_type(mrz: MrzFacts) -> str:
    code = (mrz.document_code or mrz.format or "").upper()
    return next((kind for prefix, kind in _MRZ_TYPES if code.startswith(prefix)), "cni")


@dataclass(frozen=True)
class VerifiedIdentity:
    """The holder's identity document the checks read: its file(s) and its MRZ."""

    document: Document
    mrz: MrzFacts

    @property
    def document_type(self) -> str:
        return mrz_document_type(self.mrz)

    def photo_side(self, dossier: Dossier) -> Document:
        """The file with the holder's photo: the recto when the MRZ was read on the verso
        (the 2021 identity card), else the file the MRZ was read on (a passport page)."""
        if self.document.side != "verso":
            return self.document
        recto = next(
            (
                d
                for d in dossier.current_documents()
                if d.type == self.document.type
                and d.person_role == self.document.person_role
                and d.side == "recto"
            ),
            None,
        )
        return recto or self.document


@dataclass(frozen=True)
class OtherDocument:
    """Another valid identity document than the verified one, declared at the desk."""

    document_type: str
    expiry: dt.date


def verified_identity(session: Session, dossier: Dossier) -> VerifiedIdentity | None:
    """The holder's document as the identity checks chose it (checks/gather.py)."""
    found = holder_identity(
        session,
        dossier,
        extract=lambda s, documents: extractions_for(s, documents, today=today_in_paris()),
    )
    return VerifiedIdentity(*found) if found is not None else None


def appointment_today(
    session: Session, dossier: Dossier, *, now: dt.datetime | None = None
) -> Appointment | None:
    """The dossier's booked appointment if it falls today in Paris, else None."""
    appointment = session.scalar(
        sa.select(Appointment)
        .where(Appointment.dossier_id == dossier.id, Appointment.state == "booked")
        .order_by(Appointment.id.desc())
        .limit(1)
    )
    today = local_time(now or utcnow()).date()
    if appointment is None or local_time(appointment.slot.starts_at).date() != today:
        return None
    return appointment


def handover_need_to_know(dossier: Dossier, user: User) -> str | None:
    """The staff member at the desk compares the holder's face with the photo of the
    verified document: a need to know for the holder's identity copies (REG-6.2.2-22), on
    the day of the appointment only, for a pickup dossier that awaits its hand-over."""
    session = object_session(dossier)
    if (
        session is None
        or not user.can(PERMISSION_HANDOVER)
        or dossier.delivery_mode != "pickup"
        or dossier.status != DossierStatus.DELIVERY_SCHEDULED.value
    ):
        return None
    if appointment_today(session, dossier) is not None:
        return "handover"
    return None


class HandoverBlocked(HandoverRefused):
    """The identity check at the desk failed (the document presented is not the verified
    one, or there is no appointment today): refused and audited, ids and a hash only."""

    def __init__(
        self, dossier_id: int, message: str, *, reason: str, extra: dict[str, Any]
    ) -> None:
        DeliveryError.__init__(self, message)
        self.dossier_id = dossier_id
        self.handed_to_role = PersonRole.HOLDER
        self.extra = {"reason": reason} | extra


def record_handover(
    session: Session,
    dossier_id: int,
    *,
    handed_by: User,
    handed_to_role: str,
    document_number: str,
    other_document: OtherDocument | None = None,
    exception_reason: str | None = None,
    now: dt.datetime | None = None,
) -> Handover:
    """The token is handed over to the holder in person, on the day of the appointment (or
    by a supervisor's recorded exception), on the identity document the checks verified:
    its number must match. Another valid document is recorded (type, expiry) and waits
    for a second staff member's confirmation (`confirm_handover`). Anyone but the holder,
    or a number that matches nothing declared, is refused (`HandoverRefused`, which the
    caller audits). Once recorded, the dossier moves to « remis » and the holder gets the
    activation code."""
    now = now or utcnow()
    dossier = _pickup_dossier(session, dossier_id)
    if handed_to_role not in HANDOVER_ROLES:
        raise HandoverRefused(dossier.id, handed_to_role)
    certificate = _require_token(session, dossier)
    person: Person | None = dossier.person(handed_to_role)
    if person is None:
        raise DeliveryError("Cette personne ne figure pas au dossier.")
    existing = session.scalar(sa.select(Handover).where(Handover.dossier_id == dossier.id))
    if existing is not None:
        raise DeliveryError("Une remise attend déjà la confirmation d'un second agent.")
    number = normalised_document_number(document_number)
    if not number or len(number) > 60:
        raise DeliveryError("Indiquez le numéro de la pièce d'identité présentée.")
    appointment = appointment_today(session, dossier, now=now)
    reason = " ".join((exception_reason or "").split())
    if appointment is None and not reason:
        raise HandoverBlocked(
            dossier.id,
            "Remise impossible : aucun rendez-vous n'est fixé aujourd'hui pour ce dossier. "
            "La clé se remet le jour du rendez-vous, ou par dérogation d'un superviseur "
            "(motif enregistré).",
            reason="no_appointment_today",
            extra={},
        )
    if appointment is None:
        if not handed_by.can(EXCEPTION_PERMISSION):
            raise DeliveryError("Seul un superviseur peut remettre la clé hors rendez-vous.")
        if len(reason) < EXCEPTION_REASON_MIN_LENGTH:
            raise DeliveryError(
                "Indiquez le motif de la dérogation "
                f"(au moins {EXCEPTION_REASON_MIN_LENGTH} caractères)."
            )
    verified = verified_identity(session, dossier)
    digest = document_number_sha256(number)
    matches = verified is not None and (
        normalised_document_number(verified.mrz.document_number) == number
    )
    if matches and verified is not None:
        kind, expiry = verified.document_type, None
    elif other_document is not None:
        kind, expiry = other_document.document_type, other_document.expiry
        if kind not in IDENTITY_DOCUMENT_LABELS_FR:
            raise DeliveryError("Type de pièce d'identité inconnu.")
        if expiry < local_time(now).date():
            raise DeliveryError("La pièce présentée est expirée : elle ne peut pas servir.")
    else:
        raise HandoverBlocked(
            dossier.id,
            "Remise refusée : le numéro de la pièce présentée ne correspond pas à la pièce "
            "d'identité vérifiée du porteur. Vérifiez le numéro ; si le porteur présente une "
            "autre pièce valide, déclarez-la (type, date d'expiration) : un second agent "
            "devra confirmer la remise.",
            reason="document_mismatch",
            extra={
                "person_id": person.id,
                "verified_document_id": verified.document.id if verified else None,
                "document_number_sha256": digest,
            },
        )
    label = IDENTITY_DOCUMENT_LABELS_FR.get(kind, kind)
    handover = Handover(
        dossier_id=dossier.id,
        handed_by_id=handed_by.id,
        handed_to_role=handed_to_role,
        handed_to_name=person.full_name,
        identity_document_shown=f"{label} n° …{number[-4:]}"[:300],
        state="done" if matches else "awaiting_confirmation",
        document_type=kind,
        document_number_last4=number[-4:],
        document_number_sha256=digest,
        verified_document_id=verified.document.id if matches and verified else None,
        other_document_expiry=expiry,
        appointment_id=appointment.id if appointment is not None else None,
        exception_by_id=handed_by.id if appointment is None else None,
        exception_reason=reason[:2000] if appointment is None else None,
        at=now,
    )
    session.add(handover)
    session.flush()
    if appointment is None:
        record(
            session,
            "delivery.handover_exception",
            actor=handed_by.email,
            actor_id=handed_by.id,
            dossier=dossier,
            payload={"handover_id": handover.id, "reason": handover.exception_reason},
        )
    if not matches:
        record(
            session,
            "delivery.handover_awaiting_confirmation",
            actor=handed_by.email,
            actor_id=handed_by.id,
            dossier=dossier,
            payload=_handover_payload(handover, person, certificate),
        )
        return handover
    _complete_handover(session, dossier, handover, person, certificate, actor=handed_by)
    return handover


def confirm_handover(
    session: Session, dossier_id: int, *, confirmed_by: User, now: dt.datetime | None = None
) -> Handover:
    """Four eyes: a second staff member, not the one who took the other document, confirms
    the hand-over; it is then recorded as any other."""
    now = now or utcnow()
    dossier = _pickup_dossier(session, dossier_id)
    handover = session.scalar(
        sa.select(Handover).where(
            Handover.dossier_id == dossier.id, Handover.state == "awaiting_confirmation"
        )
    )
    if handover is None:
        raise DeliveryError("Aucune remise n'attend de confirmation pour ce dossier.")
    if handover.handed_by_id == confirmed_by.id:
        raise DeliveryError(
            "Vous avez enregistré cette remise : un second agent, différent, doit la confirmer."
        )
    if handover.exception_reason is None and appointment_today(session, dossier, now=now) is None:
        raise DeliveryError(
            "Le rendez-vous n'est pas aujourd'hui : la remise ne peut être confirmée."
        )
    certificate = _require_token(session, dossier)
    person = dossier.person(handover.handed_to_role)
    if person is None:
        raise DeliveryError("Cette personne ne figure pas au dossier.")
    handover.state = "done"
    handover.confirmed_by_id = confirmed_by.id
    handover.confirmed_at = now
    session.flush()
    handed_by = session.get(User, handover.handed_by_id)
    _complete_handover(
        session, dossier, handover, person, certificate, actor=handed_by or confirmed_by
    )
    return handover


def _handover_payload(
    handover: Handover, person: Person, certificate: Certificate
) -> dict[str, Any]:
    # The trail is kept for ever: ids and a hash, not the name and document number (whose
    # last 4 characters are on the handover row, as long as the dossier's data is kept).
    return {
        "handover_id": handover.id,
        "handed_to_role": handover.handed_to_role,
        "person_id": person.id,
        "handed_by_id": handover.handed_by_id,
        "confirmed_by_id": handover.confirmed_by_id,
        "identity_document_type": handover.document_type,
        "document_number_sha256": handover.document_number_sha256,
        "verified_document_id": handover.verified_document_id,
        "other_document": handover.verified_document_id is None,
        "appointment_id": handover.appointment_id,
        "exception_by_id": handover.exception_by_id,
        "token_serial": certificate.token_serial,
        "certificate_serial": certificate.serial_number,
    }


def _complete_handover(
    session: Session,
    dossier: Dossier,
    handover: Handover,
    person: Person,
    certificate: Certificate,
    *,
    actor: User,
) -> None:
    if handover.appointment_id is not None:
        appointment = session.get(Appointment, handover.appointment_id)
        if appointment is not None and appointment.state == "booked":
            appointment.state = "done"
            _log_change(session, appointment, "done", actor=actor)
    session.flush()
    record(
        session,
        "delivery.handover",
        actor=actor.email,
        actor_id=actor.id,
        dossier=dossier,
        payload=_handover_payload(handover, person, certificate),
    )
    transition(
        session,
        dossier,
        "hand_over",
        actor=actor.email,
        actor_id=actor.id,
        payload={"delivery_mode": "pickup", "handover_id": handover.id},
    )


def remind_appointments(session: Session, *, now: dt.datetime | None = None) -> int:
    """Reminders for appointments starting within 24 hours (each sent once: dedup keys)."""
    now = now or utcnow()
    appointments = list(
        session.scalars(
            sa.select(Appointment)
            .join(PickupSlot, PickupSlot.id == Appointment.slot_id)
            .where(
                Appointment.state == "booked",
                PickupSlot.starts_at > now,
                PickupSlot.starts_at <= now + REMINDER_WINDOW,
            )
        )
    )
    for appointment in appointments:
        dossier = session.get(Dossier, appointment.dossier_id)
        if dossier is not None:
            notify_appointment_reminder(
                session, dossier, appointment_notice(dossier, appointment, with_ics=False)
            )
    return len(appointments)


# -- for the portal --------------------------------------------------------------------------

_DELIVERY_STATUSES = frozenset(
    {
        DossierStatus.CERTIFICATE_ISSUED.value,
        DossierStatus.DELIVERY_SCHEDULED.value,
        DossierStatus.DELIVERED.value,
    }
)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def delivery_summary(session: Session, dossier: Dossier) -> dict[str, Any] | None:
    """Delivery mode and state, tracking number or appointment; None before issuance."""
    if dossier.status not in _DELIVERY_STATUSES:
        return None
    mode = dossier.delivery_mode
    summary: dict[str, Any] = {"mode": mode, "mode_label": DELIVERY_MODE_LABELS_FR.get(mode, mode)}
    if mode == "shipping":
        shipment = session.scalar(sa.select(Shipment).where(Shipment.dossier_id == dossier.id))
        if shipment is None:
            return summary | {"state": None, "state_label": "En attente d'expédition"}
        return summary | {
            "state": shipment.state,
            "state_label": SHIPMENT_STATE_LABELS_FR[shipment.state],
            "tracking_number": shipment.tracking_number,
            "address_lines": address_lines(shipment.address),
            "shipped_at": _iso(shipment.shipped_at),
            "delivered_at": _iso(shipment.delivered_at),
            "returned_at": _iso(shipment.returned_at),
        }
    appointment = current_appointment(session, dossier)
    if dossier.status == DossierStatus.DELIVERED.value:
        state = "handed_over"
    elif appointment is not None:
        state = "appointment_booked"
    else:
        state = "to_schedule"
    summary |= {"state": state, "state_label": PICKUP_STATE_LABELS_FR[state]}
    if appointment is not None:
        summary["appointment"] = {
            "starts_at": _iso(appointment.slot.starts_at),
            "ends_at": _iso(appointment.slot.ends_at),
            "location": appointment.slot.location,
        }
    return summary
