"""A security key in a real browser: Chromium's virtual authenticator (CDP) stands in for the
key. WebAuthn refuses IP addresses, so the browser opens the live server on localhost."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from flask import Flask
from playwright.sync_api import CDPSession, Page, expect

from ra_workbench.accounts import keys
from ra_workbench.accounts.models import SecurityKey, StaffSession, User
from ra_workbench.extensions import db
from tests.accounts.softkey import SoftKey
from tests.auth import PASSWORD, next_code
from tests.factories import make_user

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]


@pytest.fixture
def on_localhost(live_server: str) -> str:
    """The live server listens on 127.0.0.1; the browser names it localhost (a host name, as
    WebAuthn wants: the relying party is then "localhost")."""
    return live_server.replace("://127.0.0.1:", "://localhost:")


def _virtual_key(page: Page) -> tuple[CDPSession, str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added: dict[str, Any] = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": False,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp, str(added["authenticatorId"])


def _password(page: Page, base: str, user: User) -> None:
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/connexion"))
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Vérification en deux étapes")


def test_operator_registers_a_security_key_then_signs_in_with_password_and_key_only(
    app: Flask, on_localhost: str, page: Page, shot: Shot
) -> None:
    operator = make_user(db.session, first_name="Olivia", last_name="Perrin")
    db.session.commit()
    cdp, authenticator = _virtual_key(page)

    # Signed in with password and TOTP, the operator opens « Mon compte — sécurité ».
    _password(page, on_localhost, operator)
    page.fill("#code", next_code(operator))
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("File de validation")
    page.click("header a.account-link")
    expect(page.locator("h1")).to_have_text("Mon compte — sécurité")
    expect(page.locator("#totp-status")).to_contain_text("Activée depuis le")
    expect(page.locator("#no-keys")).to_be_visible()

    # An unnamed key is asked for its name first; then the key is touched (virtually).
    page.click("#add-security-key")
    expect(page.locator("#security-key-status")).to_contain_text("Donnez un nom")
    page.fill("#security-key-label", "YubiKey bleue")
    page.click("#add-security-key")
    expect(page.locator(".flash-success")).to_contain_text("« YubiKey bleue » ajoutée")
    row = page.locator("table.security-keys tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(0)).to_have_text("YubiKey bleue")
    expect(row.locator("td").nth(1)).to_have_text(re.compile(r"^\d{2}/\d{2}/\d{4} à \d{2}:\d{2}$"))
    expect(row.locator("td").nth(2)).to_have_text("jamais")
    shot(page, "security-keys-01-mon-compte")
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(credentials["credentials"]) == 1

    page.click("button:has-text('Se déconnecter')")
    expect(page.locator(".flash-info")).to_contain_text("Vous êtes déconnecté.")

    # Password, then the key: no code typed.
    _password(page, on_localhost, operator)
    expect(page.locator("#use-security-key")).to_be_visible()
    expect(page.locator("#code")).to_be_visible()  # TOTP still offered beside the key
    shot(page, "security-keys-02-verification")
    page.click("#use-security-key")
    expect(page.locator("h1")).to_have_text("File de validation")

    db.session.expire_all()
    key = db.session.scalar(sa.select(SecurityKey).where(SecurityKey.user_id == operator.id))
    assert key is not None
    assert key.last_used_at is not None
    latest = db.session.scalars(
        sa.select(StaffSession)
        .where(StaffSession.user_id == operator.id)
        .order_by(StaffSession.id.desc())
    ).first()
    assert latest is not None
    assert latest.second_factor == "webauthn"

    page.click("header a.account-link")
    expect(page.locator("table.security-keys tbody tr td").nth(2)).not_to_have_text("jamais")
    shot(page, "security-keys-03-apres-connexion")


def test_an_account_whose_only_factor_is_a_key_goes_straight_to_it(
    app: Flask, on_localhost: str, page: Page
) -> None:
    operator = make_user(db.session, totp=False)
    # The key is registered through the service with a software key, whose private key the
    # virtual authenticator then holds: the browser signs with the very key on file.
    softkey = SoftKey(origin=on_localhost)
    rp = keys.RelyingParty(id="localhost", origin=on_localhost)
    options, challenge = keys.registration_options(db.session, operator, rp)
    keys.register_key(
        db.session, operator, rp, credential=softkey.create(options), challenge=challenge, label="k"
    )
    db.session.commit()
    cdp, authenticator = _virtual_key(page)
    pkcs8 = softkey.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cdp.send(
        "WebAuthn.addCredential",
        {
            "authenticatorId": authenticator,
            "credential": {
                "credentialId": base64.b64encode(softkey.credential_id).decode(),
                "isResidentCredential": False,
                "rpId": "localhost",
                "privateKey": base64.b64encode(pkcs8).decode(),
                "signCount": 0,
            },
        },
    )

    # Password only: the key ceremony starts by itself and signs the operator in.
    page.goto(f"{on_localhost}/")
    page.fill("#email", operator.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("File de validation")
    db.session.expire_all()
    assert db.session.scalar(sa.select(SecurityKey.sign_count)) == 1
