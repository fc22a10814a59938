"""A dossier whose certificate has been issued through the flow (the holder, the legal
representative and, when asked, a mandataire declared), and what the portal sends."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.certificates.models import Certificate
from ra_workbench.dossiers.models import Dossier, PersonRole
from ra_workbench.issuance.service import issue_certificate
from tests.factories import make_approved_dossier, make_person


def issued(session: Session, *, mandataire: bool = False) -> tuple[Dossier, Certificate]:
    people = [make_person(PersonRole.HOLDER), make_person(PersonRole.LEGAL_REPRESENTATIVE)]
    if mandataire:
        people.append(
            make_person(
                PersonRole.MANDATAIRE,
                civility="M",
                first_name="LUC",
                last_name="BERTIN",
                email="l.bertin@ateliers-morel.fr",
            )
        )
    dossier = make_approved_dossier(session, people=people)
    assert issue_certificate(session, dossier.id).state == "issued"
    certificate = session.scalars(
        sa.select(Certificate).where(Certificate.dossier_id == dossier.id)
    ).one()
    return dossier, certificate


def portal_request(
    dossier: Dossier, certificate: Certificate, *, role: str = "holder", **overrides: Any
) -> dict[str, Any]:
    """What the portal sends for the dossier's person of `role` (as declared)."""
    person = dossier.person(role)
    assert person is not None
    body: dict[str, Any] = {
        "order_number": dossier.order_number,
        "certificate_serial": certificate.serial_number,
        "requester": {
            "role": role,
            "first_name": person.first_name.title(),
            "last_name": person.last_name.title(),
            "email": person.email.upper(),
        },
        "reason": "affiliationChanged",
        "comment": "Le porteur a quitté la société le 30/11.\nMerci de révoquer.",
    }
    requester = overrides.pop("requester", None)
    if requester:
        body["requester"] = body["requester"] | requester
    return body | overrides
