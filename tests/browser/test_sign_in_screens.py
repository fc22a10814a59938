"""A new operator's first day in Chromium: password, enrolment of an authenticator app from the
QR code, the recovery codes shown once, then the queue; and the next morning, the code."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from ra_workbench.extensions import db
from tests.auth import PASSWORD, next_code
from tests.factories import make_user

pytestmark = pytest.mark.browser
Shot = Callable[[Page, str], Path]


def test_a_new_operator_enrols_an_authenticator_then_signs_in_with_its_code(
    app: Flask, live_server: str, page: Page, shot: Shot
) -> None:
    newcomer = make_user(db.session, totp=False, first_name="Nina", last_name="Morel")
    db.session.commit()

    page.goto(f"{live_server}/validation/")
    expect(page).to_have_url(re.compile(r"/connexion"))
    page.fill("#email", newcomer.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")

    expect(page.locator("h1")).to_have_text("Activer la double authentification")
    qr = page.locator("figure.qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None
    assert box["width"] >= 150  # large enough for a phone's camera
    assert box["y"] + box["height"] <= 768  # the QR code is on the first screen
    secret = page.locator("code.secret").inner_text().strip()
    shot(page, "sign-in-enrol")

    page.fill("#code", "123456" if pyotp.TOTP(secret).now() != "123456" else "654321")
    page.click("button:text-is('Activer')")
    expect(page.locator(".flash-danger")).to_contain_text("Code incorrect")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button:text-is('Activer')")

    expect(page.locator("h1")).to_have_text("Double authentification activée")
    expect(page.locator("ol.recovery-codes li")).to_have_count(10)
    shot(page, "sign-in-recovery-codes")
    page.click("text=J'ai noté mes codes, continuer")
    expect(page.locator("h1")).to_have_text("File de validation")

    page.click("text=Se déconnecter")
    expect(page).to_have_url(re.compile(r"/connexion"))
    page.goto(f"{live_server}/validation/")
    expect(page).to_have_url(re.compile(r"/connexion"))  # the session ended with the logout

    page.fill("#email", newcomer.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Vérification en deux étapes")
    shot(page, "sign-in-second-factor")
    page.goto(f"{live_server}/validation/")
    expect(page).to_have_url(re.compile(r"/connexion"))  # the password alone opens nothing
    page.goto(f"{live_server}/connexion/verification")
    page.fill("#code", next_code(newcomer))
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("File de validation")


def test_a_link_to_another_site_after_sign_in_lands_on_the_queue(
    app: Flask, live_server: str, page: Page
) -> None:
    operator = make_user(db.session)
    db.session.commit()

    page.goto(f"{live_server}/connexion?next=%2F%09%2Fevil.example%2F")
    page.fill("#email", operator.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.fill("#code", next_code(operator))
    page.click("button[type=submit]")

    expect(page.locator("h1")).to_have_text("File de validation")
    assert page.url.startswith(live_server)
