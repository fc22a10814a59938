"""What relying parties read without signing in: the issuing CA's certificate, its CRL and
OCSP answers, all from the local CA's own database; a revocation (issuance.service.revoke,
through the CA backend) is audited and shows in both at once."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID
from flask import Flask, g
from flask.testing import FlaskClient

from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.models import Certificate
from ra_workbench.extensions import db
from ra_workbench.issuance import service
from ra_workbench.issuance.ca import OCSP_RESPONDER_COMMON_NAME
from ra_workbench.issuance.publication import current_crl, local_ca
from ra_workbench.issuance.tasks import refresh_crl
from ra_workbench.unit import DEFERRED_JOBS
from tests.auth import sign_in
from tests.factories import make_approved_dossier, make_user

OPERATOR = "operateur@example.fr"


def _issued() -> Certificate:
    dossier = make_approved_dossier(db.session)
    assert service.issue_certificate(db.session, dossier.id).state == "issued"
    db.session.commit()
    return db.session.scalars(
        sa.select(Certificate).where(Certificate.dossier_id == dossier.id)
    ).one()


def _issuer() -> x509.Certificate:
    ca = local_ca()
    ca.ensure()
    return x509.load_pem_x509_certificate(ca.issuing_certificate_path.read_bytes())


def _ask(client: FlaskClient, certificate: x509.Certificate) -> ocsp.OCSPResponse:
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(certificate, _issuer(), hashes.SHA256())
        .add_extension(x509.OCSPNonce(b"nonce-0123456789"), critical=False)
        .build()
    )
    answer = client.post(
        "/pki/ocsp",
        data=request.public_bytes(serialization.Encoding.DER),
        content_type="application/ocsp-request",
    )
    assert answer.status_code == 200
    assert answer.mimetype == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(answer.data)


def _holder(certificate: Certificate) -> x509.Certificate:
    return x509.load_pem_x509_certificate(certificate.pem.encode())


def test_the_ca_certificate_and_the_crl_are_served_without_signing_in(
    app: Flask, client: FlaskClient
) -> None:
    _issued()
    ca_answer = client.get("/pki/ac-emettrice.cer")
    assert ca_answer.status_code == 200
    assert ca_answer.mimetype == "application/pkix-cert"
    assert x509.load_der_x509_certificate(ca_answer.data) == _issuer()

    crl_answer = client.get("/pki/ac-emettrice.crl")
    assert crl_answer.status_code == 200
    assert crl_answer.mimetype == "application/pkix-crl"
    crl = x509.load_der_x509_crl(crl_answer.data)
    assert crl.is_signature_valid(_issuer().public_key())  # type: ignore[arg-type]
    assert list(crl) == []
    next_update = crl.next_update_utc
    assert next_update is not None
    # rules/issuance.toml [publication] crl_next_update_hours.
    assert next_update - crl.last_update_utc == dt.timedelta(hours=24)


def test_ocsp_says_good_then_revoked_with_time_and_reason(app: Flask, client: FlaskClient) -> None:
    certificate = _issued()
    good = _ask(client, _holder(certificate))
    assert good.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert good.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert good.serial_number == int(certificate.serial_number, 16)
    # Signed by the delegated responder, which the issuing CA certified for OCSP only.
    (responder,) = good.certificates
    assert responder.subject.rfc4514_string().startswith(f"CN={OCSP_RESPONDER_COMMON_NAME}")
    responder.verify_directly_issued_by(_issuer())
    assert responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == (
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING])
    )
    assert responder.extensions.get_extension_for_class(x509.OCSPNoCheck)
    assert good.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == (
        b"nonce-0123456789"
    )

    revoked = service.revoke(db.session, certificate.id, "keyCompromise", OPERATOR)
    db.session.commit()

    answer = _ask(client, _holder(certificate))
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.key_compromise
    assert answer.revocation_time_utc == revoked.revoked_at


def test_ocsp_says_unknown_for_a_serial_the_ca_never_issued(
    app: Flask, client: FlaskClient
) -> None:
    issued = _holder(_issued())
    # The same issuer hashes as a request for the issued certificate, one serial further.
    known = ocsp.OCSPRequestBuilder().add_certificate(issued, _issuer(), hashes.SHA256()).build()
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(
            known.issuer_name_hash,
            known.issuer_key_hash,
            issued.serial_number + 1,
            hashes.SHA256(),
        )
        .build()
    )
    answer = client.post(
        "/pki/ocsp",
        data=request.public_bytes(serialization.Encoding.DER),
        content_type="application/ocsp-request",
    )
    parsed = ocsp.load_der_ocsp_response(answer.data)
    assert parsed.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert parsed.certificate_status == ocsp.OCSPCertStatus.UNKNOWN


def test_a_certificate_the_register_lost_is_still_good_at_the_ca(
    app: Flask, client: FlaskClient
) -> None:
    """The CA answers from what it issued, not from the register: a certificate that never
    reached the register (refused there, say) stays good until the CA revokes it."""
    certificate = _issued()
    db.session.delete(certificate)
    db.session.commit()
    answer = _ask(client, _holder(certificate))
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD


def test_ocsp_by_get_and_malformed_requests(app: Flask, client: FlaskClient) -> None:
    holder = _holder(_issued())
    request = ocsp.OCSPRequestBuilder().add_certificate(holder, _issuer(), hashes.SHA1()).build()  # noqa: S303 - what openssl sends by default
    encoded = base64.b64encode(request.public_bytes(serialization.Encoding.DER)).decode()
    answer = client.get(f"/pki/ocsp/{encoded}")
    assert answer.status_code == 200
    parsed = ocsp.load_der_ocsp_response(answer.data)
    assert parsed.certificate_status == ocsp.OCSPCertStatus.GOOD

    garbage = client.post("/pki/ocsp", data=b"\x30\x03abc", content_type="application/ocsp-request")
    assert ocsp.load_der_ocsp_response(garbage.data).response_status == (
        ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    )
    assert client.post("/pki/ocsp", data=b"x", content_type="text/plain").status_code == 415


def test_a_revocation_is_audited_and_the_crl_lists_it_at_once(
    app: Flask, client: FlaskClient
) -> None:
    certificate = _issued()
    other = _issued()
    before = x509.load_der_x509_crl(client.get("/pki/ac-emettrice.crl").data)

    service.revoke(db.session, certificate.id, "affiliationChanged", OPERATOR)
    # The CRL is signed again after the commit (the job), and whoever asks first gets it.
    assert (service.REFRESH_CRL_TASK, (), f"refresh-crl-revoked-{certificate.id}") in (
        db.session.info.get(DEFERRED_JOBS, [])
    )
    db.session.commit()

    crl = x509.load_der_x509_crl(client.get("/pki/ac-emettrice.crl").data)
    entry = crl.get_revoked_certificate_by_serial_number(int(certificate.serial_number, 16))
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.affiliation_changed
    )
    assert crl.get_revoked_certificate_by_serial_number(int(other.serial_number, 16)) is None
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    previous = before.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number > previous

    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.event_type == "issuance.certificate_revoked")
    ).one()
    assert event.actor == OPERATOR
    assert event.dossier_id == certificate.dossier_id
    assert event.payload["serial_number"] == certificate.serial_number
    assert event.payload["reason"] == "affiliationChanged"


def test_a_certificate_is_revoked_once_and_only_with_an_rfc_5280_reason(app: Flask) -> None:
    certificate = _issued()
    with pytest.raises(service.IssuanceError, match="Motif de révocation inconnu"):
        service.revoke(db.session, certificate.id, "lostItSomewhere", OPERATOR)
    service.revoke(db.session, certificate.id, "cessationOfOperation", OPERATOR)
    with pytest.raises(service.IssuanceError, match="déjà révoqué"):
        service.revoke(db.session, certificate.id, "keyCompromise", OPERATOR)
    assert certificate.revocation_reason == "cessationOfOperation"


def test_the_scheduled_refresh_signs_a_new_crl_once_half_its_validity_is_used(
    app: Flask,
) -> None:
    _issued()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    first = current_crl(now=now, force=True)
    assert current_crl(now=now + dt.timedelta(hours=11)) == first
    later = x509.load_der_x509_crl(current_crl(now=now + dt.timedelta(hours=12)))
    assert later.last_update_utc == now + dt.timedelta(hours=12)


def test_the_refresh_job_brings_the_crl_on_disk_in_line_with_the_register(app: Flask) -> None:
    certificate = _issued()
    first = refresh_crl()
    service.revoke(db.session, certificate.id, "superseded", OPERATOR)
    db.session.commit()
    assert refresh_crl() == first + 1
    stored = x509.load_der_x509_crl((local_ca().directory / "issuing.crl").read_bytes())
    assert stored.get_revoked_certificate_by_serial_number(int(certificate.serial_number, 16))
    assert refresh_crl() == first + 1  # nothing changed: the same CRL


def test_the_certificate_page_names_the_new_statements_in_french(
    app: Flask, client: FlaskClient
) -> None:
    certificate = _issued()
    sign_in(client, make_user(db.session, role="operator"))
    db.session.commit()
    g.pop("_login_user", None)
    page = client.get(f"/emission/certificats/{certificate.id}").get_data(as_text=True)
    assert "Identifiant sémantique du sujet (pkixQCSyntax-v2)" in page
    assert "Sémantique : personne physique" in page
    assert "Déclarations PKI (QcPDS)" in page
