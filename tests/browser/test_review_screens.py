"""The operators' day in a real browser: log in, claim, look at the documents, decide."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from ra_workbench.accounts.models import User
from ra_workbench.audit.models import AuditEvent
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from tests.auth import next_code
from tests.browser.conftest import staff_page
from tests.factories import (
    make_check_run,
    make_document,
    make_dossier,
    make_extraction,
    make_user,
    png_bytes,
)

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"
Shot = Callable[[Page, str], Path]


def sign_in(page: Page, base: str, user: User) -> None:
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/connexion"))
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Vérification en deux étapes")
    page.fill("#code", next_code(user))
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("File de validation")


def _dossier_with_documents(*failures: tuple[str, str], kbis_data: bytes | None = None) -> Dossier:
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier, list(failures))
    recto = make_document(
        db.session, dossier, side="recto", data=png_bytes(640, 400, "#cfe3f7", "CNI RECTO")
    )
    make_document(db.session, dossier, side="verso", data=png_bytes(640, 400, "#e7f0d9", "VERSO"))
    make_extraction(
        db.session,
        recto,
        "identity",
        {
            "mrz": {
                "surname": "DURAND",
                "given_names": ["CLAIRE"],
                "lines": [
                    "IDFRADURAND<<<<<<<<<<<<<<<<<<<<<<<<<<",
                    "1234567890123CLAIRE<<<<<<8001014F6",
                ],
            }
        },
    )
    make_document(db.session, dossier, type="kbis", person_role=None, side=None, data=kbis_data)
    db.session.commit()
    return dossier


def _status(dossier_id: int) -> str:
    db.session.expire_all()
    dossier = db.session.get(Dossier, dossier_id)
    assert dossier is not None
    return dossier.status


def _open_and_claim(page: Page, dossier: Dossier) -> None:
    page.click(f"tr[data-order='{dossier.order_number}'] a")
    expect(page.locator("h1")).to_contain_text(dossier.order_number)
    page.click("#claim-button")
    expect(page.locator(".flash-success")).to_contain_text("Dossier pris en charge")


def test_operator_claims_opens_a_document_and_approves_a_clean_dossier(
    app: Flask, live_server: str, page: Page, shot: Shot
) -> None:
    operator = make_user(db.session, first_name="Olivia", last_name="Perrin")
    dossier = _dossier_with_documents()
    sign_in(page, live_server, operator)
    expect(page.locator("a.tab.active .count")).to_have_text("1")
    shot(page, "01-file-de-validation")

    _open_and_claim(page, dossier)
    expect(page.locator(".claimed-by")).to_have_text("Olivia Perrin")
    expect(page.locator("pre.mrz")).to_contain_text("IDFRADURAND")

    # The recto, zoomed and rotated by the local viewer script.
    viewer = page.locator("#person-holder [data-viewer]").first
    image = viewer.locator("img")
    image.scroll_into_view_if_needed()  # images load lazily
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") == 640
    expect(viewer).to_have_attribute("data-zoom", re.compile(r"\d"))
    fitted = float(viewer.get_attribute("data-zoom") or "nan")
    viewer.locator("button[data-action=zoom-in]").click()
    viewer.locator("button[data-action=rotate]").click()
    assert float(viewer.get_attribute("data-zoom") or "nan") == pytest.approx(fitted * 1.25)
    expect(viewer).to_have_attribute("data-angle", "90")
    # The Kbis PDF rendered to a page image.
    kbis = page.locator("#organisation [data-viewer] img").first
    kbis.scroll_into_view_if_needed()
    expect(kbis).to_have_js_property("complete", True)
    assert kbis.evaluate("img => img.naturalWidth") > 500
    shot(page, "02-dossier-pris-en-charge")

    with page.expect_popup() as popup_info:
        page.locator("#person-holder a.open-doc").first.click()
    popup = popup_info.value
    popup.wait_for_load_state()
    assert popup.url.endswith(f"/documents/{dossier.documents[0].id}")
    popup.close()

    page.fill("#approve-comment", "Pièces conformes, identité vérifiée.")
    page.click("#approve-button")
    expect(page.locator(".flash-success")).to_contain_text("Dossier validé")
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "approved")
    shot(page, "03-dossier-valide")

    assert _status(dossier.id) == DossierStatus.APPROVED
    views = db.session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.event_type == "document.viewed", AuditEvent.actor_id == operator.id
        )
    )
    assert views is not None
    assert views >= 3  # recto, Kbis page, the opened tab (and the verso once scrolled to)


def test_operator_requests_documents_on_a_broken_dossier(
    app: Flask, live_server: str, page: Page, shot: Shot
) -> None:
    operator = make_user(db.session)
    dossier = _dossier_with_documents(("kbis.age", "fail"), ("identity.both_sides", "fail"))
    sign_in(page, live_server, operator)
    page.click("a.tab[data-tab=incomplete]")
    expect(page.locator("a.tab.active .count")).to_have_text("1")
    _open_and_claim(page, dossier)
    expect(page.locator("#approve-button")).to_have_count(0)
    expect(page.locator("tr.outcome-row").first).to_have_attribute("data-outcome", "fail")
    reasons = page.locator("#request-form input[type=checkbox]:checked")
    expect(reasons).to_have_count(2)  # the failing rules, preselected
    page.fill("#request-comment", "Merci d'envoyer un Kbis de moins de 3 mois.")
    shot(page, "04-demande-de-pieces")
    page.click("#request-button")
    expect(page.locator(".flash-success")).to_contain_text("Pièces demandées au client")
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "documents_requested")
    assert _status(dossier.id) == DossierStatus.DOCUMENTS_REQUESTED


def test_supervisor_seconds_an_operators_override(
    app: Flask, live_server: str, browser: Browser, page: Page, shot: Shot
) -> None:
    operator = make_user(db.session)
    supervisor = make_user(db.session, role="supervisor", first_name="Sophie", last_name="Garnier")
    dossier = _dossier_with_documents(("kbis.age", "fail"))
    sign_in(page, live_server, operator)
    page.click("a.tab[data-tab=incomplete]")
    _open_and_claim(page, dossier)
    page.check("#dt-override")  # the decision bar opens on « Demander des pièces »
    page.fill("#override-justification", "Kbis de 3 mois et 2 jours, société connue.")
    page.click("#override-button")
    expect(page.locator("[data-status]")).to_have_attribute(
        "data-status", "awaiting_second_approval"
    )

    sup = staff_page(browser)
    context = sup.context
    try:
        sign_in(sup, live_server, supervisor)
        sup.click("a.tab[data-tab=overrides]")
        expect(sup.locator("a.tab.active .count")).to_have_text("1")
        _open_and_claim(sup, dossier)
        expect(sup.locator("blockquote.justification")).to_contain_text("3 mois et 2 jours")
        shot(sup, "05-derogation-a-seconder")
        sup.fill("#second-comment", "Dérogation acceptée.")
        sup.click("#second-button")
        expect(sup.locator(".flash-success")).to_contain_text("Dérogation secondée")
        expect(sup.locator("[data-status]")).to_have_attribute("data-status", "approved")
        shot(sup, "06-derogation-secondee")
    finally:
        context.close()
    assert _status(dossier.id) == DossierStatus.APPROVED
