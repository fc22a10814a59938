"""Building `DossierFacts` from the database: the only part of the checks that touches the
session. It does all the querying the rules need, the search for the holder's other dossiers
and certificates included."""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from ra_workbench.accounts.models import Offer
from ra_workbench.certificates.models import Certificate
from ra_workbench.checks.facts import (
    DocumentFacts,
    DossierFacts,
    DuplicateFacts,
    FileSignalsFacts,
    KbisFacts,
    MandateFacts,
    MrzFacts,
    OrderFacts,
    OrganisationFacts,
    PersonFacts,
    ReuseFacts,
    SignatureFacts,
    best_mrz,
)
from ra_workbench.clock import PARIS
from ra_workbench.documents.fingerprints import (
    ImageMatch,
    numbers_of_people,
    record_identity_evidence,
    same_document_numbers,
    similar_images,
)
from ra_workbench.documents.labels import DocumentType
from ra_workbench.documents.models import Document, Extraction
from ra_workbench.dossiers.labels import PersonRole
from ra_workbench.dossiers.models import Dossier, Person
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extraction.names import compact, fold
from ra_workbench.ingest.service import latest_signatures

log = logging.getLogger(__name__)

# A dossier no longer "open" for the uniqueness rule: refused, or finished (its
# certificate, if any, is found through the certificates table).
CLOSED_STATUSES = (DossierStatus.REJECTED.value, DossierStatus.DELIVERED.value)

# -- building facts from the database ---------------------------------------------------------

Extract = Callable[[Session, list[Document]], dict[int, dict[str, Any] | None]]


def _address(value: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in (value or {}).items() if v))


def _person_facts(person: Person) -> PersonFacts:
    return PersonFacts(
        role=person.role,
        civility=person.civility,
        first_name=person.first_name,
        last_name=person.last_name,
        email=person.email,
        mobile=person.mobile,
        address=_address(person.address),
        same_as_legal_representative=person.same_as_legal_representative,
        has_valid_mandate=person.has_valid_mandate,
    )


def _document_facts(document: Document, extraction: dict[str, Any] | None) -> DocumentFacts:
    base: dict[str, Any] = {
        "id": document.id,
        "type": document.type,
        "person_role": document.person_role,
        "side": document.side,
        "original_name": document.original_name,
        "size": document.size,
        "media_type": document.media_type,
        "page_count": document.page_count,
    }
    if extraction is None:
        return DocumentFacts(**base, extraction_failed=True)
    mrz, kbis, mandate = extraction.get("mrz"), extraction.get("kbis"), extraction.get("mandate")
    signals = extraction.get("file_signals")
    return DocumentFacts(
        **base,
        read_error=extraction.get("error") or None,
        mrz=MrzFacts.from_extraction(mrz) if isinstance(mrz, Mapping) else None,
        kbis=KbisFacts.from_extraction(kbis) if isinstance(kbis, Mapping) else None,
        mandate=MandateFacts.from_extraction(mandate) if isinstance(mandate, Mapping) else None,
        file_signals=(
            FileSignalsFacts.from_extraction(signals) if isinstance(signals, Mapping) else None
        ),
    )


@functools.cache
def _load_dossier_statement() -> sa.Select[Any]:
    # Built once, on first use (loader options need every mapper configured).
    return (
        sa.select(Dossier)
        .where(Dossier.id == sa.bindparam("dossier_id"))
        .options(
            joinedload(Dossier.people),
            selectinload(Dossier.documents),
            selectinload(Dossier.signature_events),
        )
    )


def load_dossier(session: Session, dossier_id: int) -> Dossier | None:
    """The dossier with everything the facts read, in three queries."""
    found: Dossier | None = (
        session.scalars(_load_dossier_statement(), {"dossier_id": dossier_id})
        .unique()
        .one_or_none()
    )
    return found


def build_facts(
    session: Session, dossier: Dossier, *, today: dt.date, extract: Extract
) -> DossierFacts:
    """Facts for the dossier's current revision. `extract` maps documents to their
    extraction results (None when the extractor failed), through the cache."""

    documents = dossier.current_documents()
    extractions = extract(session, documents)
    hashes = record_identity_evidence(session, documents, extractions)
    facts = _dossier_facts(dossier, extractions)
    return replace(
        facts,
        holder_duplicates=holder_duplicates(session, dossier, facts, today=today),
        reuse=identity_reuse(session, dossier, facts, hashes),
        order=OrderFacts(
            offer_code=dossier.offer_code,
            delivery_mode=dossier.delivery_mode,
            amount_paid=dossier.payment_amount_ttc,
            price_list=price_list(session),
        ),
    )


def _dossier_facts(
    dossier: Dossier, extractions: Mapping[int, dict[str, Any] | None]
) -> DossierFacts:
    """The facts read from the dossier and its documents alone (no other query)."""
    documents = dossier.current_documents()
    org = dossier.organisation
    return DossierFacts(
        order_number=dossier.order_number,
        revision=dossier.revision,
        payment_method=dossier.payment_method,
        payment_transaction_id=dossier.payment_transaction_id,
        documents_valid_attested=dossier.documents_valid_attested,
        delivery_info=dossier.delivery_info,
        organisation=OrganisationFacts(
            siren=org.siren,
            name=org.name,
            legal_form=org.legal_form,
            manual_entry=org.manual_entry,
            address=_address(org.address),
        ),
        people=tuple(_person_facts(p) for p in dossier.people),
        sensitive_changes=_sensitive_changes(dossier),
        documents=tuple(_document_facts(d, extractions.get(d.id)) for d in documents),
        signatures=tuple(
            SignatureFacts(
                signer=e.signer,
                status=e.status,
                identity_verification=e.identity_verification,
                evidence_id=e.evidence_id,
                at=e.at.isoformat(),
            )
            for _signer, e in sorted(latest_signatures(dossier).items())
        ),
    )


def holder_identity(
    session: Session, dossier: Dossier, *, extract: Extract
) -> tuple[Document, MrzFacts] | None:
    """The holder's identity document the checks read, and its MRZ: `best_mrz` over the
    holder's identity files (a valid MRZ first), as the identity rules see them. The
    hand-over compares the document presented at the desk with this one."""
    documents = dossier.current_documents()
    facts = _dossier_facts(dossier, extract(session, documents))
    found = best_mrz(facts.identity_documents(PersonRole.HOLDER))
    if found is None:
        return None
    by_id = {d.id: d for d in documents}
    return by_id[found[0].id], found[1]


def price_list(session: Session) -> tuple[tuple[str, decimal.Decimal], ...]:
    """The active offers' prices (reference data, a few rows)."""
    rows = session.execute(
        sa.select(Offer.code, Offer.price_ttc).where(Offer.active.is_(True)).order_by(Offer.code)
    )
    return tuple((code, price) for code, price in rows)


# -- the holder's other dossiers and certificates ---------------------------------------------


def _identity_key(surname: str, given_names: Iterable[str], birth: dt.date | None) -> tuple:
    return (compact(surname), compact(" ".join(given_names)), birth)


def _name_email_key(first_name: str, last_name: str, email: str) -> tuple:
    return (compact(last_name), compact(first_name), email.strip().lower())


def _surname_variants(*names: str) -> list[str]:
    """The spellings under which a surname may be stored: as typed, upper-case, folded
    (accents, apostrophes), hyphenated or spaced. Equality keeps the column's index usable."""
    variants: set[str] = set()
    for name in names:
        if not name.strip():
            continue
        folded = fold(name)
        variants |= {name, name.upper(), folded, folded.replace(" ", "-")}
    return sorted(variants)


# Built once: these run for every evaluation of every dossier.
_HOLDER_CANDIDATES = (
    sa.select(
        Person.dossier_id,
        Person.first_name,
        Person.last_name,
        Person.email,
        Dossier.order_number,
    )
    .join(Dossier, Dossier.id == Person.dossier_id)
    .where(
        Person.role == PersonRole.HOLDER,
        Person.last_name.in_(sa.bindparam("surnames", expanding=True)),
        Dossier.id != sa.bindparam("dossier_id"),
        Dossier.status.not_in(CLOSED_STATUSES),
    )
)
# Only what is already cached: another dossier's files are never OCR'd here.
_CANDIDATE_MRZ = (
    sa.select(Document.dossier_id, Extraction.result)
    .join(
        Extraction,
        sa.and_(
            Extraction.sha256 == Document.sha256,
            Extraction.kind == DocumentType.IDENTITY,
        ),
    )
    .where(
        Document.dossier_id.in_(sa.bindparam("dossier_ids", expanding=True)),
        Document.type == DocumentType.IDENTITY,
        Document.person_role.in_((PersonRole.HOLDER, PersonRole.LEGAL_REPRESENTATIVE)),
        Document.superseded.is_(False),
    )
)
_VALID_CERTIFICATES = (
    sa.select(
        Certificate.id,
        Certificate.not_after,
        Certificate.serial_number,
        Certificate.holder_surname,
        Certificate.holder_given_names,
        Certificate.holder_birth_date,
        Person.first_name,
        Person.email,
    )
    .join(
        Person,
        sa.and_(Person.dossier_id == Certificate.dossier_id, Person.role == PersonRole.HOLDER),
        isouter=True,
    )
    .where(
        Certificate.holder_surname.in_(sa.bindparam("surnames", expanding=True)),
        Certificate.dossier_id != sa.bindparam("dossier_id"),
        Certificate.revoked_at.is_(None),
        Certificate.not_after > sa.bindparam("valid_at"),
    )
)


def holder_duplicates(
    session: Session, dossier: Dossier, facts: DossierFacts, *, today: dt.date
) -> tuple[DuplicateFacts, ...]:
    """Other open dossiers and valid certificates of the same holder: by surname, given
    names and birth date when the MRZ was read, by name and e-mail otherwise."""
    holder = facts.person(PersonRole.HOLDER)
    if holder is None:
        return ()
    found = best_mrz(facts.identity_documents(PersonRole.HOLDER))
    mrz = found[1] if found else None
    mine_mrz = _identity_key(mrz.surname, mrz.given_names, mrz.birth_date) if mrz else None
    mine_plain = _name_email_key(holder.first_name, holder.last_name, holder.email)
    surnames = _surname_variants(holder.last_name, mrz.surname if mrz else "")
    if not surnames:
        return ()
    duplicates: set[DuplicateFacts] = set()

    candidates = session.execute(
        _HOLDER_CANDIDATES, {"surnames": surnames, "dossier_id": dossier.id}
    ).all()
    other_mrz: dict[int, list[tuple]] = {}
    if candidates and mine_mrz is not None:
        rows = session.execute(_CANDIDATE_MRZ, {"dossier_ids": [c.dossier_id for c in candidates]})
        for dossier_id, result in rows:
            theirs = (result or {}).get("mrz")
            if isinstance(theirs, Mapping) and theirs.get("valid"):
                other = MrzFacts.from_extraction(theirs)
                other_mrz.setdefault(dossier_id, []).append(
                    _identity_key(other.surname, other.given_names, other.birth_date)
                )
    for c in candidates:
        keys = other_mrz.get(c.dossier_id)
        if mine_mrz is not None and keys:
            if mine_mrz in keys:
                duplicates.add(DuplicateFacts("dossier", c.order_number, "mrz"))
        elif _name_email_key(c.first_name, c.last_name, c.email) == mine_plain:
            duplicates.add(DuplicateFacts("dossier", c.order_number, "name_email"))

    certificates = session.execute(
        _VALID_CERTIFICATES,
        {
            "surnames": surnames,
            "dossier_id": dossier.id,
            "valid_at": dt.datetime.combine(today, dt.time.min, tzinfo=dt.UTC),
        },
    )
    for cert in certificates:
        basis = None
        if mine_mrz is not None and cert.holder_birth_date is not None:
            theirs = _identity_key(
                cert.holder_surname, [cert.holder_given_names], cert.holder_birth_date
            )
            if theirs == mine_mrz:
                basis = "mrz"
        elif _name_email_key(cert.first_name or "", cert.holder_surname, cert.email or "") == (
            mine_plain
        ):
            basis = "name_email"
        if basis is not None:
            duplicates.add(
                DuplicateFacts(
                    "certificate",
                    cert.serial_number,
                    basis,
                    certificate_id=cert.id,
                    expires_on=cert.not_after.astimezone(PARIS).date(),
                )
            )
    return tuple(sorted(duplicates, key=lambda d: (d.kind, d.reference)))


# -- identity documents found in other dossiers ------------------------------------------------


def _declared_key(first_name: str, last_name: str) -> tuple:
    return (compact(last_name), compact(first_name))


def _mrz_numbers(documents: Iterable[DocumentFacts]) -> list[tuple[DocumentFacts, MrzFacts]]:
    return [
        (d, d.mrz) for d in documents if d.mrz is not None and d.mrz.valid and d.mrz.document_number
    ]


def identity_reuse(
    session: Session, dossier: Dossier, facts: DossierFacts, hashes: Mapping[str, list[int]]
) -> tuple[ReuseFacts, ...]:
    """Each person's identity documents found in another dossier: by MRZ document number
    (same issuing state and kind), and by perceptual hash (documents/fingerprints.py, an
    index look-up). The dossier's own earlier revisions are not other dossiers; replaced and
    purged copies are not searched. Two images of the same model whose valid MRZs give
    different numbers are two documents, however alike their hashes. `hashes`: each
    content's perceptual hashes (record_identity_evidence)."""
    by_id = {d.id: d for d in dossier.current_documents()}
    roles = {role: facts.identity_documents(role) for role in facts.identity_roles()}
    numbered = same_document_numbers(
        session,
        (
            (mrz.issuing_state, mrz.document_code, mrz.document_number)
            for documents in roles.values()
            for _document, mrz in _mrz_numbers(documents)
        ),
        dossier_id=dossier.id,
    )
    found: dict[tuple, ReuseFacts] = {}

    def keep(reuse: ReuseFacts) -> None:
        key = (reuse.role, reuse.document_id, reuse.basis, reuse.other_dossier_id)
        kept = found.get(key)
        if kept is None or (reuse.distance or 0) < (kept.distance or 0):
            found[key] = reuse

    images: list[tuple[str, DocumentFacts, ImageMatch]] = []
    for role, documents in roles.items():
        for document, mrz in _mrz_numbers(documents):
            mine = _identity_key(mrz.surname, mrz.given_names, mrz.birth_date)
            for match in numbered[(mrz.issuing_state, mrz.document_code, mrz.document_number)]:
                theirs = _identity_key(match.surname, [match.given_names], match.birth_date)
                keep(
                    ReuseFacts(
                        role=role,
                        document_id=document.id,
                        basis="document_number",
                        other_order_number=match.other.order_number,
                        other_dossier_id=match.other.dossier_id,
                        other_role=match.other.person_role,
                        same_person=mine == theirs,
                        document_number=mrz.document_number,
                    )
                )
        for document in documents:
            for value in hashes.get(by_id[document.id].sha256, ()):
                for image in similar_images(session, value, dossier_id=dossier.id):
                    images.append((role, document, image))
    if images:
        person_ids = {i.other.person_id for _r, _d, i in images if i.other.person_id}
        recorded = numbers_of_people(session, person_ids)
        declared = {
            p.id: _declared_key(p.first_name, p.last_name)
            for p in session.scalars(sa.select(Person).where(Person.id.in_(sorted(person_ids))))
        }
        for role, document, image in images:
            mine_mrz = _mrz_numbers(facts.identity_documents(role))
            mine_numbers = {
                (m.issuing_state, m.document_code[:1], m.document_number) for _d, m in mine_mrz
            }
            mine_keys = {
                _identity_key(m.surname, m.given_names, m.birth_date) for _d, m in mine_mrz
            }
            their_records = recorded.get(image.other.person_id or 0, [])
            their_numbers = {
                (r.issuing_state, r.document_code[:1], r.document_number) for r in their_records
            }
            if mine_numbers and their_numbers and not mine_numbers & their_numbers:
                continue
            their_keys = {
                _identity_key(r.surname, [r.given_names], r.birth_date) for r in their_records
            }
            if mine_keys and their_keys:
                same_person = bool(mine_keys & their_keys)
            else:
                person = facts.person(role)
                mine_declared = (
                    _declared_key(person.first_name, person.last_name) if person else None
                )
                same_person = mine_declared is not None and mine_declared == declared.get(
                    image.other.person_id or 0
                )
            keep(
                ReuseFacts(
                    role=role,
                    document_id=document.id,
                    basis="image",
                    other_order_number=image.other.order_number,
                    other_dossier_id=image.other.dossier_id,
                    other_role=image.other.person_role,
                    same_person=same_person,
                    distance=image.distance,
                )
            )
    return tuple(
        sorted(
            found.values(),
            key=lambda r: (r.role, r.document_id, r.basis, r.other_order_number),
        )
    )


def _sensitive_changes(dossier: Dossier) -> tuple[str, ...]:
    """The latest revision's flagged changes, as « label : before → after »."""
    if not dossier.revisions:
        return ()
    summary = dossier.revisions[-1].summary or {}
    flagged = set(summary.get("sensitive") or ())
    return tuple(
        f"{c['label']} : « {c['before']} » → « {c['after']} »"
        for c in summary.get("changes") or ()
        if c.get("key") in flagged
    )
