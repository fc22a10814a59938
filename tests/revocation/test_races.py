"""Two staff members acting on one revocation request at the same instant, through the app,
on SQLite and on PostgreSQL: one wins, the other reads who did it, in French; the
certificate is revoked once and the customer told once."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import IntegrityError

from ra_workbench.audit.models import AuditEvent
from ra_workbench.extensions import db
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.revocation import service
from ra_workbench.revocation.models import RevocationRequest
from tests.concurrency.race import fire_together, login, response_problems
from tests.factories import make_user
from tests.revocation.builders import issued, portal_request


def _portal_request() -> tuple[int, int]:
    dossier, certificate = issued(db.session)
    request = RevocationRequest(
        certificate_id=certificate.id,
        dossier_id=dossier.id,
        source="portal",
        requester_role="holder",
        requester_first_name="Claire",
        requester_last_name="Durand",
        requester_email="c.durand@ateliers-morel.fr",
        reason="affiliationChanged",
        comment="",
        state="open",
        link_verified=True,
        link_detail="Lien vérifié",
        opened_by="api:portal",
    )
    db.session.add(request)
    db.session.flush()
    return request.id, certificate.id


def _count(event_type: str) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.event_type == event_type)
        )
        or 0
    )


def test_two_operators_claiming_the_same_request_at_once_get_one_claim(app: Flask) -> None:
    request_id, _ = _portal_request()
    first = make_user(db.session, first_name="Olivia", last_name="Perrin")
    second = make_user(db.session, first_name="Hugo", last_name="Martin")
    db.session.commit()
    senders = []
    for name, user in (("Olivia", first), ("Hugo", second)):
        client = app.test_client()
        login(client, user)
        senders.append((name, client))
    db.session.commit()  # the sign-ins' reads end here: no open read holds SQLite's lock

    outcomes = fire_together(app, senders, f"/revocations/{request_id}/prendre", {})

    problems = response_problems(
        outcomes, success="Demande prise en charge", refusals=["vient d'être prise en charge"]
    )
    assert not problems, "\n".join(problems)
    db.session.expire_all()
    request = db.session.get(RevocationRequest, request_id)
    assert request is not None
    assert request.state == "claimed"
    assert _count("revocation.claimed") == 1


def test_the_same_revocation_decided_twice_at_once_revokes_once(app: Flask) -> None:
    request_id, _ = _portal_request()
    operator = make_user(db.session, first_name="Olivia", last_name="Perrin")
    db.session.flush()
    service.claim(db.session, request_id, operator, claim_minutes=60)
    db.session.commit()
    senders = []
    for name in ("onglet 1", "onglet 2"):
        client = app.test_client()
        login(client, operator)
        senders.append((name, client))
    db.session.commit()  # the sign-ins' reads end here: no open read holds SQLite's lock

    outcomes = fire_together(
        app,
        senders,
        f"/revocations/{request_id}/decider",
        {"decision": "revoke", "comment": "Départ confirmé par le représentant légal"},
    )

    problems = response_problems(
        outcomes, success="Certificat révoqué", refusals=["vient d'être décidée"]
    )
    assert not problems, "\n".join(problems)
    assert _count("revocation.decided") == 1
    assert _count("issuance.certificate_revoked") == 1
    assert (
        db.session.scalar(
            sa.select(sa.func.count(OutboxMessage.id)).where(
                OutboxMessage.template == "certificate_revoked"
            )
        )
        == 2
    )


def test_the_portal_sending_the_same_request_twice_at_once_opens_one(
    app: Flask, api_headers: dict[str, str]
) -> None:
    dossier, certificate = issued(db.session)
    body = portal_request(dossier, certificate)
    db.session.commit()
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def send() -> None:
        with app.app_context():
            try:
                client = app.test_client()
                barrier.wait(timeout=20)
                answer = client.post("/api/v1/revocations", json=body, headers=api_headers)
                statuses.append(answer.status_code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=send, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert sorted(statuses) == [201, 409]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(RevocationRequest.id))) == 1


def test_the_database_refuses_a_second_undecided_request_for_a_certificate(app: Flask) -> None:
    request_id, _certificate_id = _portal_request()
    first = db.session.get(RevocationRequest, request_id)
    assert first is not None
    twin = RevocationRequest(
        certificate_id=first.certificate_id,
        dossier_id=first.dossier_id,
        source="staff",
        requester_role="staff",
        reason="affiliationChanged",
        comment="",
        state="awaiting_second",
        link_detail="",
        opened_by="operateur@example.fr",
    )
    db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
