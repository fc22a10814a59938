"""The demo's story: an operator approves a clean dossier; the certificate is issued, the
token's delivery is scheduled, the customer is told, and the portal shows « 1 / 1 »."""

from __future__ import annotations

import subprocess
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ra_workbench.certificates.models import Certificate
from ra_workbench.delivery import service as delivery
from ra_workbench.delivery.models import Shipment
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.review.claims import claim
from ra_workbench.review.decisions import approve
from ra_workbench.unit import unit_of_work
from tests.factories import make_check_run, make_dossier, make_read_identity, make_slot, make_user


def _approve(delivery_mode: str) -> tuple[int, str]:
    """A clean dossier, claimed and approved by an operator in one request."""
    operator = make_user(db.session)
    dossier = make_dossier(db.session, delivery_mode=delivery_mode)
    make_read_identity(db.session, dossier)
    run = make_check_run(db.session, dossier)
    db.session.commit()
    with unit_of_work() as session:
        claim(session, dossier.id, operator, claim_minutes=60)
    with unit_of_work() as session:
        approve(session, dossier.id, operator, check_run_id=run.id, claim_minutes=60)
    db.session.expire_all()
    return dossier.id, dossier.order_number


def _status(client: FlaskClient, headers: dict[str, str], order: str) -> dict:
    response = client.get(f"/api/v1/dossiers/{order}/status", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()  # type: ignore[no-any-return]


def test_approving_a_clean_shipping_dossier_issues_ships_and_tells_the_customer(
    app: Flask, client: FlaskClient, api_headers: dict[str, str], tmp_path: Path
) -> None:
    dossier_id, order = _approve("shipping")

    dossier = db.session.get(Dossier, dossier_id)
    assert dossier is not None
    assert dossier.status == DossierStatus.DELIVERY_SCHEDULED.value
    certificate = db.session.scalar(
        sa.select(Certificate).where(Certificate.dossier_id == dossier_id)
    )
    assert certificate is not None
    pem = tmp_path / "holder.pem"
    pem.write_text(certificate.pem)
    text = subprocess.run(
        ["openssl", "x509", "-in", str(pem), "-text", "-noout"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "organizationIdentifier = NTRFR-732829320" in text
    assert "GN = CLAIRE" in text
    assert "SN = DURAND" in text
    assert "Non Repudiation" in text
    shipment = db.session.scalar(sa.select(Shipment).where(Shipment.dossier_id == dossier_id))
    assert shipment is not None
    outbox = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.dossier_id == dossier_id)
    ).all()
    assert {m.template for m in outbox} == {"certificate_ready"}
    assert {m.state for m in outbox} == {"kept"}  # no SMTP configured in tests

    status = _status(client, api_headers, order)
    assert status["certificates"] == "1 / 1"
    assert status["status"] == "delivery_scheduled"
    assert status["delivery"]["mode"] == "shipping"
    assert status["delivery"]["state"] == "prepared"
    assert status["delivery"]["tracking_number"] == shipment.tracking_number


def test_approving_a_pickup_dossier_puts_it_on_the_call_list_then_the_appointment_shows(
    app: Flask, client: FlaskClient, api_headers: dict[str, str]
) -> None:
    dossier_id, order = _approve("pickup")
    [entry] = delivery.call_list(db.session)
    assert entry.dossier.id == dossier_id
    assert _status(client, api_headers, order)["delivery"]["state"] == "to_schedule"

    slot = make_slot(db.session)
    with unit_of_work() as session:
        delivery.book_slot(session, dossier_id, slot.id, actor=make_user(session))
    status = _status(client, api_headers, order)
    assert status["certificates"] == "1 / 1"
    assert status["delivery"]["state"] == "appointment_booked"
    assert status["delivery"]["appointment"]["location"] == slot.location
    templates = set(
        db.session.scalars(
            sa.select(OutboxMessage.template).where(OutboxMessage.dossier_id == dossier_id)
        )
    )
    assert templates == {"certificate_ready", "appointment_confirmation"}


def test_before_issuance_the_portal_sees_no_certificate_and_no_delivery(
    app: Flask, client: FlaskClient, api_headers: dict[str, str]
) -> None:
    dossier = make_dossier(db.session)
    db.session.commit()
    status = _status(client, api_headers, dossier.order_number)
    assert status["certificates"] == "0 / 1"
    assert status["delivery"] is None
