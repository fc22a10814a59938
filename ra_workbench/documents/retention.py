"""The retention purge: stored identity copies are deleted once their retention ends.

A copy is due a configured time after the certificate it supported stops being valid
(expiry or revocation), after the dossier was rejected, or (every document) when a dossier
that never led to a certificate is abandoned. The Document row stays, with
its hash, type, size and dates, and `purged_at` set: the record that the copy existed.
The audit trail is never touched (an entry is appended, none changed).

Two steps, so that a crash at any point converges on the next run:
Which dossiers are due is decided where certificates are known (issuance/retention.py);
this module changes the documents:
1. `mark_due` sets `purged_at` (in the job's unit of work, committed with the audit entry);
2. `delete_purged_blobs`, enqueued after that commit, removes the bytes of every purged
   content that no un-purged document still references (the store is content-addressed:
   the same identity card scanned into two dossiers is stored once), and the cached
   extraction of it (an MRZ read is identity data too) with its perceptual hashes and
   MRZ number (documents/fingerprints.py).
Both are idempotent: nothing due, nothing done.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from ra_workbench.audit.service import record
from ra_workbench.db import utcnow
from ra_workbench.documents.fingerprints import delete_evidence
from ra_workbench.documents.models import Document, Extraction
from ra_workbench.documents.store import store
from ra_workbench.dossiers.models import Dossier
from ra_workbench.jobs.rules import RetentionRules

DELETE_BLOBS_TASK = "ra_workbench.documents.tasks:delete_purged_blobs"


@dataclass(frozen=True)
class DueDossier:
    """A dossier whose identity copies reached the end of their retention (found by
    ra_workbench/issuance/retention.py, which knows when certificates end)."""

    dossier_id: int
    reason: str  # certificate_ended | rejected | abandoned
    ended_on: dt.date
    # False: the identity copies (rules document_types); an abandoned dossier loses them all.
    every_type: bool = False


def mark_due(session: Session, due: DueDossier, *, rules: RetentionRules) -> list[Document]:
    """Set `purged_at` on the dossier's un-purged copies and append the audit entry."""

    query = sa.select(Document).where(
        Document.dossier_id == due.dossier_id, Document.purged_at.is_(None)
    )
    if not due.every_type:
        query = query.where(Document.type.in_(rules.document_types))
    documents = list(session.scalars(query.order_by(Document.id)))
    if not documents:
        return []
    now = utcnow()
    for document in documents:
        document.purged_at = now
        if due.reason == "abandoned":
            # The uploaded name is personal data too (« CNI Claire DURAND.png »).
            document.original_name = ""
    dossier = session.get(Dossier, due.dossier_id)
    record(
        session,
        "documents.purged",
        dossier=dossier,
        payload={
            "reason": due.reason,
            "retention_ended_from": due.ended_on.isoformat(),
            "documents": [
                {"id": d.id, "type": d.type, "side": d.side, "sha256": d.sha256} for d in documents
            ],
        },
    )
    session.flush()
    return documents


def purgeable_digests(session: Session) -> list[str]:
    """Contents of purged documents that no un-purged document references any more."""
    still_needed = sa.select(Document.sha256).where(Document.purged_at.is_(None))
    return list(
        session.scalars(
            sa.select(Document.sha256)
            .where(Document.purged_at.is_not(None), Document.sha256.not_in(still_needed))
            .distinct()
            .order_by(Document.sha256)
        )
    )


def delete_blobs(session: Session, digests: list[str]) -> dict[str, int]:
    """Remove the bytes (and cached extractions) of purged contents. Idempotent."""

    doc_store = store()
    # PDF pages rendered for the dossier page are copies of the document too.
    pages_dir = Path(current_app.config["RA_SETTINGS"].cache_dir) / "pages"
    counts: dict[str, int] = defaultdict(int)
    for digest in digests:
        counts["files"] += int(doc_store.delete(digest))
        for rendered in pages_dir.glob(f"{digest}-*.png"):
            rendered.unlink(missing_ok=True)
            counts["rendered_pages"] += 1
    if digests:
        result = session.execute(sa.delete(Extraction).where(Extraction.sha256.in_(digests)))
        counts["extractions"] += int(getattr(result, "rowcount", 0) or 0)
        # The perceptual hashes and MRZ numbers identity.reuse looks up are derived from
        # the copies too: they go with them.
        counts["identity_evidence"] += delete_evidence(session, digests)
    return dict(counts)
