"""Keys born on the token: the operator prepares a blank SoftHSM2 token (the stand-in for a
USB token), the key pair is generated on it, the CA issues from the token's CSR, and the
certificate goes back on the token. SoftHSM2 is installed by scripts/setup.sh: when it is
missing these tests fail, they do not skip."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask
from pkcs11 import Attribute, KeyType, ObjectClass

from ra_workbench.issuance.backends import get_backend
from ra_workbench.issuance.ca import CAError, CertificateProfile, LocalCA, SubjectIdentity
from ra_workbench.issuance.config import issuance_config
from ra_workbench.issuance.token import (
    SOFTHSM2_MODULE,
    PreparedToken,
    TokenConfig,
    TokenError,
    certificates_on_token,
    initialise_token,
    prepare_token,
    set_activation_code,
    token_session,
    write_certificate,
)
from tests.issuance.test_pkilint import _findings

ACTIVATION_CODE = "483920"
SUBJECT = SubjectIdentity(
    given_name="CLAIRE",
    surname="DUBOIS",
    subject_serial="IDCFR-X4RTBPFW4",
    organisation_name="ATELIERS MOREL",
    siren="732829320",
)
PROFILE = CertificateProfile(policy_oids=("0.4.0.194112.1.2",))
CSR_SUBJECT = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CLAIRE DUBOIS")])


@pytest.fixture
def token_config(tmp_path: Path) -> TokenConfig:
    config = TokenConfig.from_env(tmp_path / "data", {"RA_WORKBENCH_TOKEN_LABEL": "jeton-test"})
    initialise_token(config)
    return config


@pytest.fixture
def prepared(token_config: TokenConfig) -> PreparedToken:
    return prepare_token(token_config, activation_code=ACTIVATION_CODE, subject=CSR_SUBJECT)


def _private_key(session: pkcs11.Session) -> pkcs11.PrivateKey:
    return session.get_key(object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.EC)


def test_softhsm2_is_the_default_token_and_lives_under_the_data_directory(tmp_path: Path) -> None:
    config = TokenConfig.from_env(tmp_path, {})
    assert config.module == SOFTHSM2_MODULE
    assert Path(config.module).is_file(), "SoftHSM2 absent : scripts/setup.sh installe softhsm2"
    assert config.softhsm_conf == tmp_path / "softhsm" / "softhsm2.conf"
    assert config.so_pin == TokenConfig.from_env(tmp_path, {}).so_pin  # kept, not redrawn


def test_a_real_token_is_a_configuration_change(tmp_path: Path) -> None:
    config = TokenConfig.from_env(
        tmp_path,
        {
            "RA_WORKBENCH_PKCS11_MODULE": "/usr/lib/x86_64-linux-gnu/libeTPkcs11.so",
            "RA_WORKBENCH_TOKEN_SLOT": "2",
            "RA_WORKBENCH_TOKEN_SO_PIN": "pin-du-responsable",
        },
    )
    assert (config.slot, config.so_pin, config.softhsm_dir) == (2, "pin-du-responsable", None)
    with pytest.raises(TokenError, match="SoftHSM2"):
        initialise_token(config)


def test_the_private_key_is_born_on_the_token_and_cannot_leave_it(
    token_config: TokenConfig, prepared: PreparedToken
) -> None:
    with token_session(token_config, user_pin=ACTIVATION_CODE) as session:
        key = _private_key(session)
        assert key[Attribute.EXTRACTABLE] is False
        assert key[Attribute.SENSITIVE] is True
        assert key[Attribute.LOCAL] is True  # generated on the token, not imported
        assert key[Attribute.NEVER_EXTRACTABLE] is True
        with pytest.raises(pkcs11.AttributeSensitive):
            key[Attribute.VALUE]
        with pytest.raises(pkcs11.PKCS11Error):
            key[Attribute.EXTRACTABLE] = True


def test_the_user_pin_is_the_activation_code(
    token_config: TokenConfig, prepared: PreparedToken
) -> None:
    with pytest.raises(TokenError, match="PIN"), token_session(token_config, user_pin="000000"):
        pass
    with token_session(token_config, user_pin=ACTIVATION_CODE) as session:
        assert session.token.flags & pkcs11.TokenFlag.USER_PIN_INITIALIZED


def test_the_serial_number_is_read_from_the_token(
    token_config: TokenConfig, prepared: PreparedToken
) -> None:
    # What SoftHSM2's own tool reports for the token, read independently of PKCS#11 here.
    shown = subprocess.run(
        ["softhsm2-util", "--show-slots"],
        env={**os.environ, "SOFTHSM2_CONF": str(token_config.softhsm_conf)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    serials = [s for s in re.findall(r"Serial number:[ \t]*(\S*)$", shown, re.MULTILINE) if s]
    assert prepared.token_serial
    assert serials == [prepared.token_serial]


def test_the_ca_issues_for_the_tokens_key_and_the_certificate_goes_on_the_token(
    tmp_path: Path, token_config: TokenConfig, prepared: PreparedToken
) -> None:
    csr = x509.load_der_x509_csr(prepared.csr_der)
    assert csr.is_signature_valid  # signed by the token's private key

    issued = LocalCA(tmp_path / "ca", "passphrase-de-test").issue_from_csr(
        SUBJECT, PROFILE, prepared.csr_der
    )
    certificate = x509.load_pem_x509_certificate(issued.pem.encode())
    assert certificate.subject.get_attributes_for_oid(NameOID.SURNAME)[0].value == "DUBOIS"

    with token_session(token_config, user_pin=ACTIVATION_CODE) as session:
        token_public = session.get_key(object_class=ObjectClass.PUBLIC_KEY, key_type=KeyType.EC)
        token_point = bytes(token_public[Attribute.EC_POINT])
    certificate_key = certificate.public_key()
    assert isinstance(certificate_key, ec.EllipticCurvePublicKey)
    point = certificate_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert token_point.endswith(point)  # CKA_EC_POINT: the point, DER OCTET STRING wrapped

    write_certificate(
        token_config,
        activation_code=ACTIVATION_CODE,
        key_id=prepared.key_id,
        certificate_pem=issued.pem,
    )
    on_token = certificates_on_token(token_config, activation_code=ACTIVATION_CODE)
    assert on_token == [certificate.public_bytes(serialization.Encoding.DER)]


def test_the_ca_refuses_a_csr_whose_signature_does_not_hold(
    tmp_path: Path, prepared: PreparedToken
) -> None:
    tampered = bytearray(prepared.csr_der)
    tampered[-1] ^= 0x01
    with pytest.raises(CAError, match="CSR"):
        LocalCA(tmp_path / "ca", "passphrase-de-test").issue_from_csr(
            SUBJECT, PROFILE, bytes(tampered)
        )


def test_the_ca_refuses_a_csr_whose_key_is_not_the_profiles(
    tmp_path: Path, prepared: PreparedToken
) -> None:
    rsa_profile = CertificateProfile(policy_oids=PROFILE.policy_oids, key_algorithm="rsa3072")
    with pytest.raises(CAError, match="rsa3072"):
        LocalCA(tmp_path / "ca", "passphrase-de-test").issue_from_csr(
            SUBJECT, rsa_profile, prepared.csr_der
        )


def test_the_certificate_issued_from_the_tokens_csr_passes_the_etsi_linter(
    app: Flask, tmp_path: Path, prepared: PreparedToken
) -> None:
    issued = get_backend("local").issue_from_csr(
        SUBJECT, issuance_config().profile, prepared.csr_der
    )
    pem = tmp_path / "holder.pem"
    pem.write_text(issued.pem)
    assert _findings("lint_etsi_cert", pem, "-t", "QCP-N-QSCD-EIDAS-FINAL-CERTIFICATE") == set()
    assert _findings("lint_pkix_cert", pem) == set()


def test_a_token_prepared_under_a_transient_pin_ends_with_the_activation_code(
    tmp_path: Path, token_config: TokenConfig
) -> None:
    """The activation code derives from the certificate's serial, known only once the CA has
    issued from the token's CSR: the token is prepared under a transient PIN, given the
    certificate, then the activation code."""
    transient = "transitoire-91"
    prepared = prepare_token(token_config, activation_code=transient, subject=CSR_SUBJECT)
    issued = LocalCA(tmp_path / "ca", "passphrase-de-test").issue_from_csr(
        SUBJECT, PROFILE, prepared.csr_der
    )
    write_certificate(
        token_config, activation_code=transient, key_id=prepared.key_id, certificate_pem=issued.pem
    )

    set_activation_code(token_config, activation_code=ACTIVATION_CODE)

    with pytest.raises(TokenError, match="PIN"), token_session(token_config, user_pin=transient):
        pass
    assert len(certificates_on_token(token_config, activation_code=ACTIVATION_CODE)) == 1
