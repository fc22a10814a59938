"""Issuing the certificate of an approved dossier: names as read, idempotence, failures."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from flask import Flask

from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.models import Certificate
from ra_workbench.delivery.models import Shipment
from ra_workbench.dossiers.models import Dossier, PersonRole
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.issuance import service
from ra_workbench.issuance.models import IssuanceRequest
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.unit import DEFERRED_JOBS, unit_of_work
from tests.factories import (
    approve_through_review,
    make_approved_dossier,
    make_check_run,
    make_dossier,
    make_person,
    mrz_reading,
)


def _events(kind: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.event_type == kind).order_by(AuditEvent.seq)
        )
    )


def _request(dossier: Dossier) -> IssuanceRequest:
    request = db.session.scalar(
        sa.select(IssuanceRequest).where(IssuanceRequest.dossier_id == dossier.id)
    )
    assert request is not None
    return request


def _certificates(dossier: Dossier) -> list[Certificate]:
    return list(
        db.session.scalars(sa.select(Certificate).where(Certificate.dossier_id == dossier.id))
    )


def test_certificate_names_come_from_the_document_and_the_transliteration_is_audited(
    app: Flask,
) -> None:
    holder = make_person(PersonRole.HOLDER, first_name="Hélène", last_name="Lefèvre")
    dossier = make_approved_dossier(
        db.session,
        mrz_reading("LEFEVRE", ("HELENE", "ANNE"), birth_date="1979-03-02"),
        people=[holder, make_person(PersonRole.LEGAL_REPRESENTATIVE)],
    )

    request = service.issue_certificate(db.session, dossier.id)

    assert request.state == "issued"
    assert request.attempts == 1
    [certificate] = _certificates(dossier)
    parsed = x509.load_pem_x509_certificate(certificate.pem.encode())
    given = parsed.subject.get_attributes_for_oid(NameOID.GIVEN_NAME)[0].value
    surname = parsed.subject.get_attributes_for_oid(NameOID.SURNAME)[0].value
    assert (given, surname) == ("HELENE", "LEFEVRE")
    assert certificate.holder_surname == "LEFEVRE"
    assert certificate.holder_given_names == "HELENE ANNE"
    assert certificate.holder_birth_date is not None
    assert certificate.holder_birth_date.isoformat() == "1979-03-02"
    assert certificate.fingerprint_sha256 == parsed.fingerprint(hashes.SHA256()).hex()
    assert certificate.backend == "local"

    [transliteration] = _events("issuance.transliteration")
    assert transliteration.payload["typed"] == {"given_name": "Hélène", "surname": "Lefèvre"}
    assert transliteration.payload["certificate"] == {"given_name": "HELENE", "surname": "LEFEVRE"}
    assert "ICAO 9303" in transliteration.payload["rule"]
    assert len(_events("issuance.certificate_issued")) == 1


def test_issuance_moves_the_dossier_and_schedules_the_shipment(app: Flask) -> None:
    dossier = make_approved_dossier(db.session)
    service.issue_certificate(db.session, dossier.id)

    transitions = [e.payload["transition"] for e in _events("dossier.transition")]
    assert transitions == ["approve", "issue_certificate", "schedule_delivery"]
    assert dossier.status == DossierStatus.DELIVERY_SCHEDULED.value
    shipment = db.session.scalar(sa.select(Shipment).where(Shipment.dossier_id == dossier.id))
    assert shipment is not None
    assert shipment.state == "prepared"
    assert shipment.address["city"] == "LYON"
    ready = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.template == "certificate_ready")
    ).all()
    assert {m.recipient for m in ready} == {
        "p.morel@ateliers-morel.fr",
        "c.durand@ateliers-morel.fr",
    }
    assert all(shipment.tracking_number in m.body for m in ready)


def test_a_typed_name_equal_to_the_document_is_not_flagged(app: Flask) -> None:
    dossier = make_approved_dossier(db.session)  # CLAIRE DURAND typed and read
    service.issue_certificate(db.session, dossier.id)
    assert _events("issuance.transliteration") == []


def test_issuing_twice_gives_one_certificate(app: Flask) -> None:
    dossier = make_approved_dossier(db.session)
    service.issue_certificate(db.session, dossier.id)
    again = service.issue_certificate(db.session, dossier.id)
    assert again.state == "issued"
    assert again.attempts == 1
    assert len(_certificates(dossier)) == 1


def test_on_approved_records_the_request_and_defers_the_job(app: Flask) -> None:
    dossier = make_dossier(db.session, status=DossierStatus.APPROVED.value)
    request = service.on_approved(db.session, dossier, actor="op@example.fr", actor_id=None)
    assert request.state == "queued"
    assert db.session.info[DEFERRED_JOBS] == [
        (service.ISSUE_TASK, (dossier.id,), f"issue-certificate-{dossier.id}")
    ]
    assert _events("issuance.requested")[0].actor == "op@example.fr"
    db.session.info.pop(DEFERRED_JOBS)


def test_failing_backend_leaves_a_visible_failed_request_that_an_operator_retries(
    app: Flask, use_backend: Callable[[str], None]
) -> None:
    use_backend("failing")
    dossier = make_approved_dossier(db.session)
    request = service.issue_certificate(db.session, dossier.id)

    assert request.state == "failed"
    assert request.attempts == 1
    assert "AC indisponible" in (request.last_error or "")
    assert dossier.status == DossierStatus.APPROVED.value
    assert _certificates(dossier) == []
    [failed] = _events("issuance.failed")
    assert failed.payload["retry_scheduled"] is False
    assert [row.request.id for row in service.requests_needing_attention(db.session)] == [
        request.id
    ]
    db.session.commit()

    # The CA is back; the operator's retry runs the job (inline: right after the commit).
    use_backend("local")
    with unit_of_work() as session:
        service.retry_issuance(session, request.id, actor="sup@example.fr")
    db.session.expire_all()
    request = _request(dossier)
    assert request.state == "issued"
    assert request.attempts == 2
    assert request.last_error is None
    assert len(_certificates(dossier)) == 1
    assert service.requests_needing_attention(db.session) == []


def test_a_failure_with_an_automatic_retry_coming_stays_queued(
    app: Flask, use_backend: Callable[[str], None]
) -> None:
    use_backend("failing:1")
    dossier = make_approved_dossier(db.session)
    first = service.issue_certificate(db.session, dossier.id, retry_later=True)
    assert first.state == "queued"
    assert first.last_error
    [row] = service.requests_needing_attention(db.session)
    assert row.order_number == dossier.order_number
    second = service.issue_certificate(db.session, dossier.id, retry_later=True)
    assert second.state == "issued"
    assert second.attempts == 2


def test_only_a_failed_request_can_be_retried(app: Flask) -> None:
    dossier = make_approved_dossier(db.session)
    service.issue_certificate(db.session, dossier.id)
    with pytest.raises(service.IssuanceError, match="en échec"):
        service.retry_issuance(db.session, _request(dossier).id, actor="op")


def test_without_a_reading_of_the_identity_document_nothing_is_issued(app: Flask) -> None:
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier)
    approve_through_review(db.session, dossier)
    request = service.issue_certificate(db.session, dossier.id)
    assert request.state == "failed"
    assert "Aucune lecture de la pièce d'identité" in (request.last_error or "")


def test_an_identity_document_expired_since_approval_blocks_issuance(app: Flask) -> None:
    dossier = make_approved_dossier(db.session, mrz_reading(expiry_date="2020-01-31"))
    request = service.issue_certificate(db.session, dossier.id)
    assert request.state == "failed"
    assert "a expiré" in (request.last_error or "")


def test_a_valid_reading_is_preferred_to_an_invalid_one(app: Flask) -> None:
    from tests.factories import make_read_identity

    dossier = make_approved_dossier(db.session, mrz_reading("DURANT", valid=False))
    make_read_identity(db.session, dossier, mrz_reading("DURAND", valid=True))
    reading = service.holder_reading(db.session, dossier, today=dossier.submitted_at.date())
    assert reading.surname == "DURAND"
