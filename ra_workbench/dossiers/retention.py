"""Erasing the contact and order data of a dossier that never led to a certificate, once
it was abandoned (REQUIREMENTS 15: collect and keep only what is needed). Which dossiers
are abandoned is decided where certificates are known (issuance/retention.py).

What goes: each person's name, civility, e-mail, mobile and address; the manifest as
received, the delivery information and the payment reference; what the revisions and
signature events carried beyond their ids and dates. What stays: the dossier row with its
order number, status and dates (the audit trail and the decisions point at it), the
organisation as declared (public register data), the GoSign evidence ids.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.db import utcnow
from ra_workbench.dossiers.models import Dossier, DossierRevision, Person, SignatureEvent


def erase_personal_data(session: Session, dossier: Dossier) -> dict[str, int]:
    """Blank the dossier's contact and order data; flushes. Idempotent (erased once)."""
    if dossier.personal_data_erased_at is not None:
        return {}
    people = list(session.scalars(sa.select(Person).where(Person.dossier_id == dossier.id)))
    for person in people:
        person.civility = ""
        person.first_name = ""
        person.last_name = ""
        person.email = ""
        person.mobile = ""
        person.address = {}
    dossier.declared = {}
    dossier.delivery_info = ""
    dossier.payment_transaction_id = None
    revisions = session.execute(
        sa.update(DossierRevision)
        .where(DossierRevision.dossier_id == dossier.id)
        .values(summary={}, package_name="")
        .execution_options(synchronize_session=False)
    )
    signatures = session.execute(
        sa.update(SignatureEvent)
        .where(SignatureEvent.dossier_id == dossier.id)
        .values(payload={})
        .execution_options(synchronize_session=False)
    )
    dossier.personal_data_erased_at = utcnow()
    session.flush()
    return {
        "people": len(people),
        "revisions": int(getattr(revisions, "rowcount", 0) or 0),
        "signature_events": int(getattr(signatures, "rowcount", 0) or 0),
    }
