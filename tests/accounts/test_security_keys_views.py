"""Security keys through the app (web/webauthn.py): the sign-in ceremony's JSON endpoints and
« Mon compte — sécurité », with the software key standing in for the browser's."""

from __future__ import annotations

import html
import re
from typing import Any

import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient

from ra_workbench.accounts import keys
from ra_workbench.accounts.models import SecurityKey, StaffSession, User
from ra_workbench.audit.models import AuditEvent
from ra_workbench.extensions import db
from tests.accounts.softkey import SoftKey
from tests.auth import PASSWORD, next_code, sign_in
from tests.factories import make_user

QUEUE = "/validation/"
ORIGIN = "http://localhost"  # the test client's host
RP = keys.RelyingParty(id="localhost", origin=ORIGIN)


def _with_key(user: User, label: str = "YubiKey bleue") -> SoftKey:
    softkey = SoftKey(origin=ORIGIN)
    options, challenge = keys.registration_options(db.session, user, RP)
    keys.register_key(
        db.session, user, RP, credential=softkey.create(options), challenge=challenge, label=label
    )
    return softkey


def _password(client: FlaskClient, user: User) -> None:
    g.pop("_login_user", None)
    response = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/connexion/verification"


def _post_json(client: FlaskClient, url: str, body: dict[str, Any] | None = None) -> Any:
    g.pop("_login_user", None)
    return client.post(url, json=body or {})


def _key_sign_in(client: FlaskClient, softkey: SoftKey) -> Any:
    options = _post_json(client, "/connexion/cle/options")
    assert options.status_code == 200, options.get_data(True)
    return _post_json(
        client,
        "/connexion/cle/verification",
        {"credential": softkey.get(options.get_data(True))},
    )


def test_an_account_with_only_a_key_signs_in_with_it_and_reaches_the_queue(
    app: Flask, client: FlaskClient
) -> None:
    operator = make_user(db.session, totp=False)
    softkey = _with_key(operator)
    db.session.commit()

    _password(client, operator)
    page = client.get("/connexion/verification").get_data(True)
    # Straight to the key: the ceremony starts by itself, no TOTP field, a recovery code aside.
    assert 'data-autostart="1"' in page
    assert "Utiliser ma clé de sécurité" in page
    assert "Clé perdue ? Utiliser un code de secours" in page
    assert "webauthn.js" in page
    assert client.get(QUEUE).status_code == 302  # not before the key

    answer = _key_sign_in(client, softkey)
    assert answer.status_code == 200, answer.get_data(True)
    assert answer.get_json() == {"redirect": "/"}
    g.pop("_login_user", None)
    assert client.get(QUEUE).status_code == 200
    row = db.session.scalar(sa.select(StaffSession).where(StaffSession.user_id == operator.id))
    assert row is not None
    assert row.second_factor == "webauthn"
    login = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.event_type == "auth.login"))
    assert login is not None
    assert login.payload == {"factor": "webauthn"}


def test_an_account_with_both_factors_is_offered_both(app: Flask, client: FlaskClient) -> None:
    operator = make_user(db.session)
    _with_key(operator)
    db.session.commit()
    _password(client, operator)
    page = client.get("/connexion/verification").get_data(True)
    assert "Utiliser ma clé de sécurité" in page
    assert 'id="code"' in page
    assert "data-autostart" not in page


def test_a_refused_key_is_audited_and_its_challenge_cannot_be_used_again(
    app: Flask, client: FlaskClient
) -> None:
    operator = make_user(db.session, totp=False)
    softkey = _with_key(operator)
    db.session.commit()
    _password(client, operator)

    options = _post_json(client, "/connexion/cle/options").get_data(True)
    wrong = softkey.get(options, origin="http://evil.example")
    refused = _post_json(client, "/connexion/cle/verification", {"credential": wrong})
    assert refused.status_code == 403
    assert refused.get_json()["error"] == keys.KEY_REFUSED_FR
    failed = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.event_type == "auth.second_factor_failed")
    ).all()
    assert [e.payload["factor"] for e in failed] == ["webauthn"]  # committed despite refusal

    # The same challenge, now answered correctly: it was used up by the refused answer.
    again = _post_json(client, "/connexion/cle/verification", {"credential": softkey.get(options)})
    assert again.status_code == 400
    assert again.get_json()["error"] == "Délai dépassé : recommencez l'opération avec votre clé."
    assert client.get(QUEUE).status_code == 302


def test_a_cloned_key_is_refused_at_sign_in(app: Flask, client: FlaskClient) -> None:
    operator = make_user(db.session, totp=False)
    softkey = _with_key(operator)
    db.session.commit()
    copy = softkey.clone()
    _password(client, operator)
    assert _key_sign_in(client, softkey).status_code == 200
    g.pop("_login_user", None)
    assert client.post("/deconnexion").status_code == 302

    _password(client, operator)
    answer = _key_sign_in(client, copy)
    assert answer.status_code == 403
    assert answer.get_json()["error"] == keys.CLONED_KEY_FR
    assert db.session.scalar(
        sa.select(AuditEvent.id).where(AuditEvent.event_type == "auth.security_key_cloned")
    )


def test_no_key_ceremony_without_a_pending_sign_in(app: Flask, client: FlaskClient) -> None:
    response = _post_json(client, "/connexion/cle/options")
    assert response.status_code == 401
    assert "expirée" in response.get_json()["error"]


def test_the_security_page_needs_a_signed_in_account(app: Flask, client: FlaskClient) -> None:
    response = client.get("/compte/securite")
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_operator_adds_lists_and_removes_a_key_on_the_security_page(
    app: Flask, client: FlaskClient
) -> None:
    operator = make_user(db.session)
    db.session.commit()
    sign_in(client, operator)

    page = client.get("/compte/securite").get_data(True)
    assert "Mon compte — sécurité" in page
    assert "Activée depuis le" in page
    assert "Aucune clé de sécurité enregistrée." in page
    assert 'id="add-security-key"' in page
    assert re.search(r"Il vous reste <strong>0</strong> codes? de secours sur 10", page)

    softkey = SoftKey(origin=ORIGIN)
    options = _post_json(client, "/compte/securite/cles/options")
    assert options.status_code == 200
    credential = softkey.create(options.get_data(True))
    added = _post_json(
        client, "/compte/securite/cles", {"label": "YubiKey bleue", "credential": credential}
    )
    assert added.status_code == 200, added.get_data(True)
    assert added.get_json() == {"redirect": "/compte/securite"}

    page = client.get("/compte/securite").get_data(True)
    assert "Clé de sécurité « YubiKey bleue » ajoutée" in page
    key = db.session.scalar(sa.select(SecurityKey))
    assert key is not None
    assert key.user_id == operator.id
    assert "YubiKey bleue" in page
    assert "jamais" in page  # never used yet
    assert re.search(r"\d{2}/\d{2}/\d{4} à \d{2}:\d{2}", page)  # added, Paris time

    g.pop("_login_user", None)
    removed = client.post(f"/compte/securite/cles/{key.id}/supprimer", follow_redirects=True)
    assert "Clé de sécurité « YubiKey bleue » retirée." in removed.get_data(True)
    assert db.session.scalar(sa.select(SecurityKey.id)) is None


def test_a_registration_answer_needs_its_own_ceremony(app: Flask, client: FlaskClient) -> None:
    operator = make_user(db.session)
    db.session.commit()
    sign_in(client, operator)
    softkey = SoftKey(origin=ORIGIN)
    # Options asked for sign-in purposes do not register a key (no such challenge kept).
    options, _challenge = keys.registration_options(db.session, operator, RP)
    response = _post_json(
        client, "/compte/securite/cles", {"label": "x", "credential": softkey.create(options)}
    )
    assert response.status_code == 400
    assert db.session.scalar(sa.select(SecurityKey.id)) is None


def test_the_last_factor_of_a_key_only_account_stays(app: Flask, client: FlaskClient) -> None:
    operator = make_user(db.session, totp=False)
    softkey = _with_key(operator)
    db.session.commit()
    _password(client, operator)
    assert _key_sign_in(client, softkey).status_code == 200

    page = client.get("/compte/securite").get_data(True)
    assert "Non activée" in page
    key_id = db.session.scalar(sa.select(SecurityKey.id))
    g.pop("_login_user", None)
    response = client.post(f"/compte/securite/cles/{key_id}/supprimer", follow_redirects=True)
    assert keys.LAST_FACTOR_FR in html.unescape(response.get_data(True))
    assert db.session.scalar(sa.select(SecurityKey.id)) == key_id


def test_new_recovery_codes_are_shown_once(app: Flask, client: FlaskClient) -> None:
    operator = make_user(db.session)
    db.session.commit()
    sign_in(client, operator)
    g.pop("_login_user", None)
    response = client.post("/compte/securite/codes-de-secours")
    page = response.get_data(True)
    assert "Nouveaux codes de secours" in page
    assert len(re.findall(r"<li><code>[a-z0-9]{5}-[a-z0-9]{5}</code></li>", page)) == 10
    page = client.get("/compte/securite").get_data(True)
    assert "Il vous reste <strong>10</strong> codes de secours sur 10." in page
    assert "<code>" not in page


def test_keys_are_not_offered_on_an_ip_address(app: Flask) -> None:
    operator = make_user(db.session)
    db.session.commit()
    client = app.test_client()
    g.pop("_login_user", None)
    client.post(
        "/connexion",
        data={"email": operator.email, "password": PASSWORD},
        base_url="http://127.0.0.1:5000",
    )
    client.post(
        "/connexion/verification",
        data={"code": next_code(operator)},
        base_url="http://127.0.0.1:5000",
    )
    g.pop("_login_user", None)
    page = client.get("/compte/securite", base_url="http://127.0.0.1:5000").get_data(True)
    assert "http://localhost:5000" in page
    assert 'id="add-security-key"' not in page
    g.pop("_login_user", None)
    response = client.post(
        "/compte/securite/cles/options", json={}, base_url="http://127.0.0.1:5000"
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == keys.IP_ADDRESS_FR


def test_a_key_only_account_that_lost_its_key_signs_in_with_a_recovery_code(
    app: Flask, client: FlaskClient
) -> None:
    operator = make_user(db.session, totp=False)
    _with_key(operator)
    codes = keys.regenerate_recovery_codes(db.session, operator)
    db.session.commit()
    _password(client, operator)
    g.pop("_login_user", None)
    response = client.post("/connexion/verification", data={"code": codes[0]})
    assert response.status_code == 302
    g.pop("_login_user", None)
    assert client.get(QUEUE).status_code == 200
