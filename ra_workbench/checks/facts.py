"""What the rules see: plain, frozen facts about one dossier.

`DossierFacts` is built once per evaluation (ra_workbench/checks/gather.py reads the models
and the cached extraction results); the rules read nothing else, so they — and this module —
are testable without a database.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ra_workbench.documents.labels import DocumentType
from ra_workbench.dossiers.labels import PersonRole
from ra_workbench.extraction.signatures import SignatureCheck


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value if str(v).strip())
    return ()


@dataclass(frozen=True)
class MrzFacts:
    format: str
    document_code: str
    issuing_state: str
    document_number: str
    surname: str
    given_names: tuple[str, ...]
    nationality: str
    birth_date: dt.date | None
    sex: str
    expiry_date: dt.date | None
    expiry_derived: bool
    valid: bool
    failed_checks: tuple[str, ...]
    # What makes a reading invalid although its check digits hold (a date no calendar has),
    # in French, as the reader says it.
    problems: tuple[str, ...] = ()

    @classmethod
    def from_extraction(cls, mrz: Mapping[str, Any]) -> MrzFacts:
        checks = mrz.get("checks") or {}
        if isinstance(checks, Mapping):
            failed = tuple(sorted(str(k) for k, ok in checks.items() if ok is False))
        else:
            failed = ()
        return cls(
            format=str(mrz.get("format") or ""),
            document_code=str(mrz.get("document_code") or ""),
            issuing_state=str(mrz.get("issuing_state") or ""),
            document_number=str(mrz.get("document_number") or ""),
            surname=str(mrz.get("surname") or ""),
            given_names=_names(mrz.get("given_names")),
            nationality=str(mrz.get("nationality") or ""),
            birth_date=_date(mrz.get("birth_date")),
            sex=str(mrz.get("sex") or ""),
            expiry_date=_date(mrz.get("expiry_date")),
            expiry_derived=bool(mrz.get("expiry_derived")),
            valid=bool(mrz.get("valid")),
            failed_checks=failed,
            problems=_names(mrz.get("problems")),
        )


@dataclass(frozen=True)
class ManagerFacts:
    role: str
    surname: str
    given_names: tuple[str, ...]


@dataclass(frozen=True)
class KbisFacts:
    kind: str
    date: dt.date | None
    siren: str | None
    name: str
    legal_form: str
    managers: tuple[ManagerFacts, ...]

    @classmethod
    def from_extraction(cls, kbis: Mapping[str, Any]) -> KbisFacts:
        managers = tuple(
            ManagerFacts(
                role=str(m.get("role") or ""),
                surname=str(m.get("surname") or ""),
                given_names=_names(m.get("given_names")),
            )
            for m in kbis.get("managers") or ()
            if isinstance(m, Mapping)
        )
        siren_digits = "".join(c for c in str(kbis.get("siren") or "") if c.isdigit())
        return cls(
            kind=str(kbis.get("kind") or "unknown"),
            date=_date(kbis.get("date")),
            siren=siren_digits or None,
            name=str(kbis.get("name") or ""),
            legal_form=str(kbis.get("legal_form") or ""),
            managers=managers,
        )


@dataclass(frozen=True)
class MandateFacts:
    has_signature_field: bool
    signing_time: str | None
    date: dt.date | None
    # pyHanko's verification of each signature field, in signing order (what the bytes
    # tell; the chain to the trust store is the rule's to check).
    signatures: tuple[SignatureCheck, ...] = ()

    @classmethod
    def from_extraction(cls, mandate: Mapping[str, Any]) -> MandateFacts:
        signing = mandate.get("signing_time") or mandate.get("signing time")
        checks = []
        for signature in mandate.get("signatures") or ():
            if not isinstance(signature, Mapping):
                continue
            verification = signature.get("verification")
            if isinstance(verification, Mapping):
                checks.append(SignatureCheck.from_json(verification))
            else:
                name = str(signature.get("field_name") or "")
                checks.append(SignatureCheck.unverifiable(name, "signature non vérifiée"))
        return cls(
            has_signature_field=bool(mandate.get("has_signature_field")),
            signing_time=str(signing) if signing else None,
            date=_date(mandate.get("date")),
            signatures=tuple(checks),
        )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class FileSignalsFacts:
    """What a file's metadata says of how it was made (extraction/filesignals.py)."""

    software: tuple[str, ...] = ()
    # A PDF's first revision's producer and creator.
    original_software: tuple[str, ...] = ()
    # A PDF's incremental updates after its creation (not those a signature covers).
    updates: int | None = None
    width: int | None = None
    height: int | None = None
    dpi: tuple[int, int] | None = None
    camera: str | None = None
    screenshot_marker: bool = False

    @classmethod
    def from_extraction(cls, signals: Mapping[str, Any]) -> FileSignalsFacts:
        dpi = signals.get("dpi")
        x, y = (
            (_int(v) for v in dpi)
            if isinstance(dpi, list | tuple) and len(dpi) == 2
            else (None, None)
        )
        return cls(
            software=_names(signals.get("software")),
            original_software=_names(signals.get("original_software")),
            updates=_int(signals.get("updates")),
            width=_int(signals.get("width")),
            height=_int(signals.get("height")),
            dpi=(x, y) if x and y else None,
            camera=str(signals.get("camera")) if signals.get("camera") else None,
            screenshot_marker=bool(signals.get("screenshot_marker")),
        )


@dataclass(frozen=True)
class DocumentFacts:
    id: int
    type: str
    person_role: str | None
    side: str | None
    original_name: str
    size: int
    media_type: str
    page_count: int | None
    # What the extractor could not do with the file (French), e.g. an encrypted PDF.
    read_error: str | None = None
    # The extractor itself failed (not the file): the dependent checks cannot run.
    extraction_failed: bool = False
    mrz: MrzFacts | None = None
    kbis: KbisFacts | None = None
    mandate: MandateFacts | None = None
    file_signals: FileSignalsFacts | None = None


@dataclass(frozen=True)
class PersonFacts:
    role: str
    civility: str
    first_name: str
    last_name: str
    email: str
    mobile: str
    address: tuple[tuple[str, str], ...] = ()
    same_as_legal_representative: bool = False
    has_valid_mandate: bool | None = None


@dataclass(frozen=True)
class OrganisationFacts:
    siren: str
    name: str
    legal_form: str
    manual_entry: bool = False
    address: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SignatureFacts:
    signer: str
    status: str
    identity_verification: str
    evidence_id: str
    at: str


@dataclass(frozen=True)
class DuplicateFacts:
    """Another open dossier or valid certificate of the same holder."""

    kind: str  # dossier | certificate
    reference: str  # order number or certificate serial
    basis: str  # mrz (surname, given names, birth date) | name_email
    # For a certificate: its register id and the day (Paris) it expires, which decide
    # whether the new order is its renewal.
    certificate_id: int | None = None
    expires_on: dt.date | None = None


@dataclass(frozen=True)
class ReuseFacts:
    """An identity document of this dossier found in another dossier (identity.reuse): the
    same MRZ document number, or an image whose perceptual hash is within `distance` bits.
    `same_person` compares whom each stands for: the MRZ's surname, given names and birth
    date when both persons' documents have a valid MRZ, the declared names otherwise."""

    role: str  # whose document, in this dossier
    document_id: int  # this dossier's document
    basis: str  # document_number | image
    other_order_number: str
    other_dossier_id: int
    other_role: str | None
    same_person: bool
    distance: int | None = None  # image: bits of Hamming distance
    document_number: str | None = None  # document_number: the number both MRZs give


@dataclass(frozen=True)
class OrderFacts:
    """What was ordered and paid, beside the price list (the offers table)."""

    offer_code: str = ""
    delivery_mode: str = "shipping"  # shipping | pickup
    amount_paid: decimal.Decimal | None = None
    # The offers table's active prices (code, price TTC), the pickup surcharge's included.
    price_list: tuple[tuple[str, decimal.Decimal], ...] = ()

    def price_of(self, code: str) -> decimal.Decimal | None:
        return next((price for c, price in self.price_list if c == code), None)


@dataclass(frozen=True)
class DossierFacts:
    order_number: str
    revision: int
    payment_method: str
    payment_transaction_id: str | None
    documents_valid_attested: bool
    delivery_info: str
    organisation: OrganisationFacts
    people: tuple[PersonFacts, ...]
    documents: tuple[DocumentFacts, ...] = ()
    # The latest event per signer.
    signatures: tuple[SignatureFacts, ...] = ()
    holder_duplicates: tuple[DuplicateFacts, ...] = field(default=())
    # Its identity documents found in other dossiers (gather.identity_reuse).
    reuse: tuple[ReuseFacts, ...] = ()
    order: OrderFacts = field(default_factory=OrderFacts)
    # The latest re-export's changes an operator must look at (ingest/declared.py:sensitive):
    # French labels with the values before and after.
    sensitive_changes: tuple[str, ...] = ()

    def person(self, role: str) -> PersonFacts | None:
        return next((p for p in self.people if p.role == role), None)

    @property
    def holder_is_legal_representative(self) -> bool:
        holder = self.person(PersonRole.HOLDER)
        return bool(holder and holder.same_as_legal_representative)

    @property
    def has_mandataire(self) -> bool:
        return self.person(PersonRole.MANDATAIRE) is not None

    def condition(self, name: str) -> bool:
        """The named conditions of rules/checks.toml's requirement lists."""
        if name == "has_mandataire":
            return self.has_mandataire
        if name == "holder_is_legal_representative":
            return self.holder_is_legal_representative
        if name == "payment_by_transfer":
            return self.payment_method == "transfer"
        if name == "mandate_on_file":
            mandataire = self.person(PersonRole.MANDATAIRE)
            return bool(mandataire and mandataire.has_valid_mandate)
        raise KeyError(name)

    def applies(self, when: Iterable[str], unless: Iterable[str]) -> bool:
        return all(self.condition(c) for c in when) and not any(self.condition(c) for c in unless)

    def documents_of(self, doc_type: str, person_role: str | None = None) -> list[DocumentFacts]:
        return [
            d
            for d in self.documents
            if d.type == doc_type and (person_role is None or d.person_role == person_role)
        ]

    def identity_documents(self, role: str) -> list[DocumentFacts]:
        """A person's identity document files; the holder who is the legal representative
        may have them filed under either role."""
        docs = self.documents_of(DocumentType.IDENTITY, role)
        if not docs and self.holder_is_legal_representative:
            other = (
                PersonRole.LEGAL_REPRESENTATIVE
                if role == PersonRole.HOLDER
                else PersonRole.HOLDER
                if role == PersonRole.LEGAL_REPRESENTATIVE
                else None
            )
            if other:
                docs = self.documents_of(DocumentType.IDENTITY, other)
        return docs

    def identity_roles(self) -> list[str]:
        """The people whose identity is checked: the same person only once."""
        roles = [PersonRole.HOLDER]
        if not self.holder_is_legal_representative:
            roles.append(PersonRole.LEGAL_REPRESENTATIVE)
        if self.has_mandataire:
            roles.append(PersonRole.MANDATAIRE)
        return [r for r in roles if self.person(r) is not None]

    def declared_people(self) -> list[PersonFacts]:
        """Each declared person once (the holder who is the legal representative is one)."""
        return [p for p in self.people if p.role in self.identity_roles()]


def best_mrz(documents: Iterable[DocumentFacts]) -> tuple[DocumentFacts, MrzFacts] | None:
    """The MRZ that speaks for a person's identity: a valid one first, then any."""
    found = [(d, d.mrz) for d in documents if d.mrz is not None]
    found.sort(key=lambda pair: (not pair[1].valid, pair[0].id))
    return found[0] if found else None
