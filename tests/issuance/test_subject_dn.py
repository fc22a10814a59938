"""A DN is never reused for another person (EN 319 412-2; REQUIREMENTS 11): the subject's
serialNumber is the holder's identity document (EN 319 412-1 5.1.3, « IDCFR-<card number> »),
so two holders with the same names in the same organisation differ by it; the same person
keeps it on each certificate; a number already on another person's certificate stops the
issuance before the CA is asked, and a certificate the register refuses is neither recorded
nor delivered."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.x509.oid import NameOID
from flask import Flask

from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.models import Certificate
from ra_workbench.delivery.models import Shipment
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.issuance import service
from ra_workbench.issuance.backends import CABackend
from ra_workbench.issuance.ca import (
    CertificateProfile,
    CertificateStatus,
    IssuedCertificate,
    SubjectIdentity,
)
from tests.factories import make_approved_dossier, mrz_reading


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


def _card(number: str, **names: Any) -> dict[str, Any]:
    """The MRZ of a French identity card with this number."""
    reading = mrz_reading(**names)
    reading["mrz"]["document_number"] = number
    return reading


def _issued_dossier(number: str = "X4RTBPFW4") -> tuple[Dossier, Certificate]:
    dossier = make_approved_dossier(db.session, _card(number))
    assert service.issue_certificate(db.session, dossier.id).state == "issued"
    return dossier, _certificate(dossier)


class _CountingBackend(CABackend):
    """The configured CA, with its calls counted."""

    name = "local"

    def __init__(self, real: CABackend) -> None:
        self.real = real
        self.subjects: list[SubjectIdentity] = []

    def issue_from_csr(
        self, subject: SubjectIdentity, profile: CertificateProfile, csr_der: bytes
    ) -> IssuedCertificate:
        self.subjects.append(subject)
        return self.real.issue_from_csr(subject, profile, csr_der)

    def revoke(self, serial_number: str, reason: str, revoked_at: dt.datetime) -> dt.datetime:
        return self.real.revoke(serial_number, reason, revoked_at)

    def status(self, serial_number: str) -> CertificateStatus | None:
        return self.real.status(serial_number)


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


def test_two_holders_with_the_same_names_in_the_same_organisation_get_different_dns(
    app: Flask,
) -> None:
    # Two orders for CLAIRE DURAND at ATELIERS MOREL (SIREN 732829320): two people, two cards.
    first_dossier, first = _issued_dossier("X4RTBPFW4")
    second_dossier, second = _issued_dossier("T7KQ21MZ8")
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
    assert _attribute(a, NameOID.SERIAL_NUMBER) == "IDCFR-X4RTBPFW4"
    assert _attribute(b, NameOID.SERIAL_NUMBER) == "IDCFR-T7KQ21MZ8"
    assert a != b
    assert first.subject != second.subject
    assert first.subject_serial == "IDCFR-X4RTBPFW4"
    assert second.subject_serial == "IDCFR-T7KQ21MZ8"


def test_a_passport_gives_a_pas_subject_serial(app: Flask) -> None:
    reading = _card("18AB12345")
    reading["mrz"] |= {"document_code": "P", "format": "TD3"}
    dossier = make_approved_dossier(db.session, reading)
    assert service.issue_certificate(db.session, dossier.id).state == "issued"
    assert _certificate(dossier).subject_serial == "PASFR-18AB12345"


def test_the_same_person_keeps_the_same_subject_serial_on_a_second_certificate(
    app: Flask,
) -> None:
    # Claire Durand orders again (another organisation's certificate, or a renewal) with
    # the same identity card: the same person, the same identifier.
    _, first = _issued_dossier("X4RTBPFW4")
    _, second = _issued_dossier("X4RTBPFW4")
    assert first.id != second.id
    assert first.subject_serial == second.subject_serial == "IDCFR-X4RTBPFW4"


def test_a_document_number_on_another_persons_certificate_stops_issuance_before_the_ca(
    app: Flask, ca: _CountingBackend
) -> None:
    _, first = _issued_dossier("X4RTBPFW4")
    # Another person's dossier whose identity card reads with the same number.
    dossier = make_approved_dossier(
        db.session, _card("X4RTBPFW4", surname="LEFEVRE", given_names=("HELENE",))
    )

    request = service.issue_certificate(db.session, dossier.id)

    assert request.state == "failed"
    assert "autre personne" in (request.last_error or "")
    assert len(ca.subjects) == 1  # the first holder's certificate only
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Certificate.id)).where(Certificate.dossier_id == dossier.id)
        )
        == 0
    )
    assert dossier.status == DossierStatus.APPROVED.value
    assert first.subject_serial == "IDCFR-X4RTBPFW4"


def test_a_certificate_the_register_refuses_is_neither_recorded_nor_delivered(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, first = _issued_dossier()
    # A CA that hands out a serial it already gave: the certificate is real, for the token's
    # key, and the register still refuses it.
    monkeypatch.setattr(
        "ra_workbench.issuance.ca.x509.random_serial_number",
        lambda: int(first.serial_number, 16),
    )
    dossier = make_approved_dossier(db.session, _card("X4RTBPFW4"))

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
    assert refused.payload["serial_number"] == first.serial_number
    assert len(refused.payload["fingerprint_sha256"]) == 64

    # The retry, the CA answering properly this time, issues.
    monkeypatch.undo()
    assert service.issue_certificate(db.session, dossier.id).state == "issued"
    assert _certificate(dossier).serial_number != first.serial_number
