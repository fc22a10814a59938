"""Hand-built facts for the rules' unit tests: a clean dossier, and pieces to break it.

`clean_facts()` is the dossier every rule passes on (except signatures, which default to
signed). Tests change one thing with `dataclasses.replace` or the helpers below.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from ra_workbench.checks.facts import (
    DocumentFacts,
    DossierFacts,
    KbisFacts,
    ManagerFacts,
    MandateFacts,
    MrzFacts,
    OrderFacts,
    OrganisationFacts,
    PersonFacts,
    SignatureFacts,
)
from ra_workbench.checks.rules import Rules, load_rules
from tests.extraction.mandates import mandate_facts, signed_mandate

REPO_RULES = Path(__file__).resolve().parents[2] / "rules"
TODAY = dt.date(2026, 11, 20)
_ids = itertools.count(1)


def repo_rules() -> Rules:
    return load_rules(REPO_RULES)


def mrz(**overrides: Any) -> MrzFacts:
    values: dict[str, Any] = {
        "format": "TD1",
        "document_code": "ID",
        "issuing_state": "FRA",
        "document_number": "X4RTBPFW4",
        "surname": "DURAND",
        "given_names": ("CLAIRE", "MARIE"),
        "nationality": "FRA",
        "birth_date": dt.date(1985, 4, 12),
        "sex": "F",
        "expiry_date": dt.date(2031, 3, 1),
        "expiry_derived": False,
        "valid": True,
        "failed_checks": (),
    }
    values.update(overrides)
    return MrzFacts(**values)


def document(doc_type: str, **overrides: Any) -> DocumentFacts:
    values: dict[str, Any] = {
        "id": next(_ids),
        "type": doc_type,
        "person_role": None,
        "side": None,
        "original_name": f"{doc_type}.pdf",
        "size": 180_000,
        "media_type": "application/pdf",
        "page_count": 1,
    }
    values.update(overrides)
    return DocumentFacts(**values)


def identity_pair(
    role: str, name: str, the_mrz: MrzFacts | None, *, mrz_side: str = "verso"
) -> tuple[DocumentFacts, DocumentFacts]:
    def side(which: str) -> DocumentFacts:
        return document(
            "identity",
            person_role=role,
            side=which,
            original_name=f"cni-{name}-{which}.jpg",
            media_type="image/jpeg",
            size=400_000,
            mrz=the_mrz if which == mrz_side else None,
        )

    return side("recto"), side("verso")


def kbis(**overrides: Any) -> KbisFacts:
    values: dict[str, Any] = {
        "kind": "kbis",
        "date": TODAY - dt.timedelta(days=20),
        "siren": "732829320",
        "name": "ATELIERS MOREL",
        "legal_form": "SAS",
        "managers": (ManagerFacts(role="Président", surname="MOREL", given_names=("PAUL",)),),
    }
    values.update(overrides)
    return KbisFacts(**values)


def person(role: str, **overrides: Any) -> PersonFacts:
    values: dict[str, Any] = {
        "holder": {
            "civility": "MME",
            "first_name": "CLAIRE",
            "last_name": "DURAND",
            "email": "c.durand@ateliers-morel.fr",
            "mobile": "0698765432",
        },
        "legal_representative": {
            "civility": "M",
            "first_name": "PAUL",
            "last_name": "MOREL",
            "email": "p.morel@ateliers-morel.fr",
            "mobile": "+33612345678",
        },
        "mandataire": {
            "civility": "MME",
            "first_name": "SOPHIE",
            "last_name": "LEROY",
            "email": "s.leroy@ateliers-morel.fr",
            "mobile": "07 11 22 33 44",
            "has_valid_mandate": False,
        },
    }[role]
    values = {
        "role": role,
        "address": (("city", "LYON"), ("line1", "12 RUE DES LILAS"), ("postcode", "69003")),
    } | values
    values.update(overrides)
    return PersonFacts(**values)


def signed(signer: str, **overrides: Any) -> SignatureFacts:
    values: dict[str, Any] = {
        "signer": signer,
        "status": "signed",
        "identity_verification": "self_id_passed",
        "evidence_id": f"GS-{signer[:4]}",
        "at": "2026-11-21T09:02:11+01:00",
    }
    values.update(overrides)
    return SignatureFacts(**values)


def clean_facts(**overrides: Any) -> DossierFacts:
    holder_docs = identity_pair("holder", "durand", mrz())
    legal_docs = identity_pair(
        "legal_representative",
        "morel",
        mrz(
            format="TD3",
            document_code="P",
            surname="MOREL",
            given_names=("PAUL",),
            document_number="18AB12345",
            sex="M",
        ),
        mrz_side="recto",
    )
    values: dict[str, Any] = {
        "order_number": "288112",
        "revision": 1,
        "payment_method": "card",
        "payment_transaction_id": "PAY-20261120-0042",
        "documents_valid_attested": True,
        "delivery_info": "Accueil au 2e etage",
        "organisation": OrganisationFacts(
            siren="732829320",
            name="ATELIERS MOREL",
            legal_form="SAS",
            address=(("city", "LYON"), ("line1", "12 RUE DES LILAS"), ("postcode", "69003")),
        ),
        "people": (person("holder"), person("legal_representative")),
        "documents": (
            document("kbis", original_name="kbis-ateliers-morel.pdf", kbis=kbis()),
            *holder_docs,
            *legal_docs,
        ),
        "signatures": (signed("holder"), signed("legal_representative")),
        "order": OrderFacts(
            offer_code="PP-RGS2-USB",
            delivery_mode="shipping",
            amount_paid=Decimal("228.00"),
            price_list=(("OPT-RETRAIT", Decimal("60.00")), ("PP-RGS2-USB", Decimal("228.00"))),
        ),
    }
    values.update(overrides)
    return DossierFacts(**values)


def with_mandataire(facts: DossierFacts, *, mandate: MandateFacts | None = None) -> DossierFacts:
    """The legal representative appoints a mandataire, who sends a mandate and signs."""
    docs = [
        *facts.documents,
        *identity_pair("mandataire", "leroy", mrz(surname="LEROY", given_names=("SOPHIE",))),
        document(
            "mandate",
            original_name="mandat-leroy.pdf",
            # Signed by the legal representative and countersigned by the mandataire, with
            # certificates of the demo's test authority (in the repository's trust store).
            mandate=mandate or mandate_facts(signed_mandate()),
        ),
    ]
    return replace(
        facts,
        people=(*facts.people, person("mandataire")),
        documents=tuple(docs),
        signatures=(signed("holder"), signed("mandataire")),
    )


def replace_document(facts: DossierFacts, old: DocumentFacts, **changes: Any) -> DossierFacts:
    return replace(
        facts,
        documents=tuple(replace(d, **changes) if d is old else d for d in facts.documents),
    )


def without_documents(facts: DossierFacts, predicate: Any) -> DossierFacts:
    return replace(facts, documents=tuple(d for d in facts.documents if not predicate(d)))
