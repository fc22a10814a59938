"""Serving document bytes to signed-in staff, through the app, each view audited.

Identity copies are personal data (REQUIREMENTS 15): they leave the store only here,
for a user holding `documents:identity:view`, with the media type sniffed from the
content (never the uploaded name), `Content-Disposition`, `Cache-Control: no-store`, and
an entry `document.viewed` in the audit trail for every response.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, request, send_file
from flask_login import current_user
from PIL import Image
from sqlalchemy.exc import IntegrityError

from ra_workbench.accounts.permissions import requires
from ra_workbench.audit.service import record
from ra_workbench.documents.models import Document
from ra_workbench.documents.store import DocumentStore
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.extraction.media import (
    DECODE_MAX_PIXELS,
    MAX_PDF_PAGES,
    MEDIA_JPEG,
    MEDIA_PDF,
    MEDIA_PNG,
    MediaError,
    render_pdf_pages,
    sniff_media_type,
)
from ra_workbench.unit import unit_of_work

bp = Blueprint("documents", __name__, url_prefix="/documents")

VIEWABLE = {MEDIA_PNG, MEDIA_JPEG, MEDIA_PDF}
PAGE_DPI = 110
AUDIT_ATTEMPTS = 5
# The bytes are shown as they are, never as a page of ours: nothing in them may run.
DOCUMENT_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def _document(document_id: int) -> Document:
    document = db.session.get(Document, document_id)
    if document is None:
        abort(404)
    if document.purged_at is not None:
        abort(410, "Pièce supprimée à l'issue de la durée de conservation.")
    return document


def _store() -> DocumentStore:
    return DocumentStore(current_app.config["RA_SETTINGS"].store_dir)


def _read(document: Document) -> bytes:
    try:
        return _store().read(document.sha256)
    except FileNotFoundError:
        abort(404)


def _audit(document: Document, **extra: Any) -> None:
    payload = {
        "document_id": document.id,
        "type": document.type,
        "person_role": document.person_role,
        "sha256": document.sha256,
    } | extra
    user_email, user_id, dossier_id = current_user.email, current_user.id, document.dossier_id
    for attempt in range(AUDIT_ATTEMPTS):
        try:
            with unit_of_work() as session:
                record(
                    session,
                    "document.viewed",
                    actor=user_email,
                    actor_id=user_id,
                    dossier=session.get(Dossier, dossier_id),
                    payload=payload,
                )
            return
        except IntegrityError:
            # A page loads several documents at once; on SQLite (no advisory lock) two
            # appends may race for the same chain position: the loser writes again.
            if attempt == AUDIT_ATTEMPTS - 1:
                raise


def _safe_name(name: str, fallback: str) -> str:
    cleaned = re.sub(r"[^\w.\- ]", "_", Path(name).name).strip() or fallback
    return cleaned[:150]


def _no_store(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store, max-age=0"
    response.headers["Pragma"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/<int:document_id>")
@requires("documents:identity:view")
def view(document_id: int) -> Any:
    document = _document(document_id)
    data = _read(document)
    media = sniff_media_type(data)
    download = request.args.get("telecharger") == "1" or media not in VIEWABLE
    served_as = media if media in VIEWABLE else "application/octet-stream"
    _audit(document, download=download)
    response = send_file(
        io.BytesIO(data),
        mimetype=served_as,
        as_attachment=download,
        download_name=_safe_name(document.original_name, f"piece-{document.id}"),
        max_age=0,
        etag=False,
        last_modified=None,
    )
    if served_as != MEDIA_PDF:  # Chromium's PDF viewer does not run in a sandbox
        response.headers["Content-Security-Policy"] = DOCUMENT_CSP
    return _no_store(response)


def _page_png(data: bytes, sha256: str, page: int) -> bytes:
    """One PDF page as PNG, rendered once per content and kept beside the store."""
    cache = Path(current_app.config["RA_SETTINGS"].cache_dir) / "pages"
    target = cache / f"{sha256}-{page}-{PAGE_DPI}.png"
    if target.exists():
        return target.read_bytes()
    [array] = render_pdf_pages(
        data, dpi=PAGE_DPI, first_page=page, last_page=page, max_pixels=DECODE_MAX_PIXELS
    )
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG", optimize=False)
    png = out.getvalue()
    cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(png)
    tmp.replace(target)
    return png


@bp.get("/<int:document_id>/pages/<int:page>.png")
@requires("documents:identity:view")
def page_image(document_id: int, page: int) -> Any:
    document = _document(document_id)
    if not 1 <= page <= document.pages_shown(current_app.config["RA_MAX_PDF_PAGES"]):
        abort(404)
    if (document.page_count or 0) > MAX_PDF_PAGES:
        # The renderer refuses it; say so without parsing its thousands of pages again.
        abort(422, f"PDF de {document.page_count} pages (maximum {MAX_PDF_PAGES})")
    data = _read(document)
    if sniff_media_type(data) != MEDIA_PDF:
        abort(404)
    try:
        png = _page_png(data, document.sha256, page)
    except MediaError as exc:
        abort(422, str(exc))
    except ValueError:  # fewer pages than announced
        abort(404)
    _audit(document, page=page)
    response = send_file(
        io.BytesIO(png),
        mimetype=MEDIA_PNG,
        download_name=f"piece-{document.id}-page-{page}.png",
        max_age=0,
        etag=False,
        last_modified=None,
    )
    response.headers["Content-Security-Policy"] = DOCUMENT_CSP
    return _no_store(response)
