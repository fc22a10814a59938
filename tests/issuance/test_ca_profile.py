"""The certificate the local CA issues, field by field (EN 319 412-2 natural person), read
with `cryptography` and, independently, with OpenSSL."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ra_workbench.issuance.ca import (
    QC_COMPLIANCE,
    QC_PDS,
    QC_SSCD,
    QC_STATEMENTS_OID,
    QC_SYNTAX_V2,
    QC_TYPE,
    QC_TYPE_ESIGN,
    SEMANTICS_NATURAL,
    CAError,
    CertificateProfile,
    IssuedCertificate,
    LocalCA,
    Publication,
    SubjectIdentity,
    decode_qc_statements,
    der_oid,
    qc_statements_der,
)

POLICY = "0.4.0.194112.1.2"
PUBLICATION = Publication(
    ca_issuers_url="http://pki.example.fr/pki/ac-emettrice.cer",
    crl_url="http://pki.example.fr/pki/ac-emettrice.crl",
    ocsp_url="http://pki.example.fr/pki/ocsp",
    pds=(("https://pki.example.fr/pds-fr.pdf", "fr"), ("https://pki.example.fr/pds-en.pdf", "en")),
)
OWN_POLICY = "1.2.250.1.105.99.1"
SUBJECT = SubjectIdentity(
    given_name="JEAN-PAUL",
    surname="SAINT-ANDRE",
    subject_serial="IDCFR-X4RTBPFW4",
    organisation_name="ATELIERS MOREL",
    siren="732829320",
)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return LocalCA(tmp_path_factory.mktemp("ca"), "passphrase-de-test")


def _csr(algorithm: str = "p256") -> bytes:
    """A PKCS#10 request as a token signs it (the key stays with the caller here)."""
    key = (
        ec.generate_private_key(ec.SECP256R1())
        if algorithm == "p256"
        else (rsa.generate_private_key(public_exponent=65537, key_size=3072))
    )
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )


def _issue(ca: LocalCA, algorithm: str = "p256") -> tuple[IssuedCertificate, x509.Certificate]:
    issued = ca.issue_from_csr(
        SUBJECT,
        CertificateProfile(
            policy_oids=(POLICY, OWN_POLICY), key_algorithm=algorithm, publication=PUBLICATION
        ),
        _csr(algorithm),
    )
    return issued, x509.load_pem_x509_certificate(issued.pem.encode())


def _attr(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(oid)]


@pytest.mark.parametrize(
    ("algorithm", "key_type"), [("p256", ec.EllipticCurvePublicKey), ("rsa3072", rsa.RSAPublicKey)]
)
def test_certificate_follows_the_natural_person_profile(
    ca: LocalCA, algorithm: str, key_type: type
) -> None:
    issued, cert = _issue(ca, algorithm)

    # Subject (EN 319 412-2 4.2.4): country, names, pseudonym-free CN, serialNumber, O, orgId.
    assert _attr(cert, NameOID.COUNTRY_NAME) == ["FR"]
    assert _attr(cert, NameOID.GIVEN_NAME) == ["JEAN-PAUL"]
    assert _attr(cert, NameOID.SURNAME) == ["SAINT-ANDRE"]
    assert _attr(cert, NameOID.COMMON_NAME) == ["JEAN-PAUL SAINT-ANDRE"]
    # EN 319 412-1 5.1.3: identity card (IDC), France, the card's number.
    assert _attr(cert, NameOID.SERIAL_NUMBER) == ["IDCFR-X4RTBPFW4"]
    assert _attr(cert, NameOID.ORGANIZATION_NAME) == ["ATELIERS MOREL"]
    assert _attr(cert, x509.ObjectIdentifier("2.5.4.97")) == ["NTRFR-732829320"]
    assert not cert.subject.get_attributes_for_oid(NameOID.PSEUDONYM)

    # Key: generated as the token would.
    public_key = cert.public_key()
    assert isinstance(public_key, key_type)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        assert public_key.curve.name == "secp256r1"
    else:
        assert isinstance(public_key, rsa.RSAPublicKey)
        assert public_key.key_size == 3072
    assert issued.key_algorithm == algorithm

    # Key usage: non-repudiation only, critical.
    key_usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert key_usage.critical
    assert key_usage.value.content_commitment
    for other in (
        "digital_signature",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
    ):
        assert getattr(key_usage.value, other) is False, other
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical
    assert basic.value.ca is False

    # Certificate policies from configuration.
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == [POLICY, OWN_POLICY]

    # QCStatements: the natural-person semantics of the serialNumber, QcCompliance, QcSSCD,
    # QcType esign, the PDS in French and English.
    qc = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(QC_STATEMENTS_OID))
    assert not qc.critical
    assert decode_qc_statements(qc.value.value) == [  # type: ignore[attr-defined]
        (QC_SYNTAX_V2, [SEMANTICS_NATURAL]),
        (QC_COMPLIANCE, []),
        (QC_SSCD, []),
        (QC_TYPE, [QC_TYPE_ESIGN]),
        (QC_PDS, []),
    ]
    for url, language in PUBLICATION.pds:
        location = b"\x16" + bytes([len(url)]) + url.encode() + b"\x13\x02" + language.encode()
        assert location in qc.value.value  # type: ignore[attr-defined]

    # Where relying parties check it: the CRL distribution point, OCSP and the CA's cert.
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [p.full_name[0].value for p in points if p.full_name] == [PUBLICATION.crl_url]
    access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [(a.access_method.dotted_string, a.access_location.value) for a in access] == [
        ("1.3.6.1.5.5.7.48.1", PUBLICATION.ocsp_url),
        ("1.3.6.1.5.5.7.48.2", PUBLICATION.ca_issuers_url),
    ]

    # Key identifiers chain to the issuing CA; the signature verifies up to the root.
    issuing = x509.load_pem_x509_certificate(ca.issuing_certificate_path.read_bytes())
    root = x509.load_pem_x509_certificate(ca.root_certificate_path.read_bytes())
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    issuing_ski = issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == issuing_ski.digest
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(public_key)  # type: ignore[arg-type]
    cert.verify_directly_issued_by(issuing)
    issuing.verify_directly_issued_by(root)

    # Validity: 3 years by default; stored values are what the certificate says.
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert dt.timedelta(days=1095) <= lifetime <= dt.timedelta(days=1095, minutes=10)
    assert issued.not_after == cert.not_valid_after_utc
    assert issued.serial_number == f"{cert.serial_number:X}"
    assert cert.serial_number.bit_length() > 64


def test_openssl_reads_the_profile_and_verifies_the_chain(ca: LocalCA, tmp_path: Path) -> None:
    issued, _ = _issue(ca)
    pem = tmp_path / "holder.pem"
    pem.write_text(issued.pem)

    text = subprocess.run(
        ["openssl", "x509", "-in", str(pem), "-text", "-noout"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "C = FR" in text
    assert "GN = JEAN-PAUL" in text
    assert "SN = SAINT-ANDRE" in text
    assert "CN = JEAN-PAUL SAINT-ANDRE" in text
    assert "serialNumber = IDCFR-X4RTBPFW4" in text
    assert "URI:http://pki.example.fr/pki/ac-emettrice.crl" in text
    assert "OCSP - URI:http://pki.example.fr/pki/ocsp" in text
    assert "CA Issuers - URI:http://pki.example.fr/pki/ac-emettrice.cer" in text
    assert "organizationIdentifier = NTRFR-732829320" in text
    assert re.search(r"X509v3 Key Usage: critical\s+Non Repudiation\s*\n", text)
    assert f"Policy: {POLICY}" in text
    assert f"Policy: {OWN_POLICY}" in text
    assert "qcStatements" in text
    assert "X509v3 Subject Key Identifier" in text
    assert "X509v3 Authority Key Identifier" in text
    assert "Public-Key: (256 bit)" in text

    verify = subprocess.run(
        [
            "openssl",
            "verify",
            "-CAfile",
            str(ca.root_certificate_path),
            "-untrusted",
            str(ca.issuing_certificate_path),
            str(pem),
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.strip().endswith(": OK")


def test_openssl_parses_the_qc_statements_der(tmp_path: Path) -> None:
    der = tmp_path / "qc.der"
    der.write_bytes(qc_statements_der())
    parsed = subprocess.run(
        ["openssl", "asn1parse", "-inform", "DER", "-in", str(der)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    oids = re.findall(r"OBJECT\s+:(\S+)", parsed)
    assert oids == [
        QC_SYNTAX_V2,
        SEMANTICS_NATURAL,
        QC_COMPLIANCE,
        QC_SSCD,
        QC_TYPE,
        QC_TYPE_ESIGN,
    ]


def test_der_oid_encodes_multi_byte_arcs() -> None:
    # 1.2.840.113549 is the textbook example of X.690 8.19.
    assert der_oid("1.2.840.113549").hex() == "06062a864886f70d"


def test_hierarchy_is_created_once_with_encrypted_keys(tmp_path: Path) -> None:
    first = LocalCA(tmp_path / "ca", "phrase-un")
    first.ensure()
    issuing_pem = first.issuing_certificate_path.read_bytes()
    for name in ("root.key.pem", "issuing.key.pem"):
        key_file = tmp_path / "ca" / name
        assert key_file.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        assert key_file.stat().st_mode & 0o077 == 0

    again = LocalCA(tmp_path / "ca", "phrase-un")
    again.ensure()
    assert again.issuing_certificate_path.read_bytes() == issuing_pem

    with pytest.raises(CAError, match="phrase de passe"):
        LocalCA(tmp_path / "ca", "mauvaise-phrase").issue_from_csr(
            SUBJECT, CertificateProfile(policy_oids=(POLICY,)), _csr()
        )


def test_a_certificate_never_outlives_its_issuing_ca(ca: LocalCA) -> None:
    issued = ca.issue_from_csr(
        SUBJECT, CertificateProfile(policy_oids=(POLICY,), validity_days=1830), _csr()
    )
    issuing = x509.load_pem_x509_certificate(ca.issuing_certificate_path.read_bytes())
    assert issued.not_after <= issuing.not_valid_after_utc


def test_empty_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CAError):
        LocalCA(tmp_path, "")
