"""The issuance, delivery and outbox screens through the app, as an operator."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient

from ra_workbench.accounts.models import User
from ra_workbench.certificates.models import Certificate
from ra_workbench.delivery.models import Appointment, Shipment
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.issuance.models import IssuanceRequest
from ra_workbench.issuance.service import issue_certificate
from ra_workbench.notify.models import OutboxMessage
from tests.auth import sign_in
from tests.factories import make_approved_dossier, make_slot_today, make_user

PASSWORD = "correct-horse-battery"


def _login(client: FlaskClient, user: User) -> None:
    sign_in(client, user)


def _page(client: FlaskClient, url: str) -> str:
    g.pop("_login_user", None)
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def _post(client: FlaskClient, url: str, data: dict[str, str] | None = None) -> str:
    g.pop("_login_user", None)
    response = client.post(url, data=data or {}, follow_redirects=True)
    assert response.status_code == 200, (url, response.status_code)
    db.session.expire_all()
    return response.get_data(as_text=True)


def test_screens_require_a_signed_in_operator(app: Flask, client: FlaskClient) -> None:
    for url in ("/emission/", "/remise/envois", "/remise/retraits", "/messages/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/connexion" in response.headers["Location"]


def test_operator_prepares_ships_and_delivers_through_the_screens(
    app: Flask, client: FlaskClient
) -> None:
    operator = make_user(db.session)
    dossier = make_approved_dossier(db.session)
    issue_certificate(db.session, dossier.id)
    db.session.commit()
    _login(client, operator)
    shipment = db.session.scalar(sa.select(Shipment))
    certificate = db.session.scalar(sa.select(Certificate))
    assert shipment is not None
    assert certificate is not None

    page = _page(client, "/remise/envois")
    assert shipment.tracking_number in page
    assert "En préparation" in page
    label = client.get(f"/remise/envois/{shipment.id}/etiquette.pdf")
    assert label.status_code == 200
    assert label.mimetype == "application/pdf"
    assert label.data.startswith(b"%PDF")

    # The serial issuance read from the token, shown, not typed.
    assert certificate.token_serial
    assert certificate.token_serial in page
    assert 'name="token_serial"' not in page
    _post(client, f"/remise/envois/{shipment.id}/etat", {"state": "shipped"})
    page = _post(client, f"/remise/envois/{shipment.id}/etat", {"state": "delivered"})
    assert "Livré" in page
    assert db.session.get(type(dossier), dossier.id).status == DossierStatus.DELIVERED.value  # type: ignore[union-attr]

    page = _page(client, "/emission/")
    assert certificate.serial_number in page
    pem = client.get(f"/emission/certificats/{certificate.id}.pem")
    assert pem.status_code == 200
    assert pem.get_data(as_text=True) == certificate.pem
    detail = _page(client, f"/emission/certificats/{certificate.id}")
    assert "0.4.0.1862.1.6.1" in detail

    outbox = _page(client, "/messages/")
    assert "Certificat prêt" in outbox
    assert "Code d&#39;activation" in outbox
    message = db.session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.template == "activation_code")
    )
    assert message is not None
    detail = _page(client, f"/messages/{message.id}")
    assert "[[CODE-ACTIVATION]]" in detail


def test_operator_books_a_slot_and_hands_the_token_over(app: Flask, client: FlaskClient) -> None:
    operator = make_user(db.session)
    dossier = make_approved_dossier(db.session, delivery_mode="pickup")
    issue_certificate(db.session, dossier.id)
    slot = make_slot_today(db.session, capacity=2)
    db.session.commit()
    _login(client, operator)

    assert dossier.order_number in _page(client, "/remise/retraits")
    page = _page(client, f"/remise/retraits/{dossier.id}")
    assert "CLAIRE DURAND" in page
    assert "0698765432" in page
    page = _post(
        client,
        f"/remise/retraits/{dossier.id}/appels",
        {"person_role": "holder", "outcome": "reached", "note": "jeudi"},
    )
    assert "Appel enregistré." in page
    page = _post(client, f"/remise/retraits/{dossier.id}/rendez-vous", {"slot_id": str(slot.id)})
    assert "Rendez-vous fixé" in page
    appointment = db.session.scalar(sa.select(Appointment))
    assert appointment is not None
    ics = client.get(f"/remise/rendez-vous/{appointment.id}.ics")
    assert ics.mimetype == "text/calendar"
    assert b"BEGIN:VEVENT" in ics.data

    certificate = db.session.scalar(sa.select(Certificate))
    assert certificate is not None
    assert certificate.token_serial
    assert f"Clé USB n° <code>{certificate.token_serial}</code> (numéro lu sur la clé)" in page
    page = _post(
        client,
        f"/remise/retraits/{dossier.id}/remise",
        {"handed_to_role": "holder", "identity_document_number": "X4RT BPFW4"},
    )
    assert "Remise enregistrée" in page
    assert "Carte nationale d&#39;identité n° …PFW4" in page
    assert "0 / " not in _page(client, "/remise/creneaux")


def test_the_failed_issuance_list_has_a_working_retry_button(
    app: Flask, client: FlaskClient
) -> None:
    operator = make_user(db.session)
    dossier = make_approved_dossier(db.session)
    request = db.session.scalar(sa.select(IssuanceRequest))
    assert request is not None
    request.state, request.attempts, request.last_error = "failed", 1, "AC indisponible"
    db.session.commit()
    _login(client, operator)

    page = _page(client, "/emission/")
    assert "AC indisponible" in page
    assert "Relancer" in page
    page = _post(client, f"/emission/demandes/{request.id}/relancer")
    assert "Émission relancée." in page
    db.session.refresh(request)
    assert request.state == "issued"  # inline: the job ran after the commit
    assert db.session.get(type(dossier), dossier.id).status == "delivery_scheduled"  # type: ignore[union-attr]
