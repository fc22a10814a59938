"""Keys born on the token, in the real flow: an approved dossier's issuance job prepares the
token at the preparation station (SoftHSM2 here, a fresh blank token per issuance), the CA
issues from the token's CSR, the certificate goes back on the token, the serial is read from
the token, and after the hand-over the activation code the holder receives opens it.
SoftHSM2 is installed by scripts/setup.sh: these tests fail without it, they never skip."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import replace

import pkcs11
import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from pkcs11 import Attribute, KeyType, ObjectClass

from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.activation import activation_code_for
from ra_workbench.certificates.models import Certificate
from ra_workbench.config import Settings
from ra_workbench.delivery import service as delivery
from ra_workbench.delivery.models import Shipment
from ra_workbench.dossiers.models import Dossier, PersonRole
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.issuance import service
from ra_workbench.issuance.models import IssuanceRequest
from ra_workbench.issuance.token import (
    TokenConfig,
    TokenError,
    certificates_on_token,
    initialise_token,
    token_session,
)
from ra_workbench.unit import unit_of_work
from tests.factories import make_approved_dossier, make_person, make_user
from tests.smtp import Mailbox, local_smtp


@pytest.fixture
def station(settings: Settings) -> TokenConfig:
    """The preparation station as the issuance job sees it (the test's environment)."""
    return TokenConfig.from_env(settings.data_dir)


@pytest.fixture
def mailbox(app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """Where the holder's activation code arrives (a real SMTP server on 127.0.0.1)."""
    with local_smtp(settings, monkeypatch) as received:
        yield received


def _certificate(dossier: Dossier) -> Certificate:
    certificate = db.session.scalar(
        sa.select(Certificate).where(Certificate.dossier_id == dossier.id)
    )
    assert certificate is not None
    return certificate


def _request(dossier: Dossier) -> IssuanceRequest:
    request = db.session.scalar(
        sa.select(IssuanceRequest).where(IssuanceRequest.dossier_id == dossier.id)
    )
    assert request is not None
    return request


def _events(kind: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.event_type == kind).order_by(AuditEvent.seq)
        )
    )


def _point(certificate: x509.Certificate) -> bytes:
    key = certificate.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _shown_serials(station: TokenConfig) -> dict[str, str]:
    """Serial number → label of every initialised token, as SoftHSM2's own tool shows them
    (read independently of PKCS#11)."""
    shown = subprocess.run(
        ["softhsm2-util", "--show-slots"],
        env={**os.environ, "SOFTHSM2_CONF": str(station.softhsm_conf)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    pairs = re.findall(
        r"Serial number:[ \t]*(\S+)[ \t]*$(?:\s*\S.*$)*?\s*Label:[ \t]*(.*?)[ \t]*$",
        shown,
        re.MULTILINE,
    )
    return dict(pairs)


def _activation_code(mailbox: Mailbox) -> str:
    [mail] = [m for m in mailbox.messages if "activation" in m["Subject"]]
    content = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    code = re.search(r"^\s+(\d{8})\s*$", content, re.MULTILINE)
    assert code is not None
    return code.group(1)


def test_approval_prepares_the_token_and_the_certificate_is_issued_for_the_tokens_key(
    app: Flask, station: TokenConfig, mailbox: Mailbox
) -> None:
    holder = make_person(PersonRole.HOLDER, activation_code_channel="email")
    dossier = make_approved_dossier(
        db.session, people=[holder, make_person(PersonRole.LEGAL_REPRESENTATIVE)]
    )

    request = service.issue_certificate(db.session, dossier.id)

    assert request.state == "issued"
    registered = _certificate(dossier)
    certificate = x509.load_pem_x509_certificate(registered.pem.encode())
    # The serial is the token's, as the token reports it, never typed.
    assert registered.token_serial
    assert registered.token_prepared_at is not None
    assert _shown_serials(station)[registered.token_serial] == station.token_label
    token = station.of_token(registered.token_serial)
    [prepared] = _events("issuance.token_prepared")
    assert prepared.payload["token_serial"] == registered.token_serial
    assert prepared.payload["certificate_serial"] == registered.serial_number
    assert re.fullmatch(r"[0-9a-f]{64}", prepared.payload["key_id_sha256"])
    db.session.commit()

    # The token is handed over; the holder receives the activation code, their user PIN.
    shipment = db.session.scalar(sa.select(Shipment).where(Shipment.dossier_id == dossier.id))
    assert shipment is not None
    operator = make_user(db.session)
    with unit_of_work() as session:
        delivery.change_shipment_state(session, shipment.id, "shipped", actor=operator)
    with unit_of_work() as session:
        delivery.change_shipment_state(session, shipment.id, "delivered", actor=operator)
    assert db.session.get(Dossier, dossier.id).status == DossierStatus.DELIVERED.value  # type: ignore[union-attr]
    code = _activation_code(mailbox)
    # The PIN is nowhere in the trail (nor is any other secret of the token).
    trail = " ".join(str(e.payload) for e in db.session.scalars(sa.select(AuditEvent)))
    assert code not in trail

    with token_session(token, user_pin=code) as session:
        public = session.get_key(object_class=ObjectClass.PUBLIC_KEY, key_type=KeyType.EC)
        # CKA_EC_POINT: the certificate's point, DER OCTET STRING wrapped.
        assert bytes(public[Attribute.EC_POINT]).endswith(_point(certificate))
        private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.EC)
        assert private[Attribute.LOCAL] is True  # generated on the token
        assert private[Attribute.EXTRACTABLE] is False
        assert private[Attribute.NEVER_EXTRACTABLE] is True
        assert private[Attribute.SENSITIVE] is True
        with pytest.raises(pkcs11.AttributeSensitive):
            private[Attribute.VALUE]
        assert bytes(private[Attribute.ID]) == bytes(public[Attribute.ID])
    assert certificates_on_token(token, activation_code=code) == [
        certificate.public_bytes(serialization.Encoding.DER)
    ]
    with pytest.raises(TokenError, match="PIN"), token_session(token, user_pin="00000000"):
        pass


def test_each_issuance_prepares_its_own_blank_token(app: Flask) -> None:
    first = make_approved_dossier(db.session)
    second = make_approved_dossier(db.session)
    service.issue_certificate(db.session, first.id)
    service.issue_certificate(db.session, second.id)
    serials = {_certificate(first).token_serial, _certificate(second).token_serial}
    assert len(serials) == 2
    assert None not in serials


def test_no_token_at_the_station_fails_in_french_and_the_retry_succeeds_once_it_is_there(
    app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A configured token (a real token's way: a label or a slot) must be plugged in: the
    attempt fails with what to do, and the operator's retry prepares it once it is there."""
    label = f"poste-{secrets.token_hex(4)}"
    monkeypatch.setenv("RA_WORKBENCH_TOKEN_LABEL", label)
    dossier = make_approved_dossier(db.session)

    request = service.issue_certificate(db.session, dossier.id)

    assert request.state == "failed"
    assert request.last_error == (
        f"Préparation du support (clé USB) impossible : aucun jeton « {label} » branché. "
        "Brancher un jeton vierge au poste de préparation (ou vérifier la configuration "
        "PKCS#11), puis relancer l'émission."
    )
    assert db.session.scalar(sa.select(Certificate.id)) is None
    assert dossier.status == DossierStatus.APPROVED.value
    db.session.commit()

    # The operator plugs the token in (SoftHSM2: a token initialised with that label).
    plugged = initialise_token(TokenConfig.from_env(settings.data_dir))
    with unit_of_work() as session:
        service.retry_issuance(session, request.id, actor="op@example.fr")
    db.session.expire_all()

    assert _request(dossier).state == "issued"
    assert _certificate(dossier).token_serial == plugged


def test_a_token_prepared_again_after_the_ca_failed_holds_one_key_pair(
    app: Flask,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    use_backend: Callable[[str], None],
) -> None:
    label = f"poste-{secrets.token_hex(4)}"
    monkeypatch.setenv("RA_WORKBENCH_TOKEN_LABEL", label)
    station = TokenConfig.from_env(settings.data_dir)
    serial = initialise_token(station)
    use_backend("failing:1")
    dossier = make_approved_dossier(db.session)

    first = service.issue_certificate(db.session, dossier.id, retry_later=True)
    assert first.state == "queued"
    assert "AC indisponible" in (first.last_error or "")
    second = service.issue_certificate(db.session, dossier.id, retry_later=True)
    assert second.state == "issued"

    registered = _certificate(dossier)
    assert registered.token_serial == serial
    code = activation_code_for(registered.serial_number)
    with token_session(replace(station, token_serial=serial), user_pin=code) as session:
        keys = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
        assert len(keys) == 1
