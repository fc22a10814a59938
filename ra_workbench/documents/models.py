"""Uploaded documents (metadata; the bytes live in the content-addressed store) and
cached extraction results."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ra_workbench.db import Base, CreatedAt, intpk
from ra_workbench.documents.labels import DOCUMENT_TYPE_LABELS_FR, DocumentType

if TYPE_CHECKING:
    from ra_workbench.dossiers.models import Dossier, Person


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"))
    person_role: Mapped[str | None] = mapped_column(sa.String(32))
    type: Mapped[str] = mapped_column(sa.String(32))
    side: Mapped[str | None] = mapped_column(sa.String(8))
    original_name: Mapped[str] = mapped_column(sa.String(300))
    size: Mapped[int]
    media_type: Mapped[str] = mapped_column(sa.String(100))
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    page_count: Mapped[int | None]
    revision: Mapped[int]
    superseded: Mapped[bool] = mapped_column(default=False)
    superseded_at: Mapped[dt.datetime | None]
    received_at: Mapped[CreatedAt]
    # Retention purge: the bytes are gone, the record (hash, type) stays.
    purged_at: Mapped[dt.datetime | None]

    dossier: Mapped[Dossier] = relationship(back_populates="documents")
    person: Mapped[Person | None] = relationship()

    def pages_shown(self, max_pages: int) -> int:
        """How many page images of this file are rendered: its pages, up to the number the
        checks accept (rules/checks.toml files.max_pdf_pages), never the 10,000 of a
        hostile PDF."""
        return max(1, min(self.page_count or 1, max_pages))


class Extraction(Base):
    """What an extractor read from one file content; cached by sha256 + extractor version."""

    __tablename__ = "extractions"

    id: Mapped[intpk]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(32))
    extractor_version: Mapped[str] = mapped_column(sa.String(32))
    result: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    seconds: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[CreatedAt]

    __table_args__ = (
        sa.UniqueConstraint(
            "sha256", "kind", "extractor_version", name="uq_extractions_sha_kind_version"
        ),
    )


class ImageFingerprint(Base):
    """The perceptual hash (pHash, 64 bits) of one identity image or PDF page, by content:
    the same picture sent again for another person, re-encoded or resized, hashes within a
    few bits of it (identity.reuse). Split into four 16-bit bands, each indexed: two hashes
    within 3 bits share at least one band, so a look-up is four index probes, never a scan
    of every image. Removed with the content's cached extraction when the copies are purged."""

    __tablename__ = "image_fingerprints"

    id: Mapped[intpk]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    page: Mapped[int]
    # The 64 bits as a signed integer (what a BIGINT holds); documents/fingerprints.py
    # converts.
    phash: Mapped[int] = mapped_column(sa.BigInteger)
    band0: Mapped[int] = mapped_column(index=True)
    band1: Mapped[int] = mapped_column(index=True)
    band2: Mapped[int] = mapped_column(index=True)
    band3: Mapped[int] = mapped_column(index=True)
    created_at: Mapped[CreatedAt]

    __table_args__ = (sa.UniqueConstraint("sha256", "page", name="uq_image_fingerprints_sha_page"),)


class IdentityNumber(Base):
    """The document number a valid MRZ gives for one identity file content, with whom the
    MRZ names: the same number under another name or birth date in another dossier is a
    forged or borrowed document (identity.reuse). Indexed by number and issuing state;
    removed with the content's cached extraction when the copies are purged."""

    __tablename__ = "identity_numbers"

    id: Mapped[intpk]
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    issuing_state: Mapped[str] = mapped_column(sa.String(3))
    # The MRZ's document code (P, ID, I<, …): passports and cards are numbered apart.
    document_code: Mapped[str] = mapped_column(sa.String(2))
    document_number: Mapped[str] = mapped_column(sa.String(20))
    surname: Mapped[str] = mapped_column(sa.String(200))
    given_names: Mapped[str] = mapped_column(sa.String(200))
    birth_date: Mapped[dt.date | None]
    created_at: Mapped[CreatedAt]

    __table_args__ = (
        sa.Index("ix_identity_numbers_number_state", "document_number", "issuing_state"),
    )


class IdentityAccessGrant(Base):
    """A « bris de glace »: a staff member without need to know stated why she must open a
    dossier's identity copies. Valid for a while (as long as a claim), listed for the
    supervisors, and its reason is written with every view it allows. Never purged: it is
    the record of who looked at personal data and why."""

    __tablename__ = "identity_access_grants"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    granted_at: Mapped[CreatedAt]
    expires_at: Mapped[dt.datetime]


# The vocabulary lives in labels.py (database-free, for the pure rules); code that already
# works with the models finds it here as well.
__all__ = [
    "DOCUMENT_TYPE_LABELS_FR",
    "Document",
    "DocumentType",
    "Extraction",
    "IdentityAccessGrant",
    "IdentityNumber",
    "ImageFingerprint",
]
