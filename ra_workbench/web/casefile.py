"""The delivery and revocation blocks of the dossier page: review may not import later
domains, so the shell adds them to the case (`review.casefile.add_case_section`), as it
teaches the search what delivery knows (web/search.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.delivery import service
from ra_workbench.delivery.models import Appointment, AppointmentChange, Handover, Shipment
from ra_workbench.dossiers.models import Dossier
from ra_workbench.review.casefile import CaseSection, add_case_section
from ra_workbench.revocation import service as revocation
from ra_workbench.revocation.models import RevocationRequest


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


@dataclass(frozen=True)
class RevocationRow:
    request: RevocationRequest
    source: str
    state: str


def revocation_section(session: Session, dossier: Dossier) -> CaseSection | None:
    """The dossier's revocation requests, each linking to its page."""
    rows = [
        RevocationRow(
            request,
            revocation.SOURCE_LABELS_FR.get(request.source, request.source),
            revocation.STATE_LABELS_FR.get(request.state, request.state),
        )
        for request in revocation.requests_for_dossier(session, dossier.id)
    ]
    if not rows:
        return None
    return CaseSection("revocation-block", "Demandes de révocation", "revocation/_case.html", rows)


def wire_case_sections(*_: Any) -> None:
    add_case_section(delivery_section)
    add_case_section(revocation_section)
