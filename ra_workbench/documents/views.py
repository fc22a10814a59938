"""Serving document bytes to signed-in staff, through the app, each view audited.

Identity copies are personal data (REQUIREMENTS 15): they leave the store only here, for a
user holding `documents:identity:view` who is none of the dossier's people (a conflicted
operator is refused with 403 and the attempt audited, `document.conflict_of_interest`), and
every response to a read is audited (`document.viewed`).

Nothing inside a document may run in a staff browser. Every response of this blueprint
carries `Content-Security-Policy: sandbox` (no scripts, an opaque origin, no forms, no
plug-ins; nothing fetched), `X-Content-Type-Options: nosniff`, `Cache-Control: no-store`,
the media type sniffed from the content (never the uploaded name) and a neutral file name
(`piece-12.png`: the uploaded one is personal data). The sandbox does not reach Chromium's
PDF viewer, whose PDFium runs a PDF's own JavaScript whatever the headers (checked with
Chromium 156: `app.alert` in an OpenAction still shows with `sandbox`), so a PDF is never
shown by the browser: it is seen as page images rendered here (the preview page, the dossier
page), and its bytes are only ever sent as a download.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, cast

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from PIL import Image
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ra_workbench.accounts.permissions import requires
from ra_workbench.audit.service import record
from ra_workbench.documents.access import (
    NEED_TO_KNOW_TYPES,
    Access,
    AccessError,
    break_glass,
    document_access,
    identity_access,
)
from ra_workbench.documents.models import Document
from ra_workbench.documents.store import DocumentStore
from ra_workbench.dossiers.labels import ROLE_LABELS_FR
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.people import conflicting_person
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

NEED_TO_KNOW_FR = (
    "Pièces d'identité réservées à l'opérateur qui a pris en charge le dossier et aux "
    "superviseurs : les données déclarées et lues restent visibles sur le dossier. "
    "Pour consulter les images, indiquez la raison de cet accès (bris de glace) : "
    "elle est enregistrée et visible des superviseurs."
)

# What the browser may show itself: images. A PDF is shown as our page images.
INLINE = {MEDIA_PNG, MEDIA_JPEG}
EXTENSIONS = {MEDIA_PNG: "png", MEDIA_JPEG: "jpg", MEDIA_PDF: "pdf"}
OCTET_STREAM = "application/octet-stream"
PAGE_DPI = 110
AUDIT_ATTEMPTS = 5
# The bytes are shown as they are, never as a page of ours: nothing in them may run, load,
# submit or be framed. `img-src 'self'` and inline styles let Chromium show an image alone.
DOCUMENT_CSP = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; sandbox"
)


@bp.after_request
def _document_headers(response: Response) -> Response:
    # Every response gets the sandbox but the pages we render ourselves (the preview, the
    # refusal), which keep the application's policy and its stylesheet.
    if not g.get("page_of_ours"):
        response.headers["Content-Security-Policy"] = DOCUMENT_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store, max-age=0"
    response.headers["Pragma"] = "no-cache"
    return response


def _document(document_id: int) -> tuple[Document, Access]:
    """The document, if it may be read at all, the user is none of its dossier's people and
    has a need to know for it (or stated a reason: documents/access.py)."""
    document = db.session.get(Document, document_id)
    if document is None:
        abort(404)
    if document.purged_at is not None:
        abort(410, "Pièce supprimée à l'issue de la durée de conservation.")
    dossier = db.session.get(Dossier, document.dossier_id)
    person = conflicting_person(dossier.people, current_user) if dossier else None
    if person is not None:
        _audit(document, "document.conflict_of_interest", conflict_with=person.role)
        role = ROLE_LABELS_FR.get(person.role, person.role).lower()
        message = (
            f"Conflit d'intérêts : vous êtes {role} de ce dossier, "
            "vous ne pouvez pas consulter ses pièces."
        )
        g.page_of_ours = True
        abort(Response(render_template("documents/refused.html", message=message), 403))
    if dossier is None:
        abort(404)
    access = document_access(cast(Session, db.session), document, dossier, current_user)
    if access is None:
        _audit(document, "document.need_to_know_refused")
        g.page_of_ours = True
        abort(Response(_need_to_know_page(dossier), 403))
    return document, access


def _need_to_know_page(dossier: Dossier) -> str:
    return render_template(
        "documents/refused.html",
        message=NEED_TO_KNOW_FR,
        break_glass_dossier=dossier,
    )


def _store() -> DocumentStore:
    return DocumentStore(current_app.config["RA_SETTINGS"].store_dir)


def _read(document: Document) -> bytes:
    try:
        return _store().read(document.sha256)
    except FileNotFoundError:
        abort(404)


def _audit(
    document: Document,
    event: str = "document.viewed",
    access: Access | None = None,
    **extra: Any,
) -> None:
    """In its own unit of work: a read changes nothing else, a refusal is rolled back."""
    payload = {
        "document_id": document.id,
        "type": document.type,
        "person_role": document.person_role,
        "sha256": document.sha256,
    } | extra
    if access is not None:
        payload["access"] = access.basis
        if access.reason:
            payload["reason"] = access.reason
    user_email, user_id, dossier_id = current_user.email, current_user.id, document.dossier_id
    for attempt in range(AUDIT_ATTEMPTS):
        try:
            with unit_of_work() as session:
                record(
                    session,
                    event,
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


def _send(data: bytes, media: str, name: str, *, download: bool) -> Response:
    """The bytes as the media type we decided, under a name that says nothing of anyone."""
    served_as = media if media in EXTENSIONS else OCTET_STREAM
    return send_file(
        io.BytesIO(data),
        mimetype=served_as,
        as_attachment=download or served_as not in INLINE,
        download_name=f"{name}.{EXTENSIONS.get(served_as, 'bin')}",
        max_age=0,
        etag=False,
        last_modified=None,
    )


@bp.get("/<int:document_id>")
@requires("documents:identity:view")
def view(document_id: int) -> Any:
    """An image shown as it is; a PDF's pages on the preview page unless downloaded; any
    other content downloaded only."""
    document, access = _document(document_id)
    data = _read(document)
    media = sniff_media_type(data)
    download = request.args.get("telecharger") == "1"
    if media == MEDIA_PDF and not download:
        return redirect(url_for("documents.preview", document_id=document.id))
    _audit(document, access=access, download=download or media not in INLINE)
    return _send(data, media, f"piece-{document.id}", download=download)


@bp.get("/<int:document_id>/apercu")
@requires("documents:identity:view")
def preview(document_id: int) -> Any:
    """Our page showing the document as images: the pages of a PDF rendered here."""
    document, _access = _document(document_id)
    media = sniff_media_type(_read(document))
    pages = document.pages_shown(current_app.config["RA_MAX_PDF_PAGES"])
    g.page_of_ours = True
    return render_template(
        "documents/preview.html",
        document=document,
        is_pdf=media == MEDIA_PDF,
        is_image=media in INLINE,
        pages=pages,
        pages_hidden=media == MEDIA_PDF and (document.page_count or 1) > pages,
    )


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
    document, access = _document(document_id)
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
    _audit(document, access=access, page=page)
    return _send(png, MEDIA_PNG, f"piece-{document.id}-page-{page}", download=False)


# Its own blueprint: the documents blueprint never writes the session cookie (web/auth.py),
# and this form's answer carries a flash message back to the dossier page.
access_bp = Blueprint("document_access", __name__, url_prefix="/documents")


@access_bp.post("/dossiers/<int:dossier_id>/bris-de-glace")
@requires("documents:identity:view")
def break_glass_access(dossier_id: int) -> Any:
    """A stated reason opens the dossier's identity copies for a while (audited, listed for
    the supervisors); back to the dossier page."""
    dossier = db.session.get(Dossier, dossier_id)
    if dossier is None:
        abort(404)
    if conflicting_person(dossier.people, current_user) is not None:
        message = "Conflit d'intérêts : vous ne pouvez pas consulter les pièces de ce dossier."
        abort(Response(render_template("documents/refused.html", message=message), 403))
    reason = request.form.get("reason", "")
    try:
        with unit_of_work() as session:
            break_glass(
                session,
                dossier,
                current_user,
                reason,
                minutes=current_app.config["RA_SETTINGS"].claim_minutes,
            )
    except AccessError as exc:
        flash(str(exc), "danger")
    else:
        flash("Accès aux pièces d'identité enregistré avec sa raison (bris de glace).", "success")
    return redirect(url_for("review.dossier_page", dossier_id=dossier_id))


@bp.app_template_global()
def identity_copy_hidden(document: Document) -> bool:
    """For the dossier page: is this copy's image withheld from the signed-in user?"""
    if document.type not in NEED_TO_KNOW_TYPES:
        return False
    dossier = db.session.get(Dossier, document.dossier_id)
    return (
        dossier is None or identity_access(cast(Session, db.session), dossier, current_user) is None
    )
