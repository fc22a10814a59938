"""What identity.reuse looks up across dossiers: the perceptual hash of every identity image
and PDF page, and the document number a valid MRZ gives, both kept by file content.

The hash (documents/phash.py) survives re-encoding and resizing. The look-up is an index
probe: the candidates are the rows equal to the hash on one of its four indexed 16-bit
bands, then filtered by Hamming distance — never a scan of every image.

Only hashes and MRZ numbers leave this module; neither the pixels nor the file names are
logged. Both tables are keyed by content like the extraction cache, and purged with it
(documents/retention.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ra_workbench.documents.labels import DocumentType
from ra_workbench.documents.models import (
    Document,
    IdentityNumber,
    ImageFingerprint,
)
from ra_workbench.documents.phash import (
    MAX_FINGERPRINT_PAGES,
    MAX_INDEXED_DISTANCE,
    bands_of,
    fingerprint_row,
    hamming,
    perceptual_hashes,
    to_unsigned,
)
from ra_workbench.documents.store import store
from ra_workbench.dossiers.models import Dossier

log = logging.getLogger(__name__)

# Built once: they run for every evaluation of every dossier.
_HASHES = (
    sa.select(ImageFingerprint.sha256, ImageFingerprint.phash)
    .where(ImageFingerprint.sha256.in_(sa.bindparam("digests", expanding=True)))
    .order_by(ImageFingerprint.sha256, ImageFingerprint.page)
)
_NUMBERED = sa.select(IdentityNumber.sha256).where(
    IdentityNumber.sha256.in_(sa.bindparam("digests", expanding=True))
)

# -- recording ---------------------------------------------------------------------------------


def _valid_mrz(extraction: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    mrz = (extraction or {}).get("mrz")
    if isinstance(mrz, Mapping) and mrz.get("valid") and mrz.get("document_number"):
        return mrz
    return None


def _birth_date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _given_names(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value if str(v).strip())
    return str(value or "")


def record_identity_evidence(
    session: Session,
    documents: Iterable[Document],
    extractions: Mapping[int, Mapping[str, Any] | None],
) -> dict[str, list[int]]:
    """Hash each identity file content not yet hashed, and keep the document number of
    each valid MRZ read from it; returns every content's hashes (unsigned, in page order).
    Flushes; a content another job recorded first is not an error. A file that cannot be
    decoded is logged by id and left unhashed (its file checks fail on their own)."""
    identity = [d for d in documents if d.type == DocumentType.IDENTITY and d.purged_at is None]
    hashes: dict[str, list[int]] = {}
    if not identity:
        return hashes
    digests = sorted({d.sha256 for d in identity})
    for sha256, value in session.execute(_HASHES, {"digests": digests}):
        hashes.setdefault(sha256, []).append(to_unsigned(value))
    numbered = set(session.scalars(_NUMBERED, {"digests": digests}))
    for document in identity:
        if document.sha256 not in hashes:
            hashes[document.sha256] = _hash_document(session, document)
        mrz = _valid_mrz(extractions.get(document.id))
        if mrz is not None and document.sha256 not in numbered:
            numbered.add(document.sha256)
            _add(
                session,
                [
                    IdentityNumber(
                        sha256=document.sha256,
                        issuing_state=str(mrz.get("issuing_state") or "")[:3],
                        document_code=str(mrz.get("document_code") or "")[:2],
                        document_number=str(mrz["document_number"])[:20],
                        surname=str(mrz.get("surname") or "")[:200],
                        given_names=_given_names(mrz.get("given_names"))[:200],
                        birth_date=_birth_date(mrz.get("birth_date")),
                    )
                ],
            )
    return hashes


def _hash_document(session: Session, document: Document) -> list[int]:
    try:
        values = perceptual_hashes(
            store().read(document.sha256),
            max_pages=min(document.page_count or 1, MAX_FINGERPRINT_PAGES),
        )
    except Exception as exc:  # an undecodable upload must not stop the checks
        # file.readable reports the file; tried again on the next run.
        log.info("perceptual hash failed for document %s: %s", document.id, type(exc).__name__)
        return []
    _add(
        session,
        [
            ImageFingerprint(**fingerprint_row(document.sha256, page, value))
            for page, value in enumerate(values)
        ],
    )
    return values


def _add(session: Session, rows: list[Any]) -> None:
    try:
        # A savepoint: a concurrent job that recorded the same content first is no error.
        with session.begin_nested():
            session.add_all(rows)
    except IntegrityError:
        log.info("identity evidence recorded concurrently")


def delete_evidence(session: Session, digests: list[str]) -> int:
    """Forget the hashes and MRZ numbers of purged contents; how many rows went."""
    if not digests:
        return 0
    removed = 0
    for model in (ImageFingerprint, IdentityNumber):
        result = session.execute(sa.delete(model).where(model.sha256.in_(digests)))
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed


# -- looking up other dossiers -----------------------------------------------------------------


@dataclass(frozen=True)
class OtherDocument:
    """An identity document of another dossier: current (not replaced by a re-export) and
    whose copy is still kept (not purged)."""

    document_id: int
    dossier_id: int
    order_number: str
    person_id: int | None
    person_role: str | None


@dataclass(frozen=True)
class ImageMatch:
    other: OtherDocument
    distance: int


@dataclass(frozen=True)
class NumberMatch:
    other: OtherDocument
    surname: str
    given_names: str
    birth_date: dt.date | None


def _other_documents(*columns: Any) -> sa.Select[Any]:
    return (
        sa.select(
            Document.id,
            Document.dossier_id,
            Dossier.order_number,
            Document.person_id,
            Document.person_role,
            *columns,
        )
        .join(Dossier, Dossier.id == Document.dossier_id)
        .where(
            Document.type == DocumentType.IDENTITY,
            Document.superseded.is_(False),
            Document.purged_at.is_(None),
            Document.dossier_id != sa.bindparam("dossier_id"),
        )
    )


_SIMILAR = (
    _other_documents(ImageFingerprint.phash)
    .join(ImageFingerprint, ImageFingerprint.sha256 == Document.sha256)
    .where(
        sa.or_(
            ImageFingerprint.band0 == sa.bindparam("band0"),
            ImageFingerprint.band1 == sa.bindparam("band1"),
            ImageFingerprint.band2 == sa.bindparam("band2"),
            ImageFingerprint.band3 == sa.bindparam("band3"),
        )
    )
)
_SAME_NUMBER = (
    _other_documents(
        IdentityNumber.issuing_state,
        IdentityNumber.document_code,
        IdentityNumber.document_number,
        IdentityNumber.surname,
        IdentityNumber.given_names,
        IdentityNumber.birth_date,
    )
    .join(IdentityNumber, IdentityNumber.sha256 == Document.sha256)
    .where(IdentityNumber.document_number.in_(sa.bindparam("numbers", expanding=True)))
)
_NUMBERS_OF_PEOPLE = (
    sa.select(
        Document.person_id,
        IdentityNumber.issuing_state,
        IdentityNumber.document_code,
        IdentityNumber.document_number,
        IdentityNumber.surname,
        IdentityNumber.given_names,
        IdentityNumber.birth_date,
    )
    .join(IdentityNumber, IdentityNumber.sha256 == Document.sha256)
    .where(
        Document.person_id.in_(sa.bindparam("person_ids", expanding=True)),
        Document.superseded.is_(False),
        Document.purged_at.is_(None),
    )
)


def _other(row: Any) -> OtherDocument:
    return OtherDocument(
        document_id=row.id,
        dossier_id=row.dossier_id,
        order_number=row.order_number,
        person_id=row.person_id,
        person_role=row.person_role,
    )


def similar_images(
    session: Session, value: int, *, dossier_id: int, max_distance: int = MAX_INDEXED_DISTANCE
) -> list[ImageMatch]:
    """Other dossiers' identity images within `max_distance` bits of the unsigned hash:
    the rows sharing one of its bands (four index probes), filtered by Hamming distance."""
    params: dict[str, Any] = {f"band{i}": b for i, b in enumerate(bands_of(value))}
    params["dossier_id"] = dossier_id
    found = []
    for row in session.execute(_SIMILAR, params):
        distance = hamming(value, row.phash)
        if distance <= max_distance:
            found.append(ImageMatch(other=_other(row), distance=distance))
    return found


def same_document_numbers(
    session: Session, numbers: Iterable[tuple[str, str, str]], *, dossier_id: int
) -> dict[tuple[str, str, str], list[NumberMatch]]:
    """For each (issuing state, document code, number) a valid MRZ gave, the other
    dossiers' identity documents whose valid MRZ gives the same number, of the same issuing
    state and kind (passport or card: they are numbered apart). One query for them all."""
    wanted = {(state, code[:1], number): (state, code, number) for state, code, number in numbers}
    found: dict[tuple[str, str, str], list[NumberMatch]] = {key: [] for key in wanted.values()}
    if not wanted:
        return found
    rows = session.execute(
        _SAME_NUMBER,
        {"numbers": sorted({number for _s, _c, number in wanted}), "dossier_id": dossier_id},
    )
    for row in rows:
        key = wanted.get((row.issuing_state, row.document_code[:1], row.document_number))
        if key is not None:
            found[key].append(
                NumberMatch(
                    other=_other(row),
                    surname=row.surname,
                    given_names=row.given_names,
                    birth_date=row.birth_date,
                )
            )
    return found


@dataclass(frozen=True)
class RecordedNumber:
    issuing_state: str
    document_code: str
    document_number: str
    surname: str
    given_names: str
    birth_date: dt.date | None


def numbers_of_people(
    session: Session, person_ids: Iterable[int]
) -> dict[int, list[RecordedNumber]]:
    """The MRZ numbers recorded for each person's current identity documents."""
    ids = sorted(set(person_ids))
    found: dict[int, list[RecordedNumber]] = {}
    if not ids:
        return found
    for row in session.execute(_NUMBERS_OF_PEOPLE, {"person_ids": ids}):
        found.setdefault(row.person_id, []).append(
            RecordedNumber(
                issuing_state=row.issuing_state,
                document_code=row.document_code,
                document_number=row.document_number,
                surname=row.surname,
                given_names=row.given_names,
                birth_date=row.birth_date,
            )
        )
    return found
