"""The CA behind its interface (issue 16, point 6): what the RA asks of any CA — issue for a
token-born key, revoke with an RFC 5280 reason, say what it knows of a certificate — and
what the register does when the CA says no or does not answer: nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask

from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.models import Certificate
from ra_workbench.extensions import db
from ra_workbench.issuance import service
from ra_workbench.issuance.backends import CABackend, LocalCABackend, ca_passphrase, get_backend
from ra_workbench.issuance.ca import CAError, CertificateProfile, IssuedCertificate, SubjectIdentity
from tests.factories import make_approved_dossier
from tests.issuance.test_publication import _issued

OPERATOR = "operateur@example.fr"


def _revocations() -> int:
    return db.session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.event_type == "issuance.certificate_revoked"
        )
    )


def test_the_ca_knows_what_it_issued_and_records_the_revocation_the_register_mirrors(
    app: Flask,
) -> None:
    certificate = _issued()
    ca: CABackend = get_backend()
    status = ca.status(certificate.serial_number)
    assert status is not None
    assert status.revoked is None
    assert status.not_after == certificate.not_after

    service.revoke(db.session, certificate.id, "affiliationChanged", OPERATOR)
    db.session.commit()

    status = ca.status(certificate.serial_number)
    assert status is not None
    assert status.revoked is not None
    assert status.revoked.reason == x509.ReasonFlags.affiliation_changed
    # The register holds the time the CA recorded, not one of its own.
    assert status.revoked.revoked_at == certificate.revoked_at
    assert certificate.revocation_reason == "affiliationChanged"


def test_revoking_twice_at_the_ca_keeps_the_first_time_and_reason(app: Flask) -> None:
    certificate = _issued()
    ca = get_backend()
    first = ca.revoke(
        certificate.serial_number, "keyCompromise", dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
    )
    again = ca.revoke(
        certificate.serial_number, "superseded", dt.datetime(2026, 12, 2, 9, tzinfo=dt.UTC)
    )
    assert first == again == dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
    status = ca.status(certificate.serial_number)
    assert status is not None
    assert status.revoked is not None
    assert status.revoked.reason == x509.ReasonFlags.key_compromise


def test_the_ca_refuses_a_serial_it_never_issued_and_a_suspension(app: Flask) -> None:
    certificate = _issued()
    ca = get_backend()
    assert ca.status("ABCDEF0123") is None
    with pytest.raises(CAError, match="n'a pas été émis par cette AC"):
        ca.revoke("ABCDEF0123", "keyCompromise", dt.datetime.now(dt.UTC))
    with pytest.raises(CAError, match="refusé par l'AC"):
        ca.revoke(certificate.serial_number, "certificateHold", dt.datetime.now(dt.UTC))
    with pytest.raises(CAError, match="numéro de série illisible"):
        ca.status("pas-un-numéro")


def test_a_ca_that_does_not_answer_leaves_the_register_and_the_trail_untouched(
    app: Flask, use_backend: Callable[[str], None]
) -> None:
    use_backend("failing:0")  # issues like the local CA, under the name « failing »
    certificate = _issued()
    use_backend("failing")  # then stops answering
    with pytest.raises(service.IssuanceError, match="L'AC n'a pas révoqué le certificat"):
        service.revoke(db.session, certificate.id, "keyCompromise", OPERATOR)
    db.session.rollback()
    db.session.refresh(certificate)
    assert certificate.revoked_at is None
    assert _revocations() == 0
    use_backend("failing:0")
    status = get_backend().status(certificate.serial_number)
    assert status is not None
    assert status.revoked is None


def test_a_certificate_is_revoked_by_the_ca_that_issued_it(
    app: Flask, use_backend: Callable[[str], None]
) -> None:
    certificate = _issued()  # by the local CA
    use_backend("failing:0")
    with pytest.raises(service.IssuanceError, match="émis par l'AC « local »"):
        service.revoke(db.session, certificate.id, "keyCompromise", OPERATOR)
    assert certificate.revoked_at is None
    assert _revocations() == 0


class _AnotherKeysCA(LocalCABackend):
    """A CA that issues, but for a key other than the one in the token's request."""

    def issue_from_csr(
        self, subject: SubjectIdentity, profile: CertificateProfile, csr_der: bytes
    ) -> IssuedCertificate:
        stranger = ec.generate_private_key(ec.SECP256R1())
        other = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([]))
            .sign(stranger, hashes.SHA256())
            .public_bytes(serialization.Encoding.DER)
        )
        return super().issue_from_csr(subject, profile, other)


def test_a_certificate_for_another_key_than_the_tokens_is_neither_recorded_nor_written(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = _AnotherKeysCA(app.config["RA_SETTINGS"].ca_dir, ca_passphrase())
    monkeypatch.setattr(service, "get_backend", lambda name=None: ca)
    dossier = make_approved_dossier(db.session)

    request = service.issue_certificate(db.session, dossier.id)

    assert request.state == "failed"
    assert "pour une autre clé que celle du support" in (request.last_error or "")
    assert "doit être révoqué auprès de l'AC" in (request.last_error or "")
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Certificate.id)).where(Certificate.dossier_id == dossier.id)
        )
        == 0
    )
