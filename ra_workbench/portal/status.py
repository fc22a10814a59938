"""What the portal shows its customer for an order: status, certificates, what to send."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.certificates.register import active_certificate
from ra_workbench.checks.service import customer_requests
from ra_workbench.delivery.service import delivery_summary
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import STATUS_LABELS_FR, DossierStatus
from ra_workbench.extensions import db
from ra_workbench.review.decisions import documents_requested, rejection_reason
from ra_workbench.revocation.service import status_for_portal


def order_status(order_number: str) -> dict[str, Any] | None:
    session = cast(Session, db.session)
    dossier = (
        session.scalars(sa.select(Dossier).where(Dossier.order_number == order_number))
        .unique()
        .one_or_none()
    )
    if dossier is None:
        return None
    generated = 0 if active_certificate(session, dossier.id) is None else 1
    status = DossierStatus(dossier.status)
    result: dict[str, Any] = {
        "order_number": dossier.order_number,
        "revision": dossier.revision,
        "created_at": dossier.submitted_at.isoformat(),
        "status": status.value,
        "status_label": STATUS_LABELS_FR[status],
        "verdict": dossier.verdict,
        "holders": 1,
        "certificates": f"{generated} / {dossier.certificates_ordered}",
        "dematerialised": dossier.dossier_type == "dematerialised",
        "delivery_mode": dossier.delivery_mode,
        "to_provide": _to_provide(dossier),
        "rejection_reason": rejection_reason(session, dossier),
        "delivery": _delivery(dossier),
        # Each certificate's revocation state, and the latest revocation request.
        **status_for_portal(session, dossier),
    }
    return result


def _to_provide(dossier: Dossier) -> list[str]:
    """The French list of what the customer still has to send (from checks and decisions)."""
    # The operator's request comes first, then what the checks still find missing.
    session = cast(Session, db.session)
    items = documents_requested(session, dossier)
    for item in customer_requests(session, dossier):
        if item not in items:
            items.append(item)
    return items


def _delivery(dossier: Dossier) -> dict[str, Any] | None:
    return delivery_summary(cast(Session, db.session), dossier)
