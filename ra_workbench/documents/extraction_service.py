"""Extraction results per document, cached by (sha256, kind, extractor version).

A file's content never changes (the store is content-addressed), so what the extractor
read from it stays true until the extractor itself changes: re-checking a dossier never
redoes OCR for unchanged files. Only the bytes of cache misses are read from the store.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ra_workbench import extraction
from ra_workbench.documents.models import Document, Extraction
from ra_workbench.documents.store import store

log = logging.getLogger(__name__)

_CACHED = sa.select(Extraction.sha256, Extraction.kind, Extraction.result).where(
    Extraction.sha256.in_(sa.bindparam("digests", expanding=True)),
    Extraction.extractor_version == sa.bindparam("version"),
)


def extractor_version() -> str:
    # Read on the package, not imported by name: computing it loads the MRZ reader (OpenCV).
    return str(extraction.EXTRACTOR_VERSION)


def _cached(
    session: Session, keys: Iterable[tuple[str, str]], version: str
) -> dict[tuple[str, str], dict[str, Any]]:
    keys = set(keys)
    if not keys:
        return {}
    rows = session.execute(
        _CACHED, {"digests": sorted({sha for sha, _kind in keys}), "version": version}
    )
    return {(sha, kind): result for sha, kind, result in rows if (sha, kind) in keys}


def _extract_and_store(
    session: Session, document: Document, *, today: dt.date, version: str
) -> dict[str, Any]:

    data = store().read(document.sha256)
    result = extraction.extract_document(
        data, document.type, filename=document.original_name, today=today
    )
    row = Extraction(
        sha256=document.sha256,
        kind=document.type,
        extractor_version=version,
        result=result,
        error=result.get("error"),
        seconds=float(result.get("seconds") or 0.0),
    )
    try:
        # A savepoint: a concurrent job that cached the same file first is not an error.
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        log.info("extraction of document %s cached concurrently", document.id)
    return result


def extractions_for(
    session: Session, documents: list[Document], *, today: dt.date
) -> dict[int, dict[str, Any] | None]:
    """Per document id, its extraction result: from the cache in one query, the rest
    extracted and cached. None when the extractor failed on a document (not cached, so a
    later run tries again); the failure is logged without the document's content."""
    version = extractor_version()
    cached = _cached(session, ((d.sha256, d.type) for d in documents), version)
    results: dict[int, dict[str, Any] | None] = {}
    for document in documents:
        key = (document.sha256, document.type)
        if key in cached:
            results[document.id] = cached[key]
            continue
        if document.purged_at is not None:
            results[document.id] = {"error": "document purgé (durée de conservation échue)"}
            continue
        try:
            cached[key] = _extract_and_store(session, document, today=today, version=version)
        except Exception as exc:
            log.error(
                "extraction failed for document %s (%s): %s",
                document.id,
                document.type,
                type(exc).__name__,
            )
            results[document.id] = None
            continue
        results[document.id] = cached[key]
    return results


def extraction_for(session: Session, document: Document, *, today: dt.date) -> dict[str, Any]:
    """One document's extraction result, through the cache. Raises if the extractor fails."""
    version = extractor_version()
    cached = _cached(session, [(document.sha256, document.type)], version)
    key = (document.sha256, document.type)
    if key in cached:
        return cached[key]
    return _extract_and_store(session, document, today=today, version=version)
