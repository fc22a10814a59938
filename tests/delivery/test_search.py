"""« Envois » and « Retraits » can be searched: a customer on the phone gives an order
number, an organisation, a name (typed without its accents, in any case) or the tracking
number read off the label, and the operator finds the parcel or the pickup — the same
search as the validation queue's."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient

from ra_workbench.delivery.models import Shipment
from ra_workbench.dossiers.models import Dossier, Organisation, PersonRole
from ra_workbench.extensions import db
from ra_workbench.issuance.service import issue_certificate
from tests.auth import sign_in
from tests.factories import ADDRESS, make_approved_dossier, make_person, make_user


def _approved(
    delivery_mode: str, *, organisation: str, siren: str, first: str, last: str
) -> Dossier:
    dossier = make_approved_dossier(
        db.session,
        delivery_mode=delivery_mode,
        organisation=Organisation(
            siren=siren, name=organisation, legal_form="SAS", address=dict(ADDRESS)
        ),
        people=[
            make_person(
                PersonRole.HOLDER,
                first_name=first,
                last_name=last,
                email=f"{first.lower()}.{last.lower()}@example.fr",
            ),
            make_person(PersonRole.LEGAL_REPRESENTATIVE),
        ],
    )
    issue_certificate(db.session, dossier.id)
    return dossier


@pytest.fixture
def two_of_each(app: Flask, client: FlaskClient) -> dict[str, Dossier]:
    dossiers = {
        "morel": _approved(
            "shipping",
            organisation="ATELIERS MOREL",
            siren="732829320",
            first="CLAIRE",
            last="DURAND",
        ),
        "lilas": _approved(
            "shipping",
            organisation="BOULANGERIE DES LILAS",
            siren="552100554",
            first="HELENE",
            last="LEFEVRE",
        ),
        "morel_pickup": _approved(
            "pickup",
            organisation="GARAGE MOREL",
            siren="443061841",
            first="JEROME",
            last="NOEL",
        ),
        "lilas_pickup": _approved(
            "pickup",
            organisation="FLEURS DES LILAS",
            siren="542065479",
            first="ANAIS",
            last="FAURE",
        ),
    }
    operator = make_user(db.session)
    db.session.commit()
    sign_in(client, operator)
    return dossiers


def _orders(client: FlaskClient, url: str) -> set[str]:
    g.pop("_login_user", None)
    response = client.get(url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    return set(re.findall(r"<tr[^>]*>\s*<td>(?:<a [^>]*>)?(\d+)(?:</a>)?</td>", page))


def test_shipments_are_found_by_order_number_organisation_name_and_tracking_number(
    client: FlaskClient, two_of_each: dict[str, Dossier]
) -> None:
    morel, lilas = two_of_each["morel"], two_of_each["lilas"]
    assert _orders(client, "/remise/envois") == {morel.order_number, lilas.order_number}

    assert _orders(client, f"/remise/envois?q={lilas.order_number}") == {lilas.order_number}
    assert _orders(client, "/remise/envois?q=boulangerie des lilas") == {lilas.order_number}
    # Typed with its accents and in lower case: stored « HELENE LEFEVRE ».
    assert _orders(client, "/remise/envois?q=Hélène Lefèvre") == {lilas.order_number}
    tracking = db.session.scalar(
        sa.select(Shipment.tracking_number).where(Shipment.dossier_id == morel.id)
    )
    assert tracking is not None
    spoken = " ".join(re.findall(r".{1,4}", tracking.lower()))  # « 8r12 3456 … »
    assert _orders(client, f"/remise/envois?q={spoken}") == {morel.order_number}
    assert _orders(client, "/remise/envois?q=introuvable") == set()


def test_the_shipment_search_keeps_the_state_tab_and_says_when_nothing_matches(
    client: FlaskClient, two_of_each: dict[str, Dossier]
) -> None:
    g.pop("_login_user", None)
    page = client.get("/remise/envois?etat=prepared&q=lilas").get_data(as_text=True)
    assert 'name="etat" value="prepared"' in page
    assert 'value="lilas"' in page
    assert "etat=shipped&amp;q=lilas" in page
    g.pop("_login_user", None)
    page = client.get("/remise/envois?q=personne").get_data(as_text=True)
    assert "Aucun envoi ne correspond à « personne »." in page


def test_pickups_are_found_by_order_number_organisation_and_name(
    client: FlaskClient, two_of_each: dict[str, Dossier]
) -> None:
    morel, lilas = two_of_each["morel_pickup"], two_of_each["lilas_pickup"]
    assert _orders(client, "/remise/retraits") == {morel.order_number, lilas.order_number}

    assert _orders(client, f"/remise/retraits?q={morel.order_number}") == {morel.order_number}
    assert _orders(client, "/remise/retraits?q=fleurs") == {lilas.order_number}
    assert _orders(client, "/remise/retraits?q=Anaïs") == {lilas.order_number}
    assert _orders(client, "/remise/retraits?q=Jérôme Noël") == {morel.order_number}
    g.pop("_login_user", None)
    page = client.get("/remise/retraits?q=personne").get_data(as_text=True)
    assert "Aucun retrait en attente ne correspond à « personne »." in page
