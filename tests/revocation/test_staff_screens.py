"""Staff open, claim and decide revocations on the screens: a request opened from the
certificate page waits for a second person (four eyes), a lost token is revoked at once
and checked afterwards by someone else, and every page reads in French."""

from __future__ import annotations

import html

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.models import Certificate
from ra_workbench.extensions import db
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.revocation.models import RevocationRequest
from tests.auth import sign_in
from tests.factories import make_user
from tests.revocation.builders import issued


def _text(response: object) -> str:
    return html.unescape(response.get_data(as_text=True)).replace("\u2019", "'")  # type: ignore[attr-defined]


def _signed_in(app: Flask, user: object) -> FlaskClient:
    client = app.test_client()
    sign_in(client, user)  # type: ignore[arg-type]
    return client


def _only_request() -> RevocationRequest:
    db.session.expire_all()
    return db.session.scalars(sa.select(RevocationRequest)).one()


def test_staff_opened_request_is_refused_to_its_opener_and_decided_by_a_second_person(
    app: Flask,
) -> None:
    _dossier, certificate = issued(db.session)
    opener = make_user(db.session, first_name="Olivia", last_name="Perrin")
    second = make_user(db.session, first_name="Hugo", last_name="Martin")
    db.session.commit()
    alice = _signed_in(app, opener)

    page = alice.get(f"/emission/certificats/{certificate.id}")
    assert "Demander la révocation" in _text(page)
    form = alice.get(f"/revocations/certificats/{certificate.id}/demander")
    assert form.status_code == 200
    assert "Le porteur a quitté l'organisation" in _text(form)
    short = alice.post(
        f"/revocations/certificats/{certificate.id}/demander",
        data={"ground": "holder_left", "comment": "parti"},
        follow_redirects=True,
    )
    assert "10 caractères au moins" in _text(short)
    opened = alice.post(
        f"/revocations/certificats/{certificate.id}/demander",
        data={"ground": "holder_left", "comment": "Appel RH du 02/12 : départ le 30/11"},
        follow_redirects=True,
    )
    assert "un autre membre de l'équipe doit la décider" in _text(opened)
    request = _only_request()
    assert request.state == "awaiting_second"
    assert request.reason == "affiliationChanged"
    assert request.opened_by_id == opener.id

    # The opener can neither claim nor decide it.
    page = _text(alice.get(f"/revocations/{request.id}"))
    assert "En attente de seconde validation" in page
    assert 'id="claim-button"' not in page
    refused = alice.post(f"/revocations/{request.id}/prendre", follow_redirects=True)
    assert "Vous avez ouvert cette demande" in _text(refused)
    refused = alice.post(
        f"/revocations/{request.id}/decider",
        data={"decision": "revoke", "comment": "Je décide seule de révoquer"},
        follow_redirects=True,
    )
    assert "double contrôle" in _text(refused)
    db.session.refresh(certificate)
    assert certificate.revoked_at is None

    # A second person claims it from the queue and revokes.
    bob = _signed_in(app, second)
    queue = _text(bob.get("/revocations/"))
    assert f"Demande n° {request.id}" in queue
    assert "Équipe AE" in queue
    claimed = bob.post(f"/revocations/{request.id}/prendre", follow_redirects=True)
    assert "Demande prise en charge pour 60 minutes." in _text(claimed)
    revoked = bob.post(
        f"/revocations/{request.id}/decider",
        data={"decision": "revoke", "comment": "Départ confirmé par le représentant légal"},
        follow_redirects=True,
    )
    assert "Certificat révoqué ; le client et le porteur sont prévenus." in _text(revoked)
    request = _only_request()
    assert request.state == "revoked"
    assert request.decided_by_id == second.id
    revoked_certificate = db.session.get(Certificate, certificate.id)
    assert revoked_certificate is not None
    assert revoked_certificate.revocation_reason == "affiliationChanged"
    page = _text(bob.get(f"/revocations/{request.id}"))
    assert "Révoquée" in page
    assert "Changement d'affiliation" in page
    assert "Prise en charge" in page  # the request's trail
    dossier_page = _text(bob.get(f"/validation/dossiers/{certificate.dossier_id}"))
    assert "Demandes de révocation" in dossier_page
    assert f"Demande n° {request.id}" in dossier_page
    certificate_page = _text(bob.get(f"/emission/certificats/{certificate.id}"))
    assert "révoqué le" in certificate_page
    assert "Demander la révocation" not in certificate_page
    assert (
        db.session.scalar(
            sa.select(sa.func.count(OutboxMessage.id)).where(
                OutboxMessage.template == "certificate_revoked"
            )
        )
        == 2
    )
    steps = db.session.scalars(
        sa.select(AuditEvent.actor)
        .where(AuditEvent.event_type.like("revocation.%"))
        .order_by(AuditEvent.seq)
    ).all()
    assert steps == [opener.email, second.email, second.email]


def test_a_lost_token_is_revoked_at_once_and_checked_afterwards_by_someone_else(
    app: Flask,
) -> None:
    _dossier, certificate = issued(db.session)
    opener = make_user(db.session)
    second = make_user(db.session)
    db.session.commit()
    alice = _signed_in(app, opener)
    answer = alice.post(
        f"/revocations/certificats/{certificate.id}/demander",
        data={"ground": "token_lost", "comment": "Le porteur a perdu sa clé USB dans le train"},
        follow_redirects=True,
    )
    assert "Certificat révoqué immédiatement" in _text(answer)
    request = _only_request()
    assert (request.state, request.immediate, request.reason) == ("revoked", True, "keyCompromise")
    assert "Contrôle effectué" not in _text(alice.get(f"/revocations/{request.id}"))
    refused = alice.post(
        f"/revocations/{request.id}/controler",
        data={"comment": "Je contrôle ma propre demande"},
        follow_redirects=True,
    )
    assert "Vous avez ouvert cette demande" in _text(refused)

    bob = _signed_in(app, second)
    assert "Révoquée, à contrôler" in _text(bob.get("/revocations/"))
    checked = bob.post(
        f"/revocations/{request.id}/controler",
        data={"comment": "Rappel du porteur : perte confirmée, déclaration faite"},
        follow_redirects=True,
    )
    assert "Contrôle a posteriori enregistré." in _text(checked)
    assert "Aucune demande de révocation en attente." in _text(bob.get("/revocations/"))


def test_an_operator_cannot_open_a_request_for_a_certificate_already_under_review(
    app: Flask,
) -> None:
    _dossier, certificate = issued(db.session)
    opener = make_user(db.session)
    db.session.commit()
    client = _signed_in(app, opener)
    data = {"ground": "information_changed", "comment": "Changement de nom du porteur"}
    client.post(f"/revocations/certificats/{certificate.id}/demander", data=data)
    again = client.post(
        f"/revocations/certificats/{certificate.id}/demander", data=data, follow_redirects=True
    )
    assert "déjà en cours" in _text(again)
    assert db.session.scalar(sa.select(sa.func.count(RevocationRequest.id))) == 1
