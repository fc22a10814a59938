"""Test certification authorities and the PDF signatures of synthetic mandates. TEST ONLY.

The demo's trust store (rules/trust/mandates/) holds the certificate of `DEMO_CA`, a test
authority whose private key is no secret at all: every key here is derived from a public
label (sha256 of it is the Ed25519 seed), so the generator, the tests and anyone reading
this file can sign as it. Never put its certificate in a production trust store.

Deterministic: Ed25519 signatures are, the keys come from labels, certificate serials and
validity from the name and the signing day, the PDF's second /ID from the caller's
`random.Random` and its modification date is the signing time; so a mandate signed twice
with the same arguments is the same bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import random
from dataclasses import dataclass

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import DocumentMetadata
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, SimpleSigner
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ra_workbench.asyncrun import run_sync

__all__ = ["DEMO_CA", "TestAuthority", "sign_pdf_as"]

_CA_VALIDITY = (dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2036, 1, 1, tzinfo=dt.UTC))


def _key(label: str) -> Ed25519PrivateKey:
    seed = hashlib.sha256(b"ra-workbench synthetic test key\0" + label.encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def _serial(*parts: str) -> int:
    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    return int.from_bytes(digest[:16], "big") >> 1  # positive, under 20 octets


@dataclass(frozen=True)
class SignerIdentity:
    """A natural person's certificate and key, issued by a `TestAuthority`."""

    certificate: x509.Certificate
    key: Ed25519PrivateKey
    authority: TestAuthority


@dataclass(frozen=True)
class TestAuthority:
    """A self-signed test CA named `name`, its key derived from `label`."""

    __test__ = False  # not a pytest class, whatever its name

    label: str
    name: str

    @property
    def key(self) -> Ed25519PrivateKey:
        return _key(f"ca:{self.label}")

    @functools.cached_property
    def certificate(self) -> x509.Certificate:
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "RA Workbench (test)"),
                x509.NameAttribute(NameOID.COMMON_NAME, self.name),
            ]
        )
        public = self.key.public_key()
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(public)
            .serial_number(_serial("ca", self.label))
            .not_valid_before(_CA_VALIDITY[0])
            .not_valid_after(_CA_VALIDITY[1])
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.key, None)
        )

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(self, given_name: str, surname: str, *, on: dt.date) -> SignerIdentity:
        """A signing certificate for the person, valid from 30 days before `on` for 3 years."""
        key = _key(f"person:{self.label}:{given_name}:{surname}")
        public = key.public_key()
        start = dt.datetime.combine(on - dt.timedelta(days=30), dt.time(), tzinfo=dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                        x509.NameAttribute(NameOID.GIVEN_NAME, given_name),
                        x509.NameAttribute(NameOID.SURNAME, surname),
                        x509.NameAttribute(NameOID.COMMON_NAME, f"{given_name} {surname}"),
                    ]
                )
            )
            .issuer_name(self.certificate.subject)
            .public_key(public)
            .serial_number(_serial("person", self.label, given_name, surname, on.isoformat()))
            .not_valid_before(start)
            .not_valid_after(min(start + dt.timedelta(days=3 * 365), _CA_VALIDITY[1]))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, None)
        )
        return SignerIdentity(certificate=certificate, key=key, authority=self)


# The demo's authority: its certificate is rules/trust/mandates/ra-workbench-demo-ca.pem
# (tests/synth/test_signing.py keeps the two equal).
DEMO_CA = TestAuthority("demo", "RA Workbench DEMO - AC de test des mandats")


def _asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


class _PinnedMetadata(DocumentMetadata):
    """Document metadata whose modification date stays the signing time: pyHanko's writer
    sets it to "now" on every write, which would make two drawings of a mandate differ."""

    def __init__(self, at: dt.datetime) -> None:
        self._pinned = at
        super().__init__()

    @property  # type: ignore[override]
    def last_modified(self) -> dt.datetime:
        return self._pinned

    @last_modified.setter
    def last_modified(self, _value: object) -> None:
        pass


class _DatedPdfSigner(PdfSigner):
    """A PdfSigner whose signing time is given rather than read from the clock."""

    def __init__(self, meta: PdfSignatureMetadata, signer: SimpleSigner, at: dt.datetime):
        super().__init__(meta, signer)
        self._at = at

    def init_signing_session(
        self, pdf_out: BasePdfFileWriter, existing_fields_only: bool = False
    ) -> PdfSigningSession:
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._at  # the /M entry and the CMS signing-time attribute
        return session


def sign_pdf_as(
    pdf: bytes,
    identity: SignerIdentity,
    *,
    signed_at: dt.datetime,
    field_name: str,
    reason: str,
    rng: random.Random,
) -> bytes:
    """`pdf` with one more (invisible) signature field, signed by `identity` at `signed_at`:
    an incremental update, so earlier signatures stay intact."""
    key_info = asn1_keys.PrivateKeyInfo.load(
        identity.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    signer = SimpleSigner(
        signing_cert=_asn1_certificate(identity.certificate),
        signing_key=key_info,
        cert_registry=SimpleCertificateStore.from_certs(
            [_asn1_certificate(identity.authority.certificate)]
        ),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    # pyHanko draws the new revision's /ID from os.urandom; ours comes from the seed.
    first_id = writer.document_id[0]
    writer._document_id = generic.ArrayObject(
        [generic.ByteStringObject(first_id), generic.ByteStringObject(rng.randbytes(16))]
    )
    writer._meta = _PinnedMetadata(signed_at)  # the /ModDate and XMP date: the signing time
    meta = PdfSignatureMetadata(
        field_name=field_name, reason=reason, md_algorithm="sha512", name=None
    )
    pdf_signer = _DatedPdfSigner(meta, signer, signed_at)
    out = run_sync(lambda: pdf_signer.async_sign_pdf(writer))
    return bytes(out.getvalue())


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()
