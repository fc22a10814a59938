"""Document bytes leave the store as something that cannot run: every route of the documents
blueprint, through the app, with the headers a browser obeys."""

from __future__ import annotations

import io
import logging

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import TestResponse

from ra_workbench.accounts.models import User
from ra_workbench.audit.models import AuditEvent
from ra_workbench.db import utcnow
from ra_workbench.documents.models import Document
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from tests.factories import make_document, make_dossier, make_user, pdf_bytes, png_bytes
from tests.review.test_views import login

# The uploaded name is personal data: no header, no log line may carry it.
UPLOADED_NAME = "CNI Claire DURAND née le 01-01-1980.png"


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 40), "#cfe3f7").save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
def operator(app: Flask) -> User:
    user = make_user(db.session)
    db.session.commit()
    return user


@pytest.fixture
def dossier(app: Flask, operator: User) -> Dossier:
    # The operator holds the claim: she has a need to know for its identity copies
    # (tests/documents/test_need_to_know.py tells the others' story).
    dossier = make_dossier(db.session, claimed_by_id=operator.id, claimed_at=utcnow())
    db.session.commit()
    return dossier


def _document(dossier: Dossier, data: bytes, name: str = UPLOADED_NAME) -> Document:
    document = make_document(db.session, dossier, data=data, original_name=name)
    db.session.commit()
    return document


def _views() -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(
                AuditEvent.event_type == "document.viewed"
            )
        )
        or 0
    )


def assert_nothing_in_it_can_run(response: TestResponse) -> None:
    policy = response.headers["Content-Security-Policy"]
    directives = {d.strip().split(" ")[0]: d.strip() for d in policy.split(";")}
    assert directives["sandbox"] == "sandbox"  # no allow-scripts, no allow-same-origin…
    assert directives["default-src"] == "default-src 'none'"
    assert directives["form-action"] == "form-action 'none'"
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert "script-src" not in directives
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"].startswith("no-store")


def assert_named_neutrally(response: TestResponse, disposition: str, filename: str) -> None:
    assert response.headers["Content-Disposition"] == f"{disposition}; filename={filename}"
    assert "DURAND" not in str(response.headers)


@pytest.mark.parametrize(
    "sample", [(png_bytes(), "image/png", "png"), (_jpeg(), "image/jpeg", "jpg")]
)
def test_an_image_is_shown_as_the_image_its_bytes_are_sandboxed_and_named_neutrally(
    client: FlaskClient,
    operator: User,
    dossier: Dossier,
    sample: tuple[bytes, str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    data, media, extension = sample
    document = _document(dossier, data)
    login(client, operator)
    with caplog.at_level(logging.DEBUG):
        response = client.get(f"/documents/{document.id}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == media
    assert response.data == data
    assert_nothing_in_it_can_run(response)
    assert_named_neutrally(response, "inline", f"piece-{document.id}.{extension}")
    assert "DURAND" not in caplog.text

    response = client.get(f"/documents/{document.id}?telecharger=1")
    assert response.headers["Content-Type"] == media
    assert_nothing_in_it_can_run(response)
    assert_named_neutrally(response, "attachment", f"piece-{document.id}.{extension}")
    assert _views() == 2


def test_a_pdf_is_never_shown_by_the_browser_only_as_our_page_images_or_downloaded(
    client: FlaskClient, operator: User, dossier: Dossier
) -> None:
    kbis = _document(dossier, pdf_bytes(pages=2), name="Kbis DURAND.pdf")
    kbis.page_count = 2
    db.session.commit()
    login(client, operator)

    response = client.get(f"/documents/{kbis.id}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/documents/{kbis.id}/apercu")
    assert_nothing_in_it_can_run(response)
    assert _views() == 0  # no bytes left

    response = client.get(f"/documents/{kbis.id}?telecharger=1")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert_nothing_in_it_can_run(response)
    assert_named_neutrally(response, "attachment", f"piece-{kbis.id}.pdf")

    response = client.get(f"/documents/{kbis.id}/pages/2.png")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.data.startswith(b"\x89PNG")
    assert_nothing_in_it_can_run(response)
    assert_named_neutrally(response, "inline", f"piece-{kbis.id}-page-2.png")
    assert _views() == 2


def test_the_preview_is_our_page_showing_the_pdf_pages_as_images(
    client: FlaskClient, operator: User, dossier: Dossier
) -> None:
    kbis = _document(dossier, pdf_bytes(pages=2), name="Kbis DURAND.pdf")
    kbis.page_count = 2
    db.session.commit()
    login(client, operator)
    response = client.get(f"/documents/{kbis.id}/apercu")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    # The application's policy (its stylesheet and script), not the documents' sandbox.
    policy = response.headers["Content-Security-Policy"]
    assert "sandbox" not in policy
    assert "script-src 'self'" in policy
    assert response.headers["Cache-Control"].startswith("no-store")
    html = response.get_data(as_text=True)
    assert f"/documents/{kbis.id}/pages/1.png" in html
    assert f"/documents/{kbis.id}/pages/2.png" in html
    assert f"/documents/{kbis.id}?telecharger=1" in html
    assert "Télécharger l'original" in html
    assert "DURAND" not in html


def test_what_is_neither_image_nor_pdf_is_only_downloaded_as_bytes_of_no_kind(
    client: FlaskClient, operator: User, dossier: Dossier
) -> None:
    hostile = _document(dossier, b"<html><script>fetch('/x')</script></html>", name="DURAND.png")
    login(client, operator)
    response = client.get(f"/documents/{hostile.id}")
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert_nothing_in_it_can_run(response)
    assert_named_neutrally(response, "attachment", f"piece-{hostile.id}.bin")
    assert "Format non affichable" in client.get(f"/documents/{hostile.id}/apercu").get_data(
        as_text=True
    )


def test_refusals_from_the_documents_routes_are_sandboxed_too(
    client: FlaskClient, operator: User, dossier: Dossier
) -> None:
    image = _document(dossier, png_bytes())
    login(client, operator)
    for path in ("/documents/999999", f"/documents/{image.id}/pages/1.png"):
        response = client.get(path)
        assert response.status_code == 404
        assert_nothing_in_it_can_run(response)
