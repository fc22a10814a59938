"""Staff sign in as trusted roles: a password is not enough, a session ends when it is ended,
and the sign-in page tells an attacker nothing about which accounts exist."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import replace

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient

from ra_workbench.accounts import service as account_service
from ra_workbench.accounts.models import RecoveryCode, SecurityKey, StaffSession, User
from ra_workbench.accounts.service import LOGIN_REFUSED_FR
from ra_workbench.app import create_app
from ra_workbench.audit.models import AuditEvent
from ra_workbench.config import Settings
from ra_workbench.extensions import db
from ra_workbench.web.auth import safe_next
from tests.auth import PASSWORD, next_code, sign_in
from tests.factories import make_user

QUEUE = "/validation/"


def _get(client: FlaskClient, url: str) -> tuple[int, str]:
    g.pop("_login_user", None)
    response = client.get(url)
    return response.status_code, response.headers.get("Location", "")


def _post(client: FlaskClient, url: str, data: dict[str, str]) -> tuple[int, str, str]:
    g.pop("_login_user", None)
    response = client.post(url, data=data)
    return response.status_code, response.headers.get("Location", ""), response.get_data(True)


def _events(kind: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event_type == kind)))


def test_a_password_alone_does_not_open_the_queue_until_the_code_is_given(
    app: Flask, client: FlaskClient
) -> None:
    operator = make_user(db.session)
    db.session.commit()

    status, location, _ = _post(
        client, "/connexion", {"email": operator.email, "password": PASSWORD}
    )
    assert (status, location) == (302, "/connexion/verification")
    status, location = _get(client, QUEUE)
    assert status == 302
    assert "/connexion" in location

    status, _, body = _post(client, "/connexion/verification", {"code": "000000"})
    assert status == 200
    assert "Code incorrect" in body
    assert _get(client, QUEUE)[0] == 302

    status, _, _ = _post(client, "/connexion/verification", {"code": next_code(operator)})
    assert status == 302
    assert _get(client, QUEUE)[0] == 200
    (login,) = _events("auth.login")
    assert login.payload == {"factor": "totp"}
    assert len(_events("auth.second_factor_failed")) == 1


def test_a_code_opens_one_session_only(app: Flask) -> None:
    operator = make_user(db.session)
    db.session.commit()
    code = next_code(operator)
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        _post(client, "/connexion", {"email": operator.email, "password": PASSWORD})

    assert _post(first, "/connexion/verification", {"code": code})[0] == 302
    status, _, body = _post(second, "/connexion/verification", {"code": code})

    assert status == 200
    assert "déjà utilisé" in body
    assert _get(second, QUEUE)[0] == 302


def test_a_recovery_code_replaces_a_lost_phone_once(app: Flask) -> None:
    operator = make_user(db.session, totp=False)
    db.session.commit()
    client = app.test_client()
    _post(client, "/connexion", {"email": operator.email, "password": PASSWORD})
    page = client.get("/connexion/activation").get_data(as_text=True)
    assert "<svg" in page
    assert "Activer la double authentification" in page
    db.session.expire_all()
    secret = db.session.get(User, operator.id).totp_secret  # type: ignore[union-attr]
    assert secret
    assert secret in page

    status, _, body = _post(client, "/connexion/activation", {"code": pyotp.TOTP(secret).now()})

    assert status == 200
    assert "codes de secours" in body
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", body)
    assert len(codes) == 10
    assert db.session.scalar(sa.select(sa.func.count(RecoveryCode.id))) == 10
    assert codes[0] not in str(db.session.scalars(sa.select(RecoveryCode.code_hash)).all())
    assert _get(client, QUEUE)[0] == 200
    client.post("/deconnexion")

    for attempt in (1, 2):
        other = app.test_client()
        _post(other, "/connexion", {"email": operator.email, "password": PASSWORD})
        status, _, body = _post(other, "/connexion/verification", {"code": codes[0].upper()})
        if attempt == 1:
            assert status == 302
            assert _get(other, QUEUE)[0] == 200
        else:
            assert status == 200
            assert "déjà utilisé" in body
    (used,) = _events("auth.recovery_code_used")
    assert used.payload == {"left": 9}


def test_an_account_without_second_factor_must_enrol_unless_within_its_grace(
    app: Flask,
) -> None:
    newcomer = make_user(db.session, totp=False)
    db.session.commit()
    client = app.test_client()
    _post(client, "/connexion", {"email": newcomer.email, "password": PASSWORD})

    assert _get(client, "/connexion/verification")[1] == "/connexion/activation"
    page = client.get("/connexion/activation").get_data(as_text=True)
    assert "Plus tard" not in page
    _post(client, "/connexion/activation", {"grace-later": "1"})
    assert _get(client, QUEUE)[0] == 302

    app.config["RA_MFA_GRACE"] = dt.timedelta(days=7)
    try:
        page = client.get("/connexion/activation").get_data(as_text=True)
        assert "Plus tard" in page
        assert "sans second facteur jusqu" in page
        status, _, _ = _post(client, "/connexion/activation", {"grace-later": "1"})
        assert status == 302
        assert _get(client, QUEUE)[0] == 200
        (login,) = _events("auth.login")
        assert login.payload == {"factor": "grace"}
    finally:
        app.config["RA_MFA_GRACE"] = dt.timedelta(0)


def test_a_session_cookie_copied_before_logout_is_refused_after_it(app: Flask) -> None:
    operator = make_user(db.session)
    db.session.commit()
    browser = app.test_client()
    sign_in(browser, operator)
    copied = browser.get_cookie("session")
    assert copied is not None
    thief = app.test_client()
    thief.set_cookie("session", copied.value)
    assert _get(thief, QUEUE)[0] == 200

    g.pop("_login_user", None)
    browser.post("/deconnexion")

    status, location = _get(thief, QUEUE)
    assert status == 302
    assert "/connexion" in location
    row = db.session.scalars(sa.select(StaffSession)).one()
    assert row.revoked_at is not None
    assert row.revoked_by == operator.email


def test_an_admin_revokes_a_session_and_it_stops_at_once(app: Flask) -> None:
    operator = make_user(db.session)
    admin = make_user(db.session, "admin")
    db.session.commit()
    op_client, admin_client = app.test_client(), app.test_client()
    sign_in(op_client, operator)
    sign_in(admin_client, admin)
    assert _get(op_client, QUEUE)[0] == 200

    g.pop("_login_user", None)
    page = admin_client.get("/admin/sessions").get_data(as_text=True)
    assert operator.email in page
    assert "cette session" in page
    row = db.session.scalars(
        sa.select(StaffSession).where(StaffSession.user_id == operator.id)
    ).one()
    g.pop("_login_user", None)
    response = admin_client.post(f"/admin/sessions/{row.id}/revoquer", follow_redirects=True)
    assert "prend fin immédiatement" in response.get_data(as_text=True)

    assert _get(op_client, QUEUE)[0] == 302
    assert _get(admin_client, QUEUE)[0] == 200
    (revoked,) = _events("auth.session_revoked")
    assert revoked.actor == admin.email
    assert revoked.payload["reason"] == "admin"
    g.pop("_login_user", None)
    assert op_client.get("/admin/sessions").status_code == 302


def test_an_operator_cannot_list_or_revoke_sessions(app: Flask) -> None:
    operator = make_user(db.session)
    db.session.commit()
    client = app.test_client()
    sign_in(client, operator)
    assert _get(client, "/admin/sessions")[0] == 403
    g.pop("_login_user", None)
    assert client.post("/admin/sessions/1/revoquer").status_code == 403


def test_every_refusal_reads_the_same_and_costs_one_password_hash(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = make_user(db.session)
    locked = make_user(db.session)
    locked.locked_until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    db.session.commit()
    verifications: list[str] = []
    real = account_service._hasher

    class CountingHasher:
        def verify(self, hash_: str, password: str) -> bool:
            verifications.append(hash_)
            return real.verify(hash_, password)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    monkeypatch.setattr(account_service, "_hasher", CountingHasher())
    answers = []
    for email, password in (
        ("nobody@certeurope.example", PASSWORD),
        (known.email, "wrong-password-1"),
        (locked.email, PASSWORD),
    ):
        verifications.clear()
        status, _, body = _post(client, "/connexion", {"email": email, "password": password})
        answers.append((status, LOGIN_REFUSED_FR in body, len(verifications)))

    assert answers == [(200, True, 1)] * 3


def test_refused_sign_ins_are_throttled_per_client_and_per_account(app: Flask) -> None:
    target, guessed = make_user(db.session), make_user(db.session)
    db.session.commit()
    sprayer = app.test_client()
    sprayer.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    statuses = [
        _post(sprayer, "/connexion", {"email": f"u{n}@certeurope.example", "password": "x" * 12})[0]
        for n in range(21)
    ]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429
    g.pop("_login_user", None)
    refused = sprayer.post("/connexion", data={"email": target.email, "password": PASSWORD})
    assert refused.status_code == 429
    assert "Trop de tentatives de connexion depuis ce poste" in refused.get_data(as_text=True)
    assert refused.headers.get("Retry-After")

    # One account guessed from many clients: its own limit, whatever the address.
    for n in range(10):
        guesser = app.test_client()
        guesser.environ_base["REMOTE_ADDR"] = f"198.51.100.{n + 1}"
        assert (
            _post(guesser, "/connexion", {"email": guessed.email, "password": "nope" * 3})[0] == 200
        )
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "198.51.100.200"
    status, _, body = _post(guesser, "/connexion", {"email": guessed.email, "password": PASSWORD})
    assert status == 429
    assert "pour ce compte" in body

    # Successful sign-ins from a shared address do not count.
    office = app.test_client()
    office.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    for _ in range(21):
        colleague = make_user(db.session)
        db.session.commit()
        sign_in(office, colleague)
        g.pop("_login_user", None)
        office.post("/deconnexion")


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/validation/?statut=pending", True),
        ("/validation/dossiers/12", True),
        ("//evil.example/", False),
        ("/\t/evil.example/", False),
        ("/%09/evil.example/", True),  # still a path here: the browser does not decode it
        ("/\\evil.example", False),
        ("\\\\evil.example", False),
        ("https://evil.example/", False),
        ("javascript:alert(1)", False),
        ("/\n/evil.example", False),
        ("/\u200b/evil.example", False),
        ("validation", False),
        ("", False),
    ],
)
def test_next_is_a_path_on_this_site_or_nothing(target: str, kept: bool) -> None:
    assert (safe_next(target) == target) is kept


def test_a_next_to_another_host_is_dropped_after_sign_in(app: Flask, client: FlaskClient) -> None:
    operator = make_user(db.session)
    db.session.commit()
    g.pop("_login_user", None)
    client.post(
        "/connexion?next=%2F%09%2Fevil.example%2F",
        data={"email": operator.email, "password": PASSWORD},
    )
    response = client.post("/connexion/verification", data={"code": next_code(operator)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_next_on_this_site_is_followed_after_sign_in(app: Flask, client: FlaskClient) -> None:
    operator = make_user(db.session)
    db.session.commit()
    g.pop("_login_user", None)
    client.post(
        "/connexion?next=/validation/%3Ftri%3Drecents",
        data={"email": operator.email, "password": PASSWORD},
    )
    response = client.post("/connexion/verification", data={"code": next_code(operator)})
    assert response.headers["Location"] == "/validation/?tri=recents"


def test_pages_with_personal_data_are_never_stored_by_the_browser(
    app: Flask, client: FlaskClient
) -> None:
    operator = make_user(db.session)
    db.session.commit()
    sign_in(client, operator)
    g.pop("_login_user", None)
    for url in (QUEUE, "/connexion"):
        assert client.get(url).headers["Cache-Control"] == "no-store"
    static = client.get("/static/app.css")
    assert static.headers.get("Cache-Control") != "no-store"


@pytest.fixture
def https_app(settings: Settings) -> Iterator[Flask]:
    secure = create_app(
        replace(settings, secure_cookies=True), TESTING=True, WTF_CSRF_ENABLED=False
    )
    with secure.app_context():
        yield secure
        db.session.remove()


def test_behind_https_the_session_cookie_is_secure_host_only_and_same_site(
    https_app: Flask,
) -> None:
    with https_app.app_context():
        response = https_app.test_client().get("/connexion", base_url="https://ra.example")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-ra_session=")
    attributes = {part.strip().split("=")[0] for part in cookie.split(";")[1:]}
    assert {"Secure", "HttpOnly", "SameSite", "Path"} <= attributes
    assert "SameSite=Lax" in cookie
    assert "Domain=" not in cookie
    assert "Path=/" in cookie


def test_an_admin_resets_a_lost_second_factor_and_the_sessions_end(app: Flask) -> None:
    operator = make_user(db.session, first_name="Nina", last_name="Morel")
    admin = make_user(db.session, "admin")
    db.session.add(SecurityKey(user_id=operator.id, credential_id=b"k1", public_key=b"pk"))
    db.session.commit()
    op_client, admin_client = app.test_client(), app.test_client()
    sign_in(op_client, operator)
    sign_in(admin_client, admin)
    g.pop("_login_user", None)
    edit = admin_client.get(f"/admin/admin_users/edit/?id={operator.id}").get_data(True)
    assert "Réinitialiser le second facteur" in edit
    assert operator.totp_secret not in edit

    g.pop("_login_user", None)
    response = admin_client.post(
        f"/admin/admin_users/edit/?id={operator.id}",
        data={
            "email": operator.email,
            "first_name": "Nina",
            "last_name": "Morel",
            "role": "operator",
            "active": "y",
            "reset_second_factor": "y",
        },
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    reset = db.session.get(User, operator.id)
    assert reset is not None
    assert not reset.has_totp
    assert _get(op_client, QUEUE)[0] == 302
    assert len(_events("admin.second_factor_reset")) == 1
    assert db.session.scalars(sa.select(SecurityKey)).all() == []
    fresh = app.test_client()
    _post(fresh, "/connexion", {"email": operator.email, "password": PASSWORD})
    assert _get(fresh, "/connexion/verification")[1] == "/connexion/activation"


def test_a_deactivated_account_loses_its_open_sessions(app: Flask) -> None:
    operator = make_user(db.session, first_name="Paul", last_name="Henry")
    admin = make_user(db.session, "admin")
    db.session.commit()
    op_client, admin_client = app.test_client(), app.test_client()
    sign_in(op_client, operator)
    sign_in(admin_client, admin)
    g.pop("_login_user", None)
    admin_client.post(
        f"/admin/admin_users/edit/?id={operator.id}",
        data={
            "email": operator.email,
            "first_name": "Paul",
            "last_name": "Henry",
            "role": "operator",
        },
    )
    assert _get(op_client, QUEUE)[0] == 302
