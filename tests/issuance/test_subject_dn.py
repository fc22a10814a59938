"""A DN is never reused for another person (EN 319 412-2; REQUIREMENTS 11): two holders
with the same names in the same organisation differ by the subject's serialNumber, which
the register holds once; a drawn value already given is drawn again, and a certificate the
register refuses is neither recorded nor delivered."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.x509.oid import NameOID
from flask import Flask
from sqlalchemy.exc import IntegrityError

from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.models import Certificate
from ra_workbench.delivery.models import Shipment
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.issuance import service
from ra_workbench.issuance.backends import CABackend
from ra_workbench.issuance.ca import CertificateProfile, IssuedCertificate, SubjectIdentity
from ra_workbench.issuance.models import IssuanceRequest
from tests.factories import make_approved_dossier


def _certificate(dossier: Dossier) -> Certificate:
    certificate = db.session.scalar(
        sa.select(Certificate).where(Certificate.dossier_id == dossier.id)
    )
    assert certificate is not None
    return certificate


def _subject(certificate: Certificate) -> x509.Name:
    return x509.load_pem_x509_certificate(certificate.pem.encode()).subject


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    return str(name.get_attributes_for_oid(oid)[0].value)


def _issued_dossier() -> tuple[Dossier, Certificate]:
    dossier = make_approved_dossier(db.session)
    assert service.issue_certificate(db.session, dossier.id).state == "issued"
    return dossier, _certificate(dossier)


class _CountingBackend(CABackend):
    """The configured CA, with its calls counted."""

    name = "local"

    def __init__(self, real: CABackend) -> None:
        self.real = real
        self.subjects: list[SubjectIdentity] = []

    def issue(self, subject: SubjectIdentity, profile: CertificateProfile) -> IssuedCertificate:
        self.subjects.append(subject)
        return self.real.issue(subject, profile)


@pytest.fixture
def ca(monkeypatch: pytest.MonkeyPatch) -> _CountingBackend:
    real = service.get_backend
    counting: dict[str, _CountingBackend] = {}

    def backend(name: str | None = None) -> CABackend:
        if "ca" not in counting:
            counting["ca"] = _CountingBackend(real(name))
        return counting["ca"]

    monkeypatch.setattr(service, "get_backend", backend)
    backend()
    return counting["ca"]


def _draws(monkeypatch: pytest.MonkeyPatch, *values: str) -> None:
    """The next subject serials drawn, then fresh random ones."""
    queue = list(values)
    real = service.new_subject_serial

    def draw(prefix: str = "RAW") -> str:
        return queue.pop(0) if queue else real(prefix)

    monkeypatch.setattr(service, "new_subject_serial", draw)


def test_two_holders_with_the_same_names_in_the_same_organisation_get_different_dns(
    app: Flask,
) -> None:
    # Two orders for CLAIRE DURAND at ATELIERS MOREL (SIREN 732829320): two people.
    first_dossier, first = _issued_dossier()
    second_dossier, second = _issued_dossier()
    assert first_dossier.holder is not None
    assert second_dossier.holder is not None
    assert first_dossier.holder.id != second_dossier.holder.id

    a, b = _subject(first), _subject(second)
    for oid in (
        NameOID.GIVEN_NAME,
        NameOID.SURNAME,
        NameOID.COMMON_NAME,
        NameOID.ORGANIZATION_NAME,
        NameOID.ORGANIZATION_IDENTIFIER,
        NameOID.COUNTRY_NAME,
    ):
        assert _attribute(a, oid) == _attribute(b, oid)
    assert _attribute(a, NameOID.SERIAL_NUMBER) != _attribute(b, NameOID.SERIAL_NUMBER)
    assert a != b
    assert first.subject != second.subject
    assert _attribute(a, NameOID.SERIAL_NUMBER) == first.subject_serial
    assert _attribute(b, NameOID.SERIAL_NUMBER) == second.subject_serial


def test_the_register_refuses_a_second_certificate_with_the_same_subject_serial(
    app: Flask,
) -> None:
    _, first = _issued_dossier()
    other = make_approved_dossier(db.session)
    copy: dict[str, Any] = {
        column.key: getattr(first, column.key)
        for column in Certificate.__table__.columns
        if column.key not in {"id", "issued_at"}
    }
    copy |= {
        "dossier_id": other.id,
        "issuance_request_id": db.session.scalar(
            sa.select(IssuanceRequest.id).where(IssuanceRequest.dossier_id == other.id)
        ),
        "serial_number": "7A" * 10,
        "fingerprint_sha256": "0" * 64,
    }
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(Certificate(**copy))
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Certificate.id)).where(
                Certificate.subject_serial == first.subject_serial
            )
        )
        == 1
    )


def test_a_subject_serial_already_given_is_drawn_again_before_the_ca_is_asked(
    app: Flask, monkeypatch: pytest.MonkeyPatch, ca: _CountingBackend
) -> None:
    _, first = _issued_dossier()
    _draws(monkeypatch, first.subject_serial, first.subject_serial)
    dossier = make_approved_dossier(db.session)

    assert service.issue_certificate(db.session, dossier.id).state == "issued"

    second = _certificate(dossier)
    assert second.subject_serial != first.subject_serial
    assert _attribute(_subject(second), NameOID.SERIAL_NUMBER) == second.subject_serial
    # The CA was asked twice in all (once per certificate), never with the taken value.
    assert [s.subject_serial for s in ca.subjects] == [first.subject_serial, second.subject_serial]


def test_a_subject_serial_that_stays_taken_stops_issuance_and_nothing_goes_to_the_ca(
    app: Flask, monkeypatch: pytest.MonkeyPatch, ca: _CountingBackend
) -> None:
    _, first = _issued_dossier()
    _draws(monkeypatch, *[first.subject_serial] * service.SUBJECT_SERIAL_DRAWS)
    dossier = make_approved_dossier(db.session)

    request = service.issue_certificate(db.session, dossier.id)

    assert request.state == "failed"
    assert "Aucun numéro de série de sujet inédit après 5 tirages" in (request.last_error or "")
    assert len(ca.subjects) == 1  # the first holder's certificate only
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Certificate.id)).where(Certificate.dossier_id == dossier.id)
        )
        == 0
    )
    assert dossier.status == DossierStatus.APPROVED.value
    # An operator's retry draws afresh and issues.
    monkeypatch.undo()
    assert service.issue_certificate(db.session, dossier.id).state == "issued"
    assert _certificate(dossier).subject_serial != first.subject_serial


def test_a_certificate_the_register_refuses_is_neither_recorded_nor_delivered(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another job recorded this subject serial between the draw and the insert.
    _, first = _issued_dossier()
    monkeypatch.setattr(service, "unused_subject_serial", lambda session: first.subject_serial)
    dossier = make_approved_dossier(db.session)

    request = service.issue_certificate(db.session, dossier.id, retry_later=True)

    assert request.state == "queued"  # an automatic retry is coming
    assert "refusé par le registre" in (request.last_error or "")
    assert "révoqué" in (request.last_error or "")
    assert dossier.status == DossierStatus.APPROVED.value
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Certificate.id)).where(Certificate.dossier_id == dossier.id)
        )
        == 0
    )
    assert (
        db.session.scalar(sa.select(Shipment.id).where(Shipment.dossier_id == dossier.id)) is None
    )
    refused = db.session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.event_type == "issuance.certificate_refused_by_register"
        )
    )
    assert refused is not None
    assert refused.payload["subject_serial"] == first.subject_serial
    assert len(refused.payload["fingerprint_sha256"]) == 64

    # The retry draws a new subject serial and the certificate is issued.
    monkeypatch.undo()
    assert service.issue_certificate(db.session, dossier.id).state == "issued"
    assert _certificate(dossier).subject_serial != first.subject_serial
