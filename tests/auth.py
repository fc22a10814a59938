"""Signing a test client in the way staff do: password, then the TOTP code of the account's
authenticator (tests.factories.make_user enrols one)."""

from __future__ import annotations

import time

import pyotp
import sqlalchemy as sa
from flask import g
from flask.testing import FlaskClient

from ra_workbench.accounts.mfa import VALID_WINDOW
from ra_workbench.accounts.models import User
from ra_workbench.extensions import db

PASSWORD = "correct-horse-battery"  # tests.factories.make_user's default


def next_code(user: User) -> str:
    """A TOTP code the server will accept now: a code is accepted once, so a user signing in
    twice within one 30-second step uses the next step's code (inside the drift window), and
    waits for the clock beyond that."""
    last = db.session.scalar(sa.select(User.totp_last_step).where(User.id == user.id))
    secret = db.session.scalar(sa.select(User.totp_secret).where(User.id == user.id))
    assert secret, f"{user.email} has no TOTP secret (make_user(totp=False)?)"
    totp = pyotp.TOTP(secret)
    while True:
        now = totp.timecode(time.time())
        step = max(now, (last if last is not None else -1) + 1)
        if step <= now + VALID_WINDOW:
            return totp.generate_otp(step)
        time.sleep(1)


def sign_in(client: FlaskClient, user: User, password: str = PASSWORD) -> None:
    """Password then second factor, asserting both are accepted."""
    # Flask-Login caches the user on `g`, and the test's app context outlives requests.
    g.pop("_login_user", None)
    response = client.post("/connexion", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/connexion/verification")
    response = client.post("/connexion/verification", data={"code": next_code(user)})
    assert response.status_code == 302, response.get_data(as_text=True)
    g.pop("_login_user", None)
