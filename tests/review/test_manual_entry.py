"""« Je souhaite passer en saisie manuelle »: the SIREN the customer typed is marked in the
queue and on the dossier page, where the operator reads that the Kbis must confirm it."""

from __future__ import annotations

from flask import Flask, g
from flask.testing import FlaskClient

from ra_workbench.db import utcnow
from ra_workbench.dossiers.models import Organisation
from ra_workbench.extensions import db
from ra_workbench.review.queue import QueueFilters, queue
from tests.auth import sign_in
from tests.factories import make_check_run, make_dossier, make_user


def _manual_dossier() -> int:
    dossier = make_dossier(
        db.session,
        organisation=Organisation(
            siren="732829320",
            name="ATELIERS MOREL",
            legal_form="SAS",
            manual_entry=True,
            address={"line1": "12 RUE DES LILAS", "postcode": "69003", "city": "LYON"},
        ),
    )
    make_check_run(db.session, dossier)
    return dossier.id


def test_queue_rows_say_which_siren_was_entered_by_hand(app: Flask) -> None:
    manual_id = _manual_dossier()
    looked_up = make_dossier(db.session)
    make_check_run(db.session, looked_up)
    page = queue(db.session, QueueFilters(), now=utcnow(), sla_days=5, claim_minutes=60)
    flags = {row.id: row.manual_entry for row in page.rows}
    assert flags == {manual_id: True, looked_up.id: False}


def test_queue_and_dossier_pages_show_the_manual_entry_marker(
    app: Flask, client: FlaskClient
) -> None:
    manual_id = _manual_dossier()
    looked_up = make_dossier(db.session)
    make_check_run(db.session, looked_up)
    operator = make_user(db.session)
    db.session.commit()
    sign_in(client, operator)
    g.pop("_login_user", None)
    listing = client.get("/validation/").get_data(as_text=True)
    assert listing.count('class="badge badge-warning manual-entry"') == 1
    page = client.get(f"/validation/dossiers/{manual_id}").get_data(as_text=True)
    assert 'id="manual-entry"' in page
    assert "l'extrait Kbis doit porter ce SIREN" in page
    other = client.get(f"/validation/dossiers/{looked_up.id}").get_data(as_text=True)
    assert 'id="manual-entry"' not in other
