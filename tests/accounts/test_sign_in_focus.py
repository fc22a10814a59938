"""Signing in with the keyboard alone: each sign-in page puts the cursor in the field to
type, so the operator types without reaching for the mouse."""

from __future__ import annotations

import re

from flask import Flask, g
from flask.testing import FlaskClient

from ra_workbench.extensions import db
from tests.auth import PASSWORD
from tests.factories import make_user


def _focused(page: str) -> list[str]:
    """The ids of the inputs that carry `autofocus`."""
    return [
        re.search(r'\bid="([^"]+)"', tag).group(1)  # type: ignore[union-attr]
        for tag in re.findall(r"<input\b[^>]*>", page)
        if re.search(r"\bautofocus\b", tag)
    ]


def test_the_sign_in_page_opens_with_the_cursor_in_the_email(client: FlaskClient) -> None:
    page = client.get("/connexion").get_data(as_text=True)
    assert _focused(page) == ["email"]


def test_after_a_refused_password_the_cursor_waits_in_the_password(
    app: Flask, client: FlaskClient
) -> None:
    user = make_user(db.session)
    db.session.commit()
    page = client.post("/connexion", data={"email": user.email, "password": "pas le bon"}).get_data(
        as_text=True
    )
    assert user.email in page
    assert _focused(page) == ["password"]


def test_the_code_page_opens_with_the_cursor_in_the_code(app: Flask, client: FlaskClient) -> None:
    user = make_user(db.session)
    db.session.commit()
    response = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/connexion/verification")
    g.pop("_login_user", None)
    page = client.get("/connexion/verification").get_data(as_text=True)
    assert _focused(page) == ["code"]


def test_the_enrolment_page_opens_with_the_cursor_in_the_code(
    app: Flask, client: FlaskClient
) -> None:
    user = make_user(db.session, totp=False)
    db.session.commit()
    response = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    g.pop("_login_user", None)
    page = client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "Activer la double authentification" in page
    assert _focused(page) == ["code"]
