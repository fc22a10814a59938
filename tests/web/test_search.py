"""The top-bar search finds a shipped dossier by its tracking number, typed as on the label
or as read out on the phone (spaces, lower case), though review knows nothing of shipments."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ra_workbench.delivery.models import Shipment
from ra_workbench.delivery.service import new_tracking_number
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.issuance.service import issue_certificate
from ra_workbench.review.queue import QueueFilters, queue
from tests.auth import sign_in
from tests.factories import make_approved_dossier, make_dossier, make_user


@pytest.fixture
def shipped(app: Flask) -> tuple[Dossier, str]:
    dossier = make_approved_dossier(db.session)
    issue_certificate(db.session, dossier.id)
    number = db.session.scalar(
        sa.select(Shipment.tracking_number).where(Shipment.dossier_id == dossier.id)
    )
    assert number
    make_dossier(db.session)  # another dossier, which the search must leave out
    db.session.commit()
    return dossier, number


def _spaced(number: str) -> str:
    """« 8R 1234 5678 901 », as on La Poste's receipts."""
    return f"{number[:2]} {number[2:6]} {number[6:10]} {number[10:]}"


@pytest.mark.parametrize("typed", [str, str.lower, _spaced, lambda n: f"  {_spaced(n).lower()} "])
def test_the_operator_finds_a_shipped_dossier_by_its_tracking_number(
    client: FlaskClient, shipped: tuple[Dossier, str], typed: Callable[[str], str]
) -> None:
    dossier, number = shipped
    operator = make_user(db.session)
    db.session.commit()
    sign_in(client, operator)
    query = typed(number)
    html = client.get("/validation/", query_string={"q": query}).get_data(as_text=True)
    assert html.count("data-order=") == 1
    assert f'data-order="{dossier.order_number}"' in html
    assert 'data-tab="decided" aria-current="page"' in html


def test_a_tracking_number_no_shipment_has_finds_nothing(
    client: FlaskClient, shipped: tuple[Dossier, str]
) -> None:
    _, number = shipped
    other = new_tracking_number()
    assert other != number
    page = queue(db.session, QueueFilters(search=other), sla_days=5, claim_minutes=60)
    assert sum(page.counts.values()) == 0


def test_the_queues_json_finds_it_too_one_search_for_every_screen(
    client: FlaskClient, shipped: tuple[Dossier, str]
) -> None:
    dossier, number = shipped
    operator = make_user(db.session)
    db.session.commit()
    sign_in(client, operator)
    found = client.get(
        "/validation/api/file", query_string={"onglet": "decided", "q": number.lower()}
    ).get_json()
    assert [row["order_number"] for row in found["rows"]] == [dossier.order_number]
