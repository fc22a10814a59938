"""The delivery block of the dossier page: review may not import delivery, so the shell adds
it to the case (`review.casefile.add_case_section`), as it teaches the search what delivery
knows (web/search.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.delivery import service
from ra_workbench.delivery.models import Appointment, AppointmentChange, Handover, Shipment
from ra_workbench.dossiers.models import Dossier
from ra_workbench.review.casefile import CaseSection, add_case_section


@dataclass(frozen=True)
class DeliveryBlock:
    mode: str
    shipment: Shipment | None
    shipment_state: str
    appointments: list[Appointment]
    changes: list[AppointmentChange]
    change_labels: dict[str, str]
    handover: Handover | None


def delivery_section(session: Session, dossier: Dossier) -> CaseSection | None:
    shipment = session.scalar(sa.select(Shipment).where(Shipment.dossier_id == dossier.id))
    appointments = list(
        session.scalars(
            sa.select(Appointment)
            .where(Appointment.dossier_id == dossier.id)
            .order_by(Appointment.booked_at, Appointment.id)
        )
    )
    changes = service.appointment_history(session, dossier.id)
    handover = session.scalar(sa.select(Handover).where(Handover.dossier_id == dossier.id))
    if shipment is None and not appointments and handover is None:
        return None
    block = DeliveryBlock(
        mode=dossier.delivery_mode,
        shipment=shipment,
        shipment_state=service.SHIPMENT_STATE_LABELS_FR.get(shipment.state, shipment.state)
        if shipment
        else "",
        appointments=appointments,
        changes=changes,
        change_labels=service.APPOINTMENT_CHANGE_LABELS_FR,
        handover=handover,
    )
    title = "Envoi" if shipment is not None else "Rendez-vous de remise"
    return CaseSection("delivery-block", title, "review/case/delivery.html", block)


def wire_case_sections(*_: Any) -> None:
    add_case_section(delivery_section)
