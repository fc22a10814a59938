"""Factories per domain: build valid objects with sensible defaults, override what matters.

Shared by every test package; add a factory here rather than copying set-up around.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from ra_workbench.accounts.models import User
from ra_workbench.accounts.service import create_user
from ra_workbench.dossiers.models import Dossier, Organisation, Person, PersonRole
from ra_workbench.dossiers.states import DossierStatus

_order_numbers = itertools.count(300001)
_emails = itertools.count(1)

ADDRESS = {
    "line1": "12 RUE DES LILAS",
    "line2": "",
    "postcode": "69003",
    "city": "LYON",
    "country": "FR",
}


def make_person(role: str, **overrides: Any) -> Person:
    defaults: dict[str, Any] = {
        "role": role,
        "civility": "MME",
        "first_name": "CLAIRE",
        "last_name": "DURAND",
        "email": "c.durand@ateliers-morel.fr",
        "mobile": "0698765432",
        "address": dict(ADDRESS),
    }
    if role == PersonRole.LEGAL_REPRESENTATIVE:
        defaults.update(
            civility="M",
            first_name="PAUL",
            last_name="MOREL",
            email="p.morel@ateliers-morel.fr",
            mobile="+33612345678",
        )
    if role == PersonRole.HOLDER:
        defaults["activation_code_channel"] = "sms"
    defaults.update(overrides)
    return Person(**defaults)


def make_dossier(
    session: Session,
    *,
    people: list[Person] | None = None,
    organisation: Organisation | None = None,
    **overrides: Any,
) -> Dossier:
    submitted = dt.datetime(2026, 11, 20, 9, 15, tzinfo=dt.UTC)
    values: dict[str, Any] = {
        "order_number": str(next(_order_numbers)),
        "revision": 1,
        "format": "portail-commande/1",
        "submitted_at": submitted,
        "offer_code": "PP-RGS2-USB",
        "offer_label": "Certificat personne physique sur cle USB",
        "price_ttc": Decimal("228.00"),
        "delivery_mode": "shipping",
        "payment_method": "card",
        "payment_amount_ttc": Decimal("228.00"),
        "payment_transaction_id": "PAY-20261120-0042",
        "documents_valid_attested": True,
        "status": DossierStatus.PENDING.value,
        "declared": {},
    }
    values.update(overrides)
    dossier = Dossier(**values)
    dossier.organisation = organisation or Organisation(
        siren="732829320", name="ATELIERS MOREL", legal_form="SAS", address=dict(ADDRESS)
    )
    dossier.people = people or [
        make_person(PersonRole.HOLDER),
        make_person(PersonRole.LEGAL_REPRESENTATIVE),
    ]
    session.add(dossier)
    session.flush()
    return dossier


def make_user(session: Session, role: str = "operator", **overrides: Any) -> User:
    n = next(_emails)
    values: dict[str, Any] = {
        "email": f"{role}{n}@certeurope.example",
        "password": "correct-horse-battery",
        "role": role,
        "first_name": "Agent",
        "last_name": f"Numero{n}",
    }
    values.update(overrides)
    return create_user(session, **values)
