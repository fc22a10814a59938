"""A customer phones with an order number: from the certificate, the shipment, the pickup
or a message sent, one click leads back to the dossier page — for staff who may read
dossiers; anyone else sees the order number alone."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient

from ra_workbench.accounts.models import PERMISSIONS
from ra_workbench.certificates.models import Certificate
from ra_workbench.dossiers.models import Dossier, PersonRole
from ra_workbench.extensions import db
from ra_workbench.issuance.service import issue_certificate
from ra_workbench.notify.models import OutboxMessage
from tests.auth import sign_in
from tests.factories import make_approved_dossier, make_person, make_user


def _issued(delivery_mode: str, last_name: str) -> Dossier:
    dossier = make_approved_dossier(
        db.session,
        delivery_mode=delivery_mode,
        people=[
            make_person(PersonRole.HOLDER, last_name=last_name, email=f"{last_name}@example.fr"),
            make_person(PersonRole.LEGAL_REPRESENTATIVE),
        ],
    )
    issue_certificate(db.session, dossier.id)
    return dossier


@pytest.fixture
def after_approval(app: Flask, client: FlaskClient) -> dict[str, str]:
    """The pages that come after the decision, by name, with the dossier each belongs to."""
    shipped = _issued("shipping", "DURAND")
    picked_up = _issued("pickup", "MARTIN")
    certificate = db.session.scalar(
        sa.select(Certificate).where(Certificate.dossier_id == shipped.id)
    )
    message = db.session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.dossier_id == shipped.id).limit(1)
    )
    assert certificate is not None
    assert message is not None
    operator = make_user(db.session)
    db.session.commit()
    sign_in(client, operator)
    shipped_link = f'href="/validation/dossiers/{shipped.id}"'
    return {
        f"/emission/certificats/{certificate.id}": shipped_link,
        "/remise/envois": shipped_link,
        f"/messages/{message.id}": shipped_link,
        f"/remise/retraits/{picked_up.id}": f'href="/validation/dossiers/{picked_up.id}"',
        "/remise/retraits": f'href="/validation/dossiers/{picked_up.id}"',
    }


def _page(client: FlaskClient, url: str) -> str:
    g.pop("_login_user", None)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_certificate_shipment_pickup_and_message_pages_link_back_to_the_dossier(
    client: FlaskClient, after_approval: dict[str, str]
) -> None:
    for url, link in after_approval.items():
        assert link in _page(client, url), url


def test_staff_who_may_not_read_dossiers_see_the_order_number_without_a_link(
    client: FlaskClient, after_approval: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PERMISSIONS, "operator", PERMISSIONS["operator"] - {"review:dossier:read"})
    for url, link in after_approval.items():
        page = _page(client, url)
        assert link not in page, url
        assert "/validation/dossiers/" not in page, url
