"""A revocation decided in the browser, as relying parties then see it (issue 16's
acceptance): the holder asks through the portal API, an operator claims the request in
« Révocations » and revokes; before, the real `openssl ocsp` says good and `openssl verify
-crl_check` passes against the live server; after, OCSP says revoked and the CRL check
fails. The revocation pages fit the laptop and axe-core finds nothing serious."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from ra_workbench.extensions import db
from ra_workbench.issuance.publication import local_ca
from tests.browser.test_laptop_and_accessibility import _checked_here
from tests.browser.test_review_screens import sign_in
from tests.conftest import API_TOKEN
from tests.factories import make_user
from tests.issuance.test_openssl_revocation import _ocsp, _verify_with_crl
from tests.revocation.builders import issued, portal_request

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]


def _ask_through_the_portal(live_server: str, body: dict[str, object]) -> dict[str, object]:
    call = urllib.request.Request(  # noqa: S310 - our own live server
        f"{live_server}/api/v1/revocations",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(call, timeout=30) as answer:  # noqa: S310 - our own live server
        assert answer.status == 201
        return json.loads(answer.read())  # type: ignore[no-any-return]


def test_a_revocation_decided_in_the_browser_turns_ocsp_and_the_crl_to_revoked(
    app: Flask, live_server: str, page: Page, shot: Shot, tmp_path: Path
) -> None:
    dossier, certificate = issued(db.session)
    operator = make_user(db.session, first_name="Marie-Christine", last_name="Delacroix")
    body = portal_request(dossier, certificate, role="legal_representative")
    db.session.commit()
    ca = local_ca()
    files = {name: tmp_path / f"{name}.pem" for name in ("holder", "issuing", "chain")}
    files["holder"].write_text(certificate.pem)
    files["issuing"].write_bytes(ca.issuing_certificate_path.read_bytes())
    files["chain"].write_text(ca.chain_pem())

    # Before: good for OCSP, OK for the CRL.
    assert f"{files['holder']}: good" in _ocsp(live_server, files)
    before = _verify_with_crl(live_server, files, tmp_path)
    assert before.returncode == 0, before.stderr

    answered = _ask_through_the_portal(live_server, body)
    assert answered["state"] == "open"

    sign_in(page, live_server, operator)
    page.click(".topbar a:text-is('Révocations')")
    expect(page.locator("h1")).to_have_text("Révocations")
    row = page.locator(f"tr[data-revocation='{answered['request_id']}']")
    expect(row).to_contain_text("Changement d'affiliation")
    expect(row).to_contain_text("Représentant légal")
    assert _checked_here(page) == []
    shot(page, "revocation-file")

    row.get_by_role("link", name=f"Demande n° {answered['request_id']}").click()
    expect(page.locator("#link-check")).to_contain_text("Lien vérifié")
    page.click("#claim-button")
    expect(page.locator(".flash-success")).to_contain_text("Demande prise en charge")
    assert _checked_here(page) == []
    page.get_by_label("Révoquer").check()
    page.fill("#comment", "Départ du porteur confirmé par le représentant légal")
    shot(page, "revocation-demande")
    page.click("#decide-button")
    expect(page.locator(".flash-success")).to_have_text(
        "Certificat révoqué ; le client et le porteur sont prévenus."
    )
    expect(page.locator("#certificate-state")).to_contain_text("révoqué le")
    expect(page.locator("#journal")).to_contain_text("Certificat révoqué par l'AC")
    assert _checked_here(page) == []
    shot(page, "revocation-decidee")

    # After: revoked for OCSP (with the reason), the CRL check fails.
    after = _ocsp(live_server, files)
    assert f"{files['holder']}: revoked" in after
    assert "Revocation Reason: affiliationChanged" in after
    refused = _verify_with_crl(live_server, files, tmp_path)
    assert refused.returncode != 0
    assert "certificate revoked" in refused.stderr + refused.stdout


def test_the_staff_form_that_opens_a_request_fits_and_reads_well(
    app: Flask, live_server: str, page: Page, shot: Shot
) -> None:
    _dossier, certificate = issued(db.session)
    operator = make_user(db.session)
    db.session.commit()
    sign_in(page, live_server, operator)
    page.goto(f"{live_server}/emission/certificats/{certificate.id}")
    page.click("#open-revocation")
    expect(page.locator("h1")).to_contain_text("Demander la révocation")
    assert _checked_here(page) == []
    page.select_option("#ground", "holder_left")
    page.fill("#comment", "Appel du service RH : départ du porteur le 30/11")
    page.click("#open-button")
    expect(page.locator(".flash-success")).to_contain_text("double contrôle")
    expect(page.locator("#four-eyes")).to_be_visible()
    assert _checked_here(page) == []
    shot(page, "revocation-ouverte-par-l-equipe")
