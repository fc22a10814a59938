"""A revocation asked through the portal, as the operator lives it: the request arrives with
the requester's link to the organisation checked, waits in « Révocations », is claimed,
decided, the certificate revoked through issuance, the customer and the holder told, the
status API reports it; key compromise does not wait."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.models import Certificate
from ra_workbench.extensions import db
from ra_workbench.issuance.service import IssuanceError
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.revocation import service
from ra_workbench.revocation.models import RevocationRequest
from tests.factories import make_user
from tests.revocation.builders import issued, portal_request


def _post(client: FlaskClient, headers: dict[str, str], body: Any) -> Any:
    return client.post("/api/v1/revocations", json=body, headers=headers)


def _events(dossier_id: int) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent.event_type)
            .where(AuditEvent.dossier_id == dossier_id, AuditEvent.event_type.like("revocation.%"))
            .order_by(AuditEvent.seq)
        )
    )


def test_holder_asks_through_the_portal_then_operator_claims_and_revokes(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    dossier, certificate = issued(db.session)
    operator = make_user(db.session)
    db.session.commit()

    answer = _post(client, api_headers, portal_request(dossier, certificate))
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["outcome"] == "recorded"
    assert body["state"] == "open"
    assert body["state_label"] == "Ouverte"
    assert body["revoked_at"] is None
    request = db.session.get(RevocationRequest, body["request_id"])
    assert request is not None
    assert request.link_verified is True
    assert "Lien vérifié" in request.link_detail
    assert request.comment.endswith("Merci de révoquer.")
    # Waiting for staff, nothing revoked yet; the status API says so.
    assert [row.request.id for row in service.queue(db.session)] == [request.id]
    status = client.get(f"/api/v1/dossiers/{dossier.order_number}/status", headers=api_headers)
    reported = status.get_json()
    assert reported["revocation_request"]["open"] is True
    assert reported["certificates_status"][0]["revoked"] is False

    service.claim(db.session, request.id, operator, claim_minutes=60)
    service.decide(
        db.session,
        request.id,
        operator,
        decision="revoke",
        comment="Départ confirmé par le représentant légal",
        claim_minutes=60,
    )
    db.session.commit()

    db.session.refresh(certificate)
    assert certificate.revoked_at is not None
    assert certificate.revocation_reason == "affiliationChanged"
    assert request.state == "revoked"
    assert request.decided_by_id == operator.id
    assert service.queue(db.session) == []
    assert _events(dossier.id) == [
        "revocation.requested",
        "revocation.claimed",
        "revocation.decided",
    ]
    assert (
        "issuance.certificate_revoked"
        in db.session.scalars(
            sa.select(AuditEvent.event_type).where(AuditEvent.dossier_id == dossier.id)
        ).all()
    )
    # The legal representative (who follows the order) and the holder are told, in French.
    messages = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.template == "certificate_revoked")
    ).all()
    assert sorted(m.recipient for m in messages) == [
        "c.durand@ateliers-morel.fr",
        "p.morel@ateliers-morel.fr",
    ]
    assert all(certificate.serial_number in m.body for m in messages)
    assert all("Changement d'affiliation" in m.body for m in messages)
    assert all("révoqué le" in m.body for m in messages)

    status = client.get(f"/api/v1/dossiers/{dossier.order_number}/status", headers=api_headers)
    reported = status.get_json()
    assert reported["certificates_status"][0]["revoked"] is True
    assert reported["certificates_status"][0]["revocation_reason"] == "affiliationChanged"
    assert reported["revocation_request"]["state"] == "revoked"
    assert reported["revocation_request"]["open"] is False
    assert reported["revocation_request"]["revoked_at"] is not None


def test_key_compromise_from_the_mandataire_is_revoked_at_once_and_still_checked_afterwards(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    dossier, certificate = issued(db.session, mandataire=True)
    operator = make_user(db.session)
    db.session.commit()

    answer = _post(
        client,
        api_headers,
        portal_request(dossier, certificate, role="mandataire", reason="keyCompromise"),
    )
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["state"] == "revoked"
    assert body["revoked_at"] is not None
    db.session.expire_all()
    revoked = db.session.get(Certificate, certificate.id)
    assert revoked is not None
    assert revoked.revocation_reason == "keyCompromise"
    assert _events(dossier.id) == ["revocation.requested", "revocation.revoked_at_once"]
    # The mandataire follows the order: told with the holder.
    recipients = sorted(
        db.session.scalars(
            sa.select(OutboxMessage.recipient).where(
                OutboxMessage.template == "certificate_revoked"
            )
        )
    )
    assert recipients == ["c.durand@ateliers-morel.fr", "l.bertin@ateliers-morel.fr"]
    # Still shown to staff, for the check afterwards.
    [row] = service.queue(db.session)
    assert row.request.id == body["request_id"]
    service.check_afterwards(
        db.session, row.request.id, operator, comment="Appel au mandataire : clé perdue"
    )
    db.session.commit()
    assert service.queue(db.session) == []
    assert _events(dossier.id)[-1] == "revocation.checked_afterwards"


def test_a_requester_whose_link_does_not_hold_waits_for_staff_even_for_key_compromise(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    """My call: an unverified requester cannot make a certificate disappear at once. The
    request waits (key compromise at the top of the queue), its page shows what did not
    match, and staff may revoke only by stating they checked the link another way."""
    dossier, certificate = issued(db.session)
    operator = make_user(db.session)
    db.session.commit()

    body = portal_request(
        dossier,
        certificate,
        role="legal_representative",
        reason="keyCompromise",
        requester={"email": "inconnu@exemple.fr"},
    )
    answer = _post(client, api_headers, body)
    assert answer.status_code == 201
    assert answer.get_json()["state"] == "open"
    request = db.session.get(RevocationRequest, answer.get_json()["request_id"])
    assert request is not None
    assert request.link_verified is False
    assert "l'adresse e-mail n'est pas celle du représentant légal déclaré" in request.link_detail
    db.session.refresh(certificate)
    assert certificate.revoked_at is None

    service.claim(db.session, request.id, operator, claim_minutes=60)
    with pytest.raises(service.RevocationError, match="n'est pas vérifié"):
        service.decide(
            db.session,
            request.id,
            operator,
            decision="revoke",
            comment="Demande urgente du client",
            claim_minutes=60,
        )
    service.decide(
        db.session,
        request.id,
        operator,
        decision="revoke",
        comment="Rappel de M. Morel au numéro du Kbis : demande confirmée",
        link_confirmed=True,
        claim_minutes=60,
    )
    db.session.commit()
    db.session.refresh(certificate)
    assert certificate.revocation_reason == "keyCompromise"
    decided = db.session.scalars(
        sa.select(AuditEvent.payload).where(AuditEvent.event_type == "revocation.decided")
    ).one()
    assert decided["link_confirmed_by_staff"] is True


def test_operator_refuses_a_request_and_the_certificate_stays_valid(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    dossier, certificate = issued(db.session)
    operator = make_user(db.session)
    db.session.commit()
    answer = _post(client, api_headers, portal_request(dossier, certificate))
    request_id = answer.get_json()["request_id"]

    service.claim(db.session, request_id, operator, claim_minutes=60)
    service.decide(
        db.session,
        request_id,
        operator,
        decision="refuse",
        comment="Le porteur est toujours salarié (appel RH)",
        claim_minutes=60,
    )
    db.session.commit()
    db.session.refresh(certificate)
    assert certificate.revoked_at is None
    assert (
        db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.template == "certificate_revoked")
        ).all()
        == []
    )
    status = client.get(f"/api/v1/dossiers/{dossier.order_number}/status", headers=api_headers)
    assert status.get_json()["revocation_request"]["state_label"] == "Refusée"
    # A new request may be opened after a refusal.
    again = _post(client, api_headers, portal_request(dossier, certificate))
    assert again.status_code == 201


def test_portal_refusals_are_french_and_never_5xx(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    dossier, certificate = issued(db.session)
    db.session.commit()
    good = portal_request(dossier, certificate)

    unknown = _post(client, api_headers, good | {"order_number": "999999"})
    assert unknown.status_code == 404
    assert unknown.mimetype == "application/problem+json"
    assert unknown.get_json()["code"] == "unknown_order"
    assert unknown.get_json()["errors"] == ["commande inconnue : 999999"]
    wrong_serial = _post(client, api_headers, good | {"certificate_serial": "ABCDEF"})
    assert wrong_serial.status_code == 404
    assert wrong_serial.get_json()["code"] == "unknown_certificate"
    assert "Aucun certificat n° ABCDEF" in wrong_serial.get_json()["errors"][0]
    bad = _post(
        client,
        api_headers,
        good | {"reason": "superseded", "extra": 1, "requester": {"role": "porteur"}},
    )
    assert bad.status_code == 400
    assert bad.get_json()["code"] == "invalid_content"
    errors = bad.get_json()["errors"]
    assert "champ inconnu : /extra" in errors
    assert any(e.startswith("champ /reason : valeur « superseded » non admise") for e in errors)
    assert any("champ obligatoire manquant : /requester/email" in e for e in errors)
    garbage = client.post(
        "/api/v1/revocations",
        data=b"{not json",
        headers=api_headers,
        content_type="application/json",
    )
    assert garbage.status_code == 400
    assert garbage.get_json()["errors"][0].startswith("demande de révocation illisible")
    assert client.post("/api/v1/revocations", json=good).status_code == 401

    first = _post(client, api_headers, good)
    assert first.status_code == 201
    twice = _post(client, api_headers, good)
    assert twice.status_code == 409
    assert twice.get_json()["code"] == "revocation_open"
    assert twice.get_json()["request_id"] == first.get_json()["request_id"]
    assert "déjà en cours" in twice.get_json()["errors"][0]
    assert db.session.scalar(sa.select(sa.func.count(RevocationRequest.id))) == 1


def test_the_trail_of_a_revocation_names_no_one(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    """Minimal collection: the requester's names and e-mail stay on the request; the audit
    entries carry ids, roles and reasons."""
    dossier, certificate = issued(db.session, mandataire=True)
    db.session.commit()
    body = portal_request(dossier, certificate, role="mandataire", reason="keyCompromise")
    assert _post(client, api_headers, body).status_code == 201
    payloads = db.session.scalars(
        sa.select(AuditEvent.payload).where(
            sa.or_(
                AuditEvent.event_type.like("revocation.%"),
                AuditEvent.event_type == "issuance.certificate_revoked",
            )
        )
    ).all()
    assert len(payloads) == 3
    written = str(payloads).casefold()
    for personal in ("bertin", "luc", "durand", "claire", "morel", "@ateliers-morel.fr"):
        assert personal not in written


def test_a_key_compromise_the_ca_cannot_revoke_now_stays_first_in_the_queue(
    client: FlaskClient, api_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dossier, certificate = issued(db.session)
    db.session.commit()

    def ca_down(*_args: object, **_kwargs: object) -> None:
        raise IssuanceError("L'AC n'a pas révoqué le certificat : délai dépassé.")

    monkeypatch.setattr(service, "revoke", ca_down)
    body = portal_request(dossier, certificate, reason="keyCompromise")
    answer = _post(client, api_headers, body)

    assert answer.status_code == 201
    assert answer.get_json()["state"] == "open"
    db.session.refresh(certificate)
    assert certificate.revoked_at is None
    [row] = service.queue(db.session)
    assert row.request.reason == "keyCompromise"
    assert _events(dossier.id) == ["revocation.requested", "revocation.immediate_failed"]
    failed = db.session.scalars(
        sa.select(AuditEvent.payload).where(AuditEvent.event_type == "revocation.immediate_failed")
    ).one()
    assert "délai dépassé" in failed["error"]
