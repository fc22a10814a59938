"""Supervisors search the trail, export it and verify it from the web; operators cannot."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ra_workbench.accounts.models import User
from ra_workbench.audit.service import record
from ra_workbench.extensions import db
from ra_workbench.unit import unit_of_work
from tests.factories import make_user
from tests.review.test_views import login


@pytest.fixture
def supervisor(app: Flask) -> User:
    user = make_user(db.session, role="supervisor")
    db.session.commit()
    return user


@pytest.fixture
def trail(app: Flask) -> None:
    with unit_of_work() as session:
        record(session, "checks.run", order_number="300001", payload={"verdict": "ready"})
        record(
            session,
            "dossier.transition",
            actor="olivia@certeurope.example",
            order_number="300002",
            payload={"transition": "approve"},
        )


def test_supervisor_filters_the_trail_by_dossier_and_actor(
    client: FlaskClient, supervisor: User, trail: None
) -> None:
    login(client, supervisor)
    page = client.get("/audit/?commande=300002").get_data(as_text=True)
    assert "dossier.transition" in page
    assert "checks.run" not in page.split("<tbody>")[1]
    page = client.get("/audit/?acteur=olivia&type=dossier.transition").get_data(as_text=True)
    assert "olivia@certeurope.example" in page


def test_supervisor_exports_csv_and_the_export_is_recorded(
    client: FlaskClient, supervisor: User, trail: None
) -> None:
    login(client, supervisor)
    response = client.get("/audit/export.csv?type=checks.")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert "checks.run" in body
    assert "dossier.transition" not in body
    assert "audit.exported" in client.get("/audit/").get_data(as_text=True)


def test_supervisor_verifies_the_trail_from_the_page(
    client: FlaskClient, supervisor: User, trail: None
) -> None:
    login(client, supervisor)
    page = client.post("/audit/verifier", follow_redirects=True).get_data(as_text=True)
    assert "Journal intact" in page


def test_operator_cannot_read_the_trail(client: FlaskClient, app: Flask) -> None:
    operator = make_user(db.session)
    db.session.commit()
    login(client, operator)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
