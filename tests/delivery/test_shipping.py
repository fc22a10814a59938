"""Shipping the token: tracked number, label, states with dates, hand-over on delivery."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from flask import Flask
from pypdf import PdfReader

from ra_workbench.accounts.models import User
from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.models import Certificate
from ra_workbench.clock import PARIS
from ra_workbench.delivery import service
from ra_workbench.delivery.models import Shipment
from ra_workbench.dossiers.models import Dossier, PersonRole
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.issuance.service import issue_certificate, revoke
from ra_workbench.notify.models import OutboxMessage
from tests.factories import make_approved_dossier, make_dossier, make_person, make_user


@pytest.fixture
def shipped_dossier(app: Flask) -> tuple[Dossier, Shipment, User]:
    dossier = make_approved_dossier(db.session)
    issue_certificate(db.session, dossier.id)
    shipment = db.session.scalar(sa.select(Shipment).where(Shipment.dossier_id == dossier.id))
    assert shipment is not None
    return dossier, shipment, make_user(db.session)


def _certificate(dossier: Dossier) -> Certificate:
    certificate = db.session.scalar(
        sa.select(Certificate).where(Certificate.dossier_id == dossier.id)
    )
    assert certificate is not None
    return certificate


def test_tracking_numbers_look_like_la_postes_and_carry_a_key() -> None:
    numbers = {service.new_tracking_number() for _ in range(200)}
    assert len(numbers) == 200
    for number in numbers:
        assert number.startswith("8R")
        assert len(number) == 13
        assert service.tracking_number_valid(number)
    assert not service.tracking_number_valid("8R00000000001")


def test_the_label_names_the_holder_address_and_tracking_number(
    shipped_dossier: tuple[Dossier, Shipment, User],
) -> None:
    dossier, shipment, _ = shipped_dossier
    pdf = service.shipment_label_pdf(db.session, shipment)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(float(width)), round(float(height))) == (595, 842)  # A4
    text = reader.pages[0].extract_text()
    for expected in (
        shipment.tracking_number,
        "CLAIRE DURAND",
        "12 RUE DES LILAS",
        "69003 LYON",
        dossier.order_number,
        "Bordereau d'envoi",
    ):
        assert expected in text


def test_a_certificate_never_written_on_a_token_does_not_ship(
    shipped_dossier: tuple[Dossier, Shipment, User],
) -> None:
    dossier, shipment, operator = shipped_dossier
    _certificate(dossier).token_serial = None  # as if issued without a token
    with pytest.raises(service.DeliveryError, match="pas été préparé à l'émission"):
        service.change_shipment_state(db.session, shipment.id, "shipped", actor=operator)
    assert shipment.state == "prepared"


def test_a_token_whose_certificate_was_revoked_before_it_left_neither_ships_nor_is_handed_over(
    shipped_dossier: tuple[Dossier, Shipment, User],
) -> None:
    dossier, shipment, operator = shipped_dossier
    certificate = _certificate(dossier)
    revoke(db.session, certificate.id, "keyCompromise", operator.email, actor_id=operator.id)
    assert certificate.revoked_at is not None
    when = certificate.revoked_at.astimezone(PARIS)
    with pytest.raises(service.DeliveryError) as refused:
        service.change_shipment_state(db.session, shipment.id, "shipped", actor=operator)
    assert str(refused.value) == (
        f"Le certificat n° {certificate.serial_number} de ce dossier a été révoqué le "
        f"{when:%d/%m/%Y à %H:%M} (compromission de la clé) : le support ne part pas et "
        "n'est pas remis."
    )
    assert shipment.state == "prepared"


def test_prepared_shipped_delivered_with_dates_then_the_activation_code_goes_to_the_holder(
    shipped_dossier: tuple[Dossier, Shipment, User],
) -> None:
    dossier, shipment, operator = shipped_dossier
    certificate = _certificate(dossier)
    assert certificate.token_serial  # read from the token the issuance prepared
    assert certificate.token_prepared_at is not None

    service.change_shipment_state(db.session, shipment.id, "shipped", actor=operator)
    assert shipment.shipped_at is not None
    with pytest.raises(service.DeliveryError):
        service.change_shipment_state(db.session, shipment.id, "shipped", actor=operator)
    service.change_shipment_state(db.session, shipment.id, "delivered", actor=operator)
    assert shipment.delivered_at is not None
    assert dossier.status == DossierStatus.DELIVERED.value

    [activation] = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.template == "activation_code")
    ).all()
    assert activation.channel == "sms"  # the holder's choice in the factory
    assert activation.recipient == "0698765432"
    kinds = [
        e.event_type
        for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq))
        if e.event_type.startswith("delivery.")
    ]
    assert kinds == [
        "delivery.shipment_shipped",
        "delivery.shipment_delivered",
    ]


def test_a_returned_shipment_can_be_sent_again(
    shipped_dossier: tuple[Dossier, Shipment, User],
) -> None:
    dossier, shipment, operator = shipped_dossier
    service.change_shipment_state(db.session, shipment.id, "shipped", actor=operator)
    service.change_shipment_state(db.session, shipment.id, "returned", actor=operator)
    assert shipment.returned_at is not None
    assert dossier.status == DossierStatus.DELIVERY_SCHEDULED.value
    with pytest.raises(service.DeliveryError, match="Impossible de passer"):
        service.change_shipment_state(db.session, shipment.id, "delivered", actor=operator)
    service.change_shipment_state(db.session, shipment.id, "shipped", actor=operator)
    assert shipment.state == "shipped"


def test_summary_for_the_portal(shipped_dossier: tuple[Dossier, Shipment, User]) -> None:
    dossier, shipment, _ = shipped_dossier
    summary = service.delivery_summary(db.session, dossier)
    assert summary is not None
    assert summary["mode"] == "shipping"
    assert summary["state"] == "prepared"
    assert summary["state_label"] == "En préparation"
    assert summary["tracking_number"] == shipment.tracking_number


def test_no_shipment_without_the_holders_own_address(app: Flask) -> None:
    """Guide §8: tracked mail to the holder's address, never the organisation's instead
    (delivery.holder_address keeps such a dossier from approval; this is the last guard)."""
    holder = make_person(PersonRole.HOLDER, address={})
    dossier = make_dossier(
        db.session,
        people=[holder, make_person(PersonRole.LEGAL_REPRESENTATIVE)],
        status=DossierStatus.CERTIFICATE_ISSUED.value,
    )
    with pytest.raises(service.DeliveryError, match="Adresse postale du porteur absente"):
        service.schedule_delivery(db.session, dossier)
    assert db.session.scalar(sa.select(Shipment).where(Shipment.dossier_id == dossier.id)) is None
