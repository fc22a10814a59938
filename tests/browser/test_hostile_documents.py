"""A customer uploads a PDF carrying JavaScript; the operator opens it from the dossier page
and nothing in it runs.

Headless Chromium does show PDFs in its viewer and PDFium there does run a PDF's own
JavaScript: the control below, the same file served inline as it used to be, shows its
`app.alert` (with or without `Content-Security-Policy: sandbox`: the sandbox does not reach
the viewer). What this Chromium never does, inline or not, is send the requests that
`app.launchURL`, `this.submitForm` or `this.getURL` ask for without a click; the file asks
anyway and the live server checks it never received them. So the app never lets the browser
show a PDF: the operator sees it as page images on our own page, and the original only
downloads.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, Route, expect
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript

from ra_workbench.db import utcnow
from ra_workbench.documents.views import DOCUMENT_CSP
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from tests.browser.test_review_screens import sign_in
from tests.factories import make_check_run, make_document, make_dossier, make_user, pdf_bytes

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]
BEACON = "/balise-pdf"
# Long enough for an OpenAction to have run: the control's alert shows well within it.
SETTLE_MS = 3_000


class Received:
    """WSGI middleware: every path the live server is asked for during one test."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.paths: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self.lock:
            self.paths.append(str(environ.get("PATH_INFO")))
        return self.app(environ, start_response)  # type: ignore[no-any-return]

    def beacons(self) -> list[str]:
        with self.lock:
            return [p for p in self.paths if p.startswith(BEACON)]


@pytest.fixture
def received(live_app: Flask, live_server: str, monkeypatch: pytest.MonkeyPatch) -> Received:
    recorder = Received(live_app.wsgi_app)
    monkeypatch.setattr(live_app, "wsgi_app", recorder)
    return recorder


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(
        locale="fr-FR", viewport={"width": 1366, "height": 768}, accept_downloads=True
    )
    yield context
    context.close()


@pytest.fixture
def dialogs(context: BrowserContext) -> list[str]:
    """Every alert, confirm or prompt any page of the context shows (dismissed)."""
    shown: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        shown.append(dialog.message)
        dialog.dismiss()

    context.on("dialog", dismiss)
    return shown


@pytest.fixture
def page(context: BrowserContext) -> Page:
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def hostile_pdf(base: str) -> bytes:
    """A one-page Kbis whose OpenAction pops an alert and calls the live server three ways."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(text="EXTRAIT KBIS"))))
    writer.add_open_action(
        JavaScript(
            "app.alert('pdf-js');"
            f"try {{ app.launchURL('{base}{BEACON}/launch', true); }} catch (e) {{}}"
            f"try {{ this.submitForm('{base}{BEACON}/submit'); }} catch (e) {{}}"
            f"try {{ this.getURL('{base}{BEACON}/geturl'); }} catch (e) {{}}"
        )
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _dossier_with_a_hostile_kbis(base: str) -> tuple[Dossier, int]:
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier)
    make_document(db.session, dossier, side="recto")
    kbis = make_document(
        db.session, dossier, type="kbis", person_role=None, side=None, data=hostile_pdf(base)
    )
    db.session.commit()
    return dossier, kbis.id


@pytest.mark.usefixtures("app")
def test_a_pdf_carrying_javascript_opened_from_the_dossier_page_runs_nothing(
    live_server: str, received: Received, page: Page, dialogs: list[str], shot: Shot
) -> None:
    operator = make_user(db.session)
    dossier, kbis_id = _dossier_with_a_hostile_kbis(live_server)
    sign_in(page, live_server, operator)
    page.goto(f"{live_server}/validation/dossiers/{dossier.id}")
    expect(page.locator("h1")).to_contain_text(dossier.order_number)
    kbis = page.locator(f"figure[data-document-id='{kbis_id}']")
    kbis.scroll_into_view_if_needed()
    expect(kbis.locator("img").first).to_have_js_property("complete", True)

    with page.expect_popup() as popup_info:
        kbis.locator("a.open-doc").click()
    popup = popup_info.value
    popup.wait_for_load_state()
    popup.wait_for_timeout(SETTLE_MS)
    assert dialogs == []  # served inline as before, the alert shows here (see the control)
    assert received.beacons() == []
    expect(popup).to_have_url(re.compile(rf"/documents/{kbis_id}/apercu$"))
    image = popup.locator("figure.doc-page img").first
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") > 500  # the page, rendered by us
    shot(popup, "20-pdf-hostile-apercu")
    assert [frame.url for frame in popup.frames] == [popup.url]  # no PDF viewer anywhere

    with popup.expect_download() as download_info:
        popup.click("a.download-doc")
    download = download_info.value
    assert download.suggested_filename == f"piece-{kbis_id}.pdf"
    popup.wait_for_timeout(SETTLE_MS)

    assert dialogs == []
    assert received.beacons() == []
    assert len(page.context.pages) == 2  # the dossier and the preview: nothing launched


def test_control_the_same_pdf_shown_by_chromium_runs_its_script_even_sandboxed(
    app: Flask, live_server: str, received: Received, page: Page, dialogs: list[str]
) -> None:
    """Why the app never lets Chromium show a PDF: this is what the test above would see."""
    data = hostile_pdf(live_server)

    def inline(route: Route) -> None:
        headers = {"Content-Type": "application/pdf", "Content-Disposition": "inline"}
        if route.request.url.endswith("sandboxed.pdf"):
            headers["Content-Security-Policy"] = DOCUMENT_CSP
        route.fulfill(status=200, headers=headers, body=data)

    page.route(re.compile(r".*/controle/.*\.pdf$"), inline)  # never reaches the server
    for name in ("inline.pdf", "sandboxed.pdf"):
        with page.expect_event("dialog"):
            page.goto(f"{live_server}/controle/{name}")
        page.wait_for_timeout(SETTLE_MS)
    assert dialogs == ["pdf-js", "pdf-js"]
    # Nor does this Chromium send what the script asks for, even unsandboxed.
    assert received.beacons() == []


def test_the_sandbox_the_documents_carry_stops_script_in_content_that_would_be_html(
    app: Flask, live_server: str, received: Received, page: Page
) -> None:
    """Were a browser ever to take a document for a page, its script would not run."""
    html = (
        "<!doctype html><title>avant</title><p>piece</p>"
        f"<script>document.title = 'script'; fetch('{BEACON}/html');</script>"
        f"<img src='{BEACON}/image'><form action='{BEACON}/form'></form>"
    )

    def as_page(route: Route) -> None:
        headers = {"Content-Type": "text/html", "Content-Security-Policy": DOCUMENT_CSP}
        route.fulfill(status=200, headers=headers, body=html)

    page.route(re.compile(r".*/controle/page\.html$"), as_page)
    page.goto(f"{live_server}/controle/page.html")
    expect(page.locator("p")).to_have_text("piece")
    page.wait_for_timeout(1_000)
    assert page.title() == "avant"
    assert page.evaluate("() => window.origin") == "null"  # sandboxed: an opaque origin
    assert received.beacons() == []  # neither the script's fetch nor the image


def test_an_identity_image_opened_in_its_own_tab_still_shows_under_the_sandbox(
    app: Flask, live_server: str, page: Page, shot: Shot
) -> None:
    operator = make_user(db.session)
    # She holds the claim: identity copies open for the claimant (documents/access.py).
    dossier = make_dossier(db.session, claimed_by_id=operator.id, claimed_at=utcnow())
    recto = make_document(db.session, dossier, side="recto")
    db.session.commit()
    sign_in(page, live_server, operator)
    response = page.goto(f"{live_server}/documents/{recto.id}")
    assert response is not None
    assert "sandbox" in response.headers["content-security-policy"]
    image = page.locator("img")
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") == 320
    shot(page, "21-piece-image-sandbox")
