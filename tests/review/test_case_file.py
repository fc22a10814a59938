"""The whole case on the dossier page (issue 15, point 2): after approval a customer phoning
with an order number is answered from it — certificate, shipment and tracking number,
messages sent, every event in order; staff leave internal notes there, audited; and two
operators pressing « dossier suivant » at the same instant get two different dossiers."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.models import Certificate
from ra_workbench.db import utcnow
from ra_workbench.delivery.models import Shipment
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.issuance.service import issue_certificate
from ra_workbench.review.models import DossierNote
from tests.auth import sign_in
from tests.concurrency.race import fire_together
from tests.factories import make_approved_dossier, make_check_run, make_dossier, make_user


def _section(page: str, key: str) -> str:
    match = re.search(
        rf'<section class="panel case-section" id="{key}">(.*?)</section>', page, re.S
    )
    assert match, f"no section {key}"
    return match.group(1)


def test_after_approval_the_dossier_page_answers_a_customer_on_the_phone(
    client: FlaskClient, app: Flask
) -> None:
    dossier = make_approved_dossier(db.session, delivery_mode="shipping")
    issue_certificate(db.session, dossier.id)
    operator = make_user(db.session)
    certificate = db.session.scalar(
        sa.select(Certificate).where(Certificate.dossier_id == dossier.id)
    )
    shipment = db.session.scalar(sa.select(Shipment).where(Shipment.dossier_id == dossier.id))
    assert certificate is not None
    assert shipment is not None
    dossier_id, serial, tracking = dossier.id, certificate.serial_number, shipment.tracking_number
    certificate_id = certificate.id
    db.session.commit()
    sign_in(client, operator)

    page = client.get(f"/validation/dossiers/{dossier_id}").get_data(as_text=True)

    block = _section(page, "certificate")
    assert serial in block
    assert f"/emission/certificats/{certificate_id}" in block  # details, and the PEM
    assert "en vigueur" in block
    assert tracking in _section(page, "delivery-block")
    assert "En préparation" in _section(page, "delivery-block")
    messages = _section(page, "messages")
    assert "Aucun message" not in messages
    timeline = _section(page, "timeline")
    # In French and in order: approved, then the certificate issued.
    assert timeline.index("<strong>Validé") < timeline.index("Certificat émis")
    assert "dossier.transition" not in re.sub(r'data-event="[^"]*"', "", timeline)
    # The index above the blocks counts them.
    assert re.search(r'href="#messages">Messages envoyés \(\d+\)', page)


def test_an_operator_leaves_an_internal_note_which_is_audited(
    client: FlaskClient, app: Flask
) -> None:
    operator = make_user(db.session, first_name="Olivia", last_name="Perrin")
    dossier = make_dossier(db.session)
    dossier_id = dossier.id
    db.session.commit()
    sign_in(client, operator)

    empty = client.post(
        f"/validation/dossiers/{dossier_id}/notes", data={"note-body": "  "}, follow_redirects=True
    )
    assert "la note est vide" in empty.get_data(as_text=True)
    response = client.post(
        f"/validation/dossiers/{dossier_id}/notes",
        data={"note-body": "Client rappelé : Kbis à jour envoyé demain."},
        follow_redirects=True,
    )

    page = response.get_data(as_text=True)
    assert "Note ajoutée." in page
    notes = _section(page, "notes")
    assert "Olivia Perrin" in notes
    assert "Kbis à jour envoyé demain" in notes
    [note] = db.session.scalars(sa.select(DossierNote)).all()
    entry = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.event_type == "review.note_added")
    )
    assert entry is not None
    assert entry.dossier_id == dossier_id
    assert entry.payload["note_id"] == note.id


def test_next_dossier_goes_to_the_oldest_ready_one_and_says_when_none_is_left(
    client: FlaskClient, app: Flask
) -> None:
    operator = make_user(db.session)
    blocked = make_dossier(db.session)
    make_check_run(db.session, blocked, [("kbis.age", "fail")])
    ready = make_dossier(db.session)
    make_check_run(db.session, ready)
    held = make_dossier(db.session)
    make_check_run(db.session, held)
    held.claimed_by_id = make_user(db.session).id
    held.claimed_at = utcnow()
    ready_id, blocked_id = ready.id, blocked.id
    db.session.commit()
    sign_in(client, operator)

    first = client.post("/validation/suivant")
    assert first.headers["Location"].endswith(f"/validation/dossiers/{ready_id}")
    second = client.post("/validation/suivant", data={"laisser": str(ready_id)})
    # « Dossier suivant » gives back the one left undecided, then takes the blocked one.
    assert second.headers["Location"].endswith(f"/validation/dossiers/{blocked_id}")
    db.session.expire_all()
    assert db.session.get(Dossier, ready_id).claimed_by_id is None  # type: ignore[union-attr]
    # Left undecided again: back to the ready one; the one held by a colleague never comes.
    third = client.post("/validation/suivant", data={"laisser": str(blocked_id)})
    assert third.headers["Location"].endswith(f"/validation/dossiers/{ready_id}")


def test_next_dossier_says_so_when_nothing_is_left(client: FlaskClient, app: Flask) -> None:
    operator = make_user(db.session)
    held = make_dossier(db.session)
    make_check_run(db.session, held)
    held.claimed_by_id = make_user(db.session).id
    held.claimed_at = utcnow()
    db.session.commit()
    sign_in(client, operator)

    body = client.post("/validation/suivant", follow_redirects=True).get_data(as_text=True)

    assert "Aucun autre dossier à traiter pour le moment." in body
    assert "<h1>File de validation</h1>" in body


def test_two_operators_pressing_next_at_the_same_instant_get_two_different_dossiers(
    app: Flask,
) -> None:
    operators = [make_user(db.session), make_user(db.session)]
    dossiers = [make_dossier(db.session), make_dossier(db.session)]
    for dossier in dossiers:
        make_check_run(db.session, dossier)
    db.session.commit()
    senders = []
    for n, operator in enumerate(operators):
        client = app.test_client()
        sign_in(client, operator)
        senders.append((f"opérateur {n + 1}", client))
    operator_ids = sorted(u.id for u in operators)
    db.session.commit()  # the test's own connection holds no lock while they fire

    outcomes = fire_together(app, senders, "/validation/suivant", {})

    assert all(o.status == 302 for o in outcomes), [str(o) for o in outcomes]
    told = {text for o in outcomes for _, text in o.flashes}
    assert len(told) == 2, told  # « Dossier … pris en charge », two different numbers
    db.session.expire_all()
    holders = {d.id: d.claimed_by_id for d in db.session.scalars(sa.select(Dossier)).all()}
    assert sorted(holders.values()) == operator_ids  # one each
    claims = db.session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.event_type == "review.claimed")
    )
    assert claims == 2


def test_asking_for_documents_and_going_on_opens_the_next_dossier(
    client: FlaskClient, app: Flask
) -> None:
    operator = make_user(db.session)
    broken = make_dossier(db.session)
    run = make_check_run(db.session, broken, [("kbis.age", "fail")])
    ready = make_dossier(db.session)
    make_check_run(db.session, ready)
    broken_id, ready_id, run_id = broken.id, ready.id, run.id
    db.session.commit()
    sign_in(client, operator)
    client.post(f"/validation/dossiers/{broken_id}/prendre")

    response = client.post(
        f"/validation/dossiers/{broken_id}/demander-pieces",
        data={"request-reasons": ["kbis.age"], "request-check_run_id": str(run_id), "suivant": "1"},
    )

    assert response.headers["Location"].endswith(f"/validation/dossiers/{ready_id}")
    db.session.expire_all()
    assert db.session.get(Dossier, broken_id).status == "documents_requested"  # type: ignore[union-attr]
    assert db.session.get(Dossier, ready_id).claimed_by_id == operator.id  # type: ignore[union-attr]
