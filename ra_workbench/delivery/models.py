"""Getting the token to the holder: tracked shipment, or a pickup appointment by phone."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ra_workbench.db import Base, CreatedAt, intpk


class Shipment(Base):
    __tablename__ = "shipments"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), unique=True)
    tracking_number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    address: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    recipient: Mapped[str] = mapped_column(sa.String(300))
    state: Mapped[str] = mapped_column(sa.String(16), default="prepared", index=True)
    prepared_at: Mapped[CreatedAt]
    shipped_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    returned_at: Mapped[dt.datetime | None]


class PickupSlot(Base):
    __tablename__ = "pickup_slots"

    id: Mapped[intpk]
    starts_at: Mapped[dt.datetime] = mapped_column(index=True)
    ends_at: Mapped[dt.datetime]
    location: Mapped[str] = mapped_column(sa.String(300))
    capacity: Mapped[int] = mapped_column(default=1)
    booked: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        sa.CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
    )


class Appointment(Base):
    __tablename__ = "appointments"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("pickup_slots.id"), index=True)
    booked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    booked_at: Mapped[CreatedAt]
    state: Mapped[str] = mapped_column(sa.String(16), default="booked")  # booked|cancelled|done
    # The invitation's revision (RFC 5545 SEQUENCE): 0 when booked, +1 at each move and at
    # the cancellation, so that calendars replace the event the customer already has.
    sequence: Mapped[int] = mapped_column(default=0)

    slot: Mapped[PickupSlot] = relationship()


class AppointmentChange(Base):
    """One line of an appointment's history, as the pickup page shows it: booked, moved to
    another slot, cancelled, honoured. The slot's times and place are copied, so that the line
    still says where and when after the slot itself changes."""

    __tablename__ = "appointment_changes"

    id: Mapped[intpk]
    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointments.id"), index=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # booked|moved|cancelled|done
    sequence: Mapped[int]
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    location: Mapped[str] = mapped_column(sa.String(300))
    at: Mapped[CreatedAt]
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class CallAttempt(Base):
    __tablename__ = "call_attempts"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    person_role: Mapped[str] = mapped_column(sa.String(32))
    phone: Mapped[str] = mapped_column(sa.String(40))
    at: Mapped[CreatedAt]
    outcome: Mapped[str] = mapped_column(sa.String(32))  # reached|no_answer|voicemail|wrong_number
    note: Mapped[str] = mapped_column(sa.Text, default="")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class Handover(Base):
    __tablename__ = "handovers"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), unique=True)
    handed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    handed_to_role: Mapped[str] = mapped_column(sa.String(32))
    handed_to_name: Mapped[str] = mapped_column(sa.String(300))
    identity_document_shown: Mapped[str] = mapped_column(sa.String(300))
    at: Mapped[CreatedAt]
    # The identity check at the desk (issue 14): the document presented, by its type, the
    # last 4 characters of its number and the sha256 of the normalised number (never the
    # whole number); the verified document it matched, or the other document's expiry.
    state: Mapped[str] = mapped_column(sa.String(24), default="done")  # done|awaiting_confirmation
    document_type: Mapped[str] = mapped_column(sa.String(32), default="")
    document_number_last4: Mapped[str] = mapped_column(sa.String(4), default="")
    document_number_sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    # No foreign key: the id names the file the checks read, whatever retention does to it.
    verified_document_id: Mapped[int | None]
    other_document_expiry: Mapped[dt.date | None]
    # Four eyes when another document than the verified one was shown.
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    confirmed_at: Mapped[dt.datetime | None]
    appointment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointments.id"))
    # A supervisor's exception to « on the day of the appointment only », with its reason.
    exception_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    exception_reason: Mapped[str | None] = mapped_column(sa.Text)
