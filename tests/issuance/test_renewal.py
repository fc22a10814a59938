"""Renewal (issue 16, point 5): CLAIRE DURAND's certificate ends soon and her organisation
orders a new one. Within the renewal window (rules/checks.toml [holder]) holder.unique
passes as a renewal, the new certificate names the one it renews, and when the new token is
delivered the old certificate is revoked as `superseded`. Earlier, the order stays blocked
and the customer is sent to support@certeurope.fr."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient

from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.models import Certificate
from ra_workbench.checks.models import CheckResult, CheckRun
from ra_workbench.checks.service import evaluate_dossier
from ra_workbench.delivery import service as delivery
from ra_workbench.delivery.models import Shipment
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.issuance.ca import SubjectIdentity
from ra_workbench.issuance.config import issuance_config
from ra_workbench.issuance.publication import local_ca
from ra_workbench.issuance.service import issue_certificate
from ra_workbench.synth.offers import PICKUP_FEE
from tests.auth import sign_in
from tests.checks.test_service import TODAY, FakeExtractor, complete_dossier, sign
from tests.factories import (
    approve_through_review,
    make_dossier,
    make_issuance_request,
    make_slot,
    make_user,
)


def _current_certificate(ends: dt.date) -> Certificate:
    """The certificate CLAIRE DURAND received with an earlier order (same identity card),
    valid until `ends`: issued by the local CA three years before, so that the CA knows it."""
    earlier = make_dossier(db.session, status=DossierStatus.DELIVERED.value)
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    issued = local_ca().issue_from_csr(
        SubjectIdentity("CLAIRE", "DURAND", "IDCFR-X4RTBPFW4", "ACME", "123456789"),
        dataclasses.replace(issuance_config().profile, validity_days=3 * 365),
        csr,
        now=dt.datetime.combine(ends - dt.timedelta(days=3 * 365), dt.time(9), dt.UTC),
    )
    certificate = Certificate(
        dossier_id=earlier.id,
        issuance_request_id=make_issuance_request(db.session, earlier).id,
        serial_number=issued.serial_number,
        subject_serial=issued.subject_serial,
        subject=issued.subject,
        fingerprint_sha256=issued.fingerprint_sha256,
        not_before=issued.not_before,
        not_after=issued.not_after,
        key_algorithm=issued.key_algorithm,
        pem=issued.pem,
        backend="local",
        holder_surname="DURAND",
        holder_given_names="CLAIRE MARIE",
        holder_birth_date=dt.date(1985, 4, 12),
    )
    db.session.add(certificate)
    db.session.flush()
    return certificate


def _new_order_checked(extractor: FakeExtractor) -> tuple[Dossier, CheckRun, CheckResult]:
    dossier = complete_dossier(extractor)
    sign(dossier, "holder")
    sign(dossier, "legal_representative")
    run = evaluate_dossier(db.session, dossier.id, trigger="signature", at=TODAY)
    [unique] = [r for r in run.results if r.rule == "holder.unique"]
    return dossier, run, unique


def _events(kind: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.event_type == kind).order_by(AuditEvent.seq)
        )
    )


def test_a_renewal_inside_the_window_is_issued_and_the_old_certificate_ends_superseded(
    app: Flask, client: FlaskClient, extractor: FakeExtractor
) -> None:
    old = _current_certificate(ends=TODAY + dt.timedelta(days=60))

    dossier, run, unique = _new_order_checked(extractor)
    assert unique.outcome == "pass"
    ends = (TODAY + dt.timedelta(days=60)).strftime("%d/%m/%Y")
    assert (
        f"Renouvellement du certificat n° {old.serial_number} qui expire le {ends}"
        in unique.message
    )
    assert unique.evidence["renews"] == {
        "certificate_id": old.id,
        "serial_number": old.serial_number,
        "expires_on": (TODAY + dt.timedelta(days=60)).isoformat(),
        "basis": "mrz",
    }
    assert run.verdict == "ready"

    approve_through_review(db.session, dossier)
    issue_certificate(db.session, dossier.id, today=TODAY)
    new = db.session.scalar(sa.select(Certificate).where(Certificate.dossier_id == dossier.id))
    assert new is not None
    assert new.renews_certificate_id == old.id
    [issued] = [e for e in _events("issuance.certificate_issued") if e.dossier_id == dossier.id]
    assert issued.payload["renews_serial_number"] == old.serial_number
    # Both are valid until the new token is in the holder's hands.
    assert old.revoked_at is None

    operator = make_user(db.session)
    shipment = db.session.scalar(sa.select(Shipment).where(Shipment.dossier_id == dossier.id))
    assert shipment is not None
    delivery.change_shipment_state(db.session, shipment.id, "shipped", actor=operator)
    assert old.revoked_at is None
    delivery.change_shipment_state(db.session, shipment.id, "delivered", actor=operator)

    db.session.refresh(old)
    assert dossier.status == DossierStatus.DELIVERED.value
    assert old.revoked_at is not None
    assert old.revocation_reason == "superseded"
    assert new.revoked_at is None
    [revoked] = _events("issuance.certificate_revoked")
    assert revoked.actor == operator.email
    assert revoked.payload["serial_number"] == old.serial_number
    assert revoked.payload["reason"] == "superseded"

    # The new certificate's page names the one it renews and how that one ended.
    db.session.commit()
    sign_in(client, operator)
    page = client.get(f"/emission/certificats/{new.id}").get_data(as_text=True)
    ends_fr = (TODAY + dt.timedelta(days=60)).strftime("%d/%m/%Y")
    assert f"valide jusqu'au {ends_fr}, révoqué le" in page
    assert f"/emission/certificats/{old.id}" in page
    assert "(remplacé par celui-ci)" in page


@pytest.mark.parametrize("days_left", [91, 400])
def test_an_order_before_the_renewal_window_stays_blocked_by_holder_unique(
    app: Flask, extractor: FakeExtractor, days_left: int
) -> None:
    ends = TODAY + dt.timedelta(days=days_left)
    old = _current_certificate(ends=ends)

    _, run, unique = _new_order_checked(extractor)
    assert unique.outcome == "fail"
    opens = (ends - dt.timedelta(days=90)).strftime("%d/%m/%Y")
    assert unique.message == (
        f"Le porteur a déjà : certificat {old.serial_number} valide jusqu'au {ends:%d/%m/%Y} "
        "(même nom, prénoms et date de naissance). Il n'est pas possible d'avoir plusieurs "
        f"certificats à son nom : renouvellement possible à partir du {opens} (90 jours avant son "
        "expiration) ; avant, contactez support@certeurope.fr."
    )
    assert "renews" not in unique.evidence
    assert run.verdict == "blocked"
    assert old.revoked_at is None


def test_a_renewal_while_another_order_is_open_stays_blocked(
    app: Flask, extractor: FakeExtractor
) -> None:
    old = _current_certificate(ends=TODAY + dt.timedelta(days=30))
    first, _, _ = _new_order_checked(extractor)

    _, run, unique = _new_order_checked(extractor)
    assert unique.outcome == "fail"
    assert f"dossier {first.order_number}" in unique.message
    assert f"certificat {old.serial_number}" in unique.message
    assert "pour un renouvellement, contactez support@certeurope.fr." in unique.message
    assert run.verdict == "blocked"


def test_an_ordinary_order_has_no_certificate_to_supersede(
    app: Flask, extractor: FakeExtractor
) -> None:
    dossier, _, unique = _new_order_checked(extractor)
    assert unique.outcome == "pass"
    assert "renews" not in unique.evidence
    approve_through_review(db.session, dossier)
    issue_certificate(db.session, dossier.id, today=TODAY)
    new = db.session.scalar(sa.select(Certificate).where(Certificate.dossier_id == dossier.id))
    assert new is not None
    assert new.renews_certificate_id is None


def test_a_renewal_picked_up_at_the_desk_supersedes_the_old_certificate_at_the_hand_over(
    app: Flask, extractor: FakeExtractor
) -> None:
    old = _current_certificate(ends=TODAY + dt.timedelta(days=20))
    dossier = complete_dossier(
        extractor, delivery_mode="pickup", payment_amount_ttc=Decimal("228.00") + PICKUP_FEE
    )
    sign(dossier, "holder")
    sign(dossier, "legal_representative")
    evaluate_dossier(db.session, dossier.id, trigger="signature", at=TODAY)
    approve_through_review(db.session, dossier)
    issue_certificate(db.session, dossier.id, today=TODAY)
    new = db.session.scalar(sa.select(Certificate).where(Certificate.dossier_id == dossier.id))
    assert new is not None
    assert new.renews_certificate_id == old.id

    desk = make_user(db.session)
    slot = make_slot(db.session)
    delivery.book_slot(db.session, dossier.id, slot.id, actor=desk)
    assert old.revoked_at is None
    delivery.record_handover(
        db.session,
        dossier.id,
        handed_by=desk,
        handed_to_role="holder",
        document_number="X4RTBPFW4",
        now=slot.starts_at,
    )

    db.session.refresh(old)
    assert dossier.status == DossierStatus.DELIVERED.value
    assert old.revocation_reason == "superseded"
    [revoked] = _events("issuance.certificate_revoked")
    assert revoked.actor == desk.email
