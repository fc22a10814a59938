"""A local certification authority: a root and an issuing CA on disk, and the ETSI EN 319 412-2
natural-person profile. Pure `cryptography`: no database, no Flask.

The hierarchy is created on first use under one directory; both private keys are stored
encrypted with a passphrase. Creation takes an exclusive file lock, so two workers starting
together build one hierarchy, not two.

The holder's key pair is generated on the token (ra_workbench/issuance/token.py): the CA sees
only the token-signed CSR (`issue_from_csr`), never a private key.

The CA keeps its own database, as `openssl ca` keeps index.txt: `index.jsonl` under its
directory, one line appended per certificate issued and per revocation, under the CA's file
lock. It is what the CA answers from (`status`, `revoked`) and what its publications are
signed from: a CRL signed by the issuing CA (`crl`), and OCSP answers (RFC 6960,
`ocsp_response`) signed by a delegated responder certificate (id-kp-OCSPSigning,
id-pkix-ocsp-nocheck) issued by the issuing CA and kept beside its keys. The workbench's
register mirrors it; this module never reads the database.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID, ObjectIdentifier

from ra_workbench import der

# EN 319 412-5 statement ids (id-etsi-qcs-*) and QcType esign.
QC_STATEMENTS_OID = "1.3.6.1.5.5.7.1.3"
QC_COMPLIANCE = "0.4.0.1862.1.1"
QC_SSCD = "0.4.0.1862.1.4"
QC_TYPE = "0.4.0.1862.1.6"
QC_TYPE_ESIGN = "0.4.0.1862.1.6.1"
QC_PDS = "0.4.0.1862.1.5"
# RFC 3739 id-qcs-pkixQCSyntax-v2 carrying EN 319 412-1's semantics identifier for natural
# persons: the subject serialNumber reads "<type><country>-<identifier>" (5.1.3).
QC_SYNTAX_V2 = "1.3.6.1.5.5.7.11.2"
SEMANTICS_NATURAL = "0.4.0.194121.1.1"

KEY_ALGORITHMS = ("p256", "rsa3072")
ROOT_VALIDITY_DAYS = 20 * 365
ISSUING_VALIDITY_DAYS = 10 * 365
# Backdating absorbs clock skew between us and relying parties (common CA practice).
BACKDATE = dt.timedelta(minutes=5)
CA_ORGANISATION = "RA Workbench - AC locale"
# The RA's evidence seal: the certificate that signs the auditors' exports of registration
# evidence (review/evidence.py), issued by the issuing CA on first use.
EVIDENCE_SEAL_COMMON_NAME = "RA Workbench — cachet des preuves d'enregistrement"
EVIDENCE_SEAL_ORGANISATION = "RA Workbench - autorité d'enregistrement"
EVIDENCE_SEAL_VALIDITY_DAYS = 5 * 365
# id-kp-documentSigning (RFC 9336): signing documents, neither TLS nor e-mail.
DOCUMENT_SIGNING_EKU = "1.3.6.1.5.5.7.3.36"
OCSP_RESPONDER_COMMON_NAME = "RA Workbench OCSP Responder"
OCSP_RESPONDER_VALIDITY_DAYS = 365
# The CA's database: one JSON line per certificate issued and per revocation.
INDEX_FILE = "index.jsonl"


class CAError(Exception):
    """The CA cannot issue (bad configuration, wrong passphrase, unusable input)."""


@dataclass(frozen=True)
class Publication:
    """Where a holder certificate points: the URLs the workbench serves (rules/issuance.toml
    [publication]) and the PDS, as (https URL, ISO 639-1 language) pairs."""

    ca_issuers_url: str
    crl_url: str
    ocsp_url: str
    pds: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class CertificateProfile:
    policy_oids: tuple[str, ...]
    validity_days: int = 3 * 365
    key_algorithm: str = "p256"
    publication: Publication | None = None


@dataclass(frozen=True)
class SubjectIdentity:
    """What goes into the holder's subject: names as on the identity document."""

    given_name: str
    surname: str
    subject_serial: str
    organisation_name: str
    siren: str
    country: str = "FR"

    @property
    def common_name(self) -> str:
        return f"{self.given_name} {self.surname}"

    @property
    def organisation_identifier(self) -> str:
        # EN 319 412-1 5.1.4: 3-letter type reference, 2-letter country, hyphen, identifier.
        return f"NTR{self.country}-{self.siren}"


@dataclass(frozen=True)
class IssuedCertificate:
    pem: str
    serial_number: str  # upper-case hex
    fingerprint_sha256: str  # lower-case hex
    subject: str  # RFC 4514
    subject_serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    key_algorithm: str


# -- QCStatements (ETSI EN 319 412-5), written with ra_workbench/der.py -----------------------

der_oid = der.oid
der_sequence = der.sequence


def qc_statements_der(pds: tuple[tuple[str, str], ...] = ()) -> bytes:
    """QCStatements ::= SEQUENCE OF QCStatement; QcType's info is a SEQUENCE OF OID; QcPDS's
    a SEQUENCE OF PdsLocation { url IA5String, language PrintableString (ISO 639-1) }; the
    pkixQCSyntax-v2 statement's a SemanticsInformation with the natural-person semantics."""
    statements = [
        der_sequence(der_oid(QC_SYNTAX_V2), der_sequence(der_oid(SEMANTICS_NATURAL))),
        der_sequence(der_oid(QC_COMPLIANCE)),
        der_sequence(der_oid(QC_SSCD)),
        der_sequence(der_oid(QC_TYPE), der_sequence(der_oid(QC_TYPE_ESIGN))),
    ]
    if pds:
        locations = [
            der_sequence(der.tlv(0x16, url.encode("ascii")), der.tlv(0x13, lang.encode("ascii")))
            for url, lang in pds
        ]
        statements.append(der_sequence(der_oid(QC_PDS), der_sequence(*locations)))
    return der_sequence(*statements)


def decode_qc_statements(data: bytes) -> list[tuple[str, list[str]]]:
    """[(statement id, [OIDs in its info])]: for tests and the staff certificate view."""
    tag, start, end = der.read_tlv(data, 0)
    if tag != 0x30:
        raise ValueError("QCStatements is not a SEQUENCE")
    statements: list[tuple[str, list[str]]] = []
    offset = start
    while offset < end:
        _, statement_start, offset = der.read_tlv(data, offset)
        _, oid_start, oid_end = der.read_tlv(data, statement_start)
        info: list[str] = []
        if oid_end < offset:
            _, pos, info_end = der.read_tlv(data, oid_end)
            while pos < info_end:
                item_tag, item_start, pos = der.read_tlv(data, pos)
                if item_tag == 0x06:
                    info.append(der.decode_oid(data[item_start:pos]))
        statements.append((der.decode_oid(data[oid_start:oid_end]), info))
    return statements


# -- keys ------------------------------------------------------------------------------------

CAKey = ec.EllipticCurvePrivateKey


def _profile_public_key(
    key: object, algorithm: str
) -> ec.EllipticCurvePublicKey | rsa.RSAPublicKey | None:
    """`key` when it is of the profile's algorithm (P-256, RSA 3072), else None."""
    if algorithm == "p256" and isinstance(key, ec.EllipticCurvePublicKey):
        return key if isinstance(key.curve, ec.SECP256R1) else None
    if algorithm == "rsa3072" and isinstance(key, rsa.RSAPublicKey):
        return key if key.key_size == 3072 else None
    return None


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, CA_ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(
    *, signs_certificates: bool = False, digital_signature: bool = False, commitment: bool = False
) -> x509.KeyUsage:
    """Key usage with only the named bits set (the others are never used here)."""
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _publication_extensions(
    builder: x509.CertificateBuilder, publication: Publication | None
) -> x509.CertificateBuilder:
    """CRL distribution point and AIA (OCSP, caIssuers): where relying parties check."""
    if publication is None:
        return builder
    uri = x509.UniformResourceIdentifier
    return builder.add_extension(
        x509.CRLDistributionPoints(
            [x509.DistributionPoint([uri(publication.crl_url)], None, None, None)]
        ),
        critical=False,
    ).add_extension(
        x509.AuthorityInformationAccess(
            [
                x509.AccessDescription(
                    AuthorityInformationAccessOID.OCSP, uri(publication.ocsp_url)
                ),
                x509.AccessDescription(
                    AuthorityInformationAccessOID.CA_ISSUERS, uri(publication.ca_issuers_url)
                ),
            ]
        ),
        critical=False,
    )


def _ca_key_usage() -> x509.KeyUsage:
    return _key_usage(signs_certificates=True)


def _holder_key_usage() -> x509.KeyUsage:
    # EN 319 412-2 4.3.2: non-repudiation (contentCommitment) only, for qualified e-signatures.
    return _key_usage(commitment=True)


@dataclass(frozen=True)
class _Authority:
    key: CAKey
    certificate: x509.Certificate


@dataclass(frozen=True)
class EvidenceSeal:
    """The RA's evidence seal: its key, its certificate and the chain above it (issuing CA,
    root)."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


def _evidence_seal_key_usage() -> x509.KeyUsage:
    # A seal commits the RA to what it signs: digitalSignature and nonRepudiation.
    return _key_usage(digital_signature=True, commitment=True)


class LocalCA:
    """Root and issuing CA under `directory`, keys encrypted with `passphrase`."""

    def __init__(self, directory: Path, passphrase: str) -> None:
        if not passphrase:
            raise CAError("la phrase de passe de l'AC locale est vide")
        self.directory = directory
        self._passphrase = passphrase.encode()
        self._issuing: _Authority | None = None

    # files
    def _path(self, name: str) -> Path:
        return self.directory / name

    @property
    def root_certificate_path(self) -> Path:
        return self._path("root.cert.pem")

    @property
    def issuing_certificate_path(self) -> Path:
        return self._path("issuing.cert.pem")

    def _write(self, name: str, data: bytes, mode: int = 0o644) -> None:
        path = self._path(name)
        tmp = path.with_name(f".{name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        tmp.replace(path)

    def _append_index(self, entry: dict[str, str]) -> None:
        """One line of the CA's database; the caller holds the lock."""
        line = (json.dumps(entry, sort_keys=True) + "\n").encode()
        fd = os.open(self._path(INDEX_FILE), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self._path(".lock"), "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _encrypted(self, key: CAKey) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._passphrase),
        )

    def _load(self, stem: str) -> _Authority:
        key = self._load_key(stem)
        certificate = x509.load_pem_x509_certificate(self._path(f"{stem}.cert.pem").read_bytes())
        return _Authority(key, certificate)

    def _load_key(self, stem: str) -> ec.EllipticCurvePrivateKey:
        try:
            key = serialization.load_pem_private_key(
                self._path(f"{stem}.key.pem").read_bytes(), password=self._passphrase
            )
        except ValueError as exc:
            raise CAError(f"clé de l'AC ({stem}) illisible : phrase de passe incorrecte ?") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CAError(f"clé de l'AC ({stem}) d'un type inattendu")
        return key

    # creation
    def ensure(self, *, now: dt.datetime | None = None) -> None:
        """Create the hierarchy if it does not exist yet (idempotent, safe across processes)."""
        if self.issuing_certificate_path.exists():
            return
        now = now or dt.datetime.now(dt.UTC)
        with self._lock():
            if self.issuing_certificate_path.exists():
                return
            root_key = ec.generate_private_key(ec.SECP384R1())
            root_name = _name("RA Workbench Root CA")
            root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
            root = (
                x509.CertificateBuilder()
                .subject_name(root_name)
                .issuer_name(root_name)
                .public_key(root_key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - BACKDATE)
                .not_valid_after(now + dt.timedelta(days=ROOT_VALIDITY_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
                .add_extension(_ca_key_usage(), critical=True)
                .add_extension(root_ski, critical=False)
                .sign(root_key, hashes.SHA384())
            )
            issuing_key = ec.generate_private_key(ec.SECP384R1())
            issuing = (
                x509.CertificateBuilder()
                .subject_name(_name("RA Workbench Issuing CA"))
                .issuer_name(root_name)
                .public_key(issuing_key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - BACKDATE)
                .not_valid_after(now + dt.timedelta(days=ISSUING_VALIDITY_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(_ca_key_usage(), critical=True)
                .add_extension(
                    x509.SubjectKeyIdentifier.from_public_key(issuing_key.public_key()),
                    critical=False,
                )
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
                    critical=False,
                )
                .sign(root_key, hashes.SHA384())
            )
            pem = serialization.Encoding.PEM
            self._write("root.key.pem", self._encrypted(root_key), 0o600)
            self._write("root.cert.pem", root.public_bytes(pem))
            self._write("issuing.key.pem", self._encrypted(issuing_key), 0o600)
            # Written last: its presence is what says the hierarchy is complete.
            self._write("issuing.cert.pem", issuing.public_bytes(pem))

    def _issuing_ca(self) -> _Authority:
        if self._issuing is None:
            self.ensure()
            self._issuing = self._load("issuing")
        return self._issuing

    def chain_pem(self) -> str:
        return self.issuing_certificate_path.read_text() + self.root_certificate_path.read_text()

    def root_certificate(self) -> x509.Certificate:
        """The trust anchor: read, never created (verifying against a new root proves nothing)."""
        if not self.root_certificate_path.exists():
            raise CAError(f"AC locale absente : {self.root_certificate_path} n'existe pas")
        return x509.load_pem_x509_certificate(self.root_certificate_path.read_bytes())

    # the RA's evidence seal
    @property
    def evidence_seal_certificate_path(self) -> Path:
        return self._path("evidence-seal.cert.pem")

    def evidence_seal(self, *, now: dt.datetime | None = None) -> EvidenceSeal:
        """The seal, issued on first use and again once its certificate has expired (the key
        is new each time; exports signed before stay verifiable at their signing time)."""
        now = now or dt.datetime.now(dt.UTC)
        # The hierarchy first, outside the seal's lock: ensure() takes the same lock.
        self._issuing_ca()
        seal = self._load_evidence_seal(now)
        if seal is not None:
            return seal
        with self._lock():
            seal = self._load_evidence_seal(now)
            if seal is None:
                self._issue_evidence_seal(now)
                seal = self._load_evidence_seal(now)
        if seal is None:  # pragma: no cover - written just above
            raise CAError("cachet des preuves introuvable après sa création")
        return seal

    def _load_evidence_seal(self, now: dt.datetime) -> EvidenceSeal | None:
        if not self.evidence_seal_certificate_path.exists():
            return None
        certificate = x509.load_pem_x509_certificate(
            self.evidence_seal_certificate_path.read_bytes()
        )
        if certificate.not_valid_after_utc <= now:
            return None
        key = self._load_key("evidence-seal")
        issuing = self._issuing_ca().certificate
        root = x509.load_pem_x509_certificate(self.root_certificate_path.read_bytes())
        return EvidenceSeal(key, certificate, (issuing, root))

    def _issue_evidence_seal(self, now: dt.datetime) -> None:
        issuing = self._issuing_ca()
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, EVIDENCE_SEAL_ORGANISATION),
                x509.NameAttribute(NameOID.COMMON_NAME, EVIDENCE_SEAL_COMMON_NAME),
            ]
        )
        certificate = _service_certificate(
            issuing,
            name,
            key.public_key(),
            now=now,
            days=EVIDENCE_SEAL_VALIDITY_DAYS,
            key_usage=_evidence_seal_key_usage(),
            purpose=ObjectIdentifier(DOCUMENT_SIGNING_EKU),
        ).sign(issuing.key, hashes.SHA384())
        self._write("evidence-seal.key.pem", self._encrypted(key), 0o600)
        # Written last: its presence says the seal is complete.
        self._write("evidence-seal.cert.pem", certificate.public_bytes(serialization.Encoding.PEM))

    # issuance
    def issue_from_csr(
        self,
        subject: SubjectIdentity,
        profile: CertificateProfile,
        csr_der: bytes,
        *,
        now: dt.datetime | None = None,
    ) -> IssuedCertificate:
        """Issue for the key of a CSR (PKCS#10, DER) signed by the token that holds it: the
        CSR proves possession; its subject is ignored (the CA writes the dossier's)."""
        try:
            csr = x509.load_der_x509_csr(csr_der)
        except ValueError as exc:
            raise CAError("demande de certificat (CSR) illisible") from exc
        if not csr.is_signature_valid:
            raise CAError("demande de certificat (CSR) dont la signature est invalide")
        public_key = _profile_public_key(csr.public_key(), profile.key_algorithm)
        if public_key is None:
            raise CAError(
                "la clé de la demande de certificat ne suit pas le profil "
                f"(attendu : {profile.key_algorithm})"
            )
        return self._issue_holder(subject, profile, public_key, now=now)

    def _issue_holder(
        self,
        subject: SubjectIdentity,
        profile: CertificateProfile,
        public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
        *,
        now: dt.datetime | None = None,
    ) -> IssuedCertificate:
        """The EN 319 412-2 natural-person certificate for `public_key`."""
        issuing = self._issuing_ca()
        now = now or dt.datetime.now(dt.UTC)
        not_before = now - BACKDATE
        # A certificate never outlives its issuer.
        not_after = min(
            now + dt.timedelta(days=profile.validity_days),
            issuing.certificate.not_valid_after_utc,
        )
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, subject.country),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, subject.organisation_name),
                x509.NameAttribute(
                    NameOID.ORGANIZATION_IDENTIFIER, subject.organisation_identifier
                ),
                x509.NameAttribute(NameOID.SURNAME, subject.surname),
                x509.NameAttribute(NameOID.GIVEN_NAME, subject.given_name),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, subject.subject_serial),
                x509.NameAttribute(NameOID.COMMON_NAME, subject.common_name),
            ]
        )
        issuer_ski = issuing.certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value
        policies = x509.CertificatePolicies(
            [x509.PolicyInformation(ObjectIdentifier(oid), None) for oid in profile.policy_oids]
        )
        publication = profile.publication
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuing.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_holder_key_usage(), critical=True)
            .add_extension(policies, critical=False)
            .add_extension(
                x509.UnrecognizedExtension(
                    ObjectIdentifier(QC_STATEMENTS_OID),
                    qc_statements_der(publication.pds if publication else ()),
                ),
                critical=False,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(public_key),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski),
                critical=False,
            )
        )
        certificate = _publication_extensions(builder, publication).sign(
            issuing.key, hashes.SHA384()
        )
        with self._lock():
            self._append_index(
                {
                    "event": "issued",
                    "serial": f"{certificate.serial_number:X}",
                    "not_after": certificate.not_valid_after_utc.isoformat(),
                    "fingerprint_sha256": certificate.fingerprint(hashes.SHA256()).hex(),
                }
            )
        return IssuedCertificate(
            pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
            serial_number=f"{certificate.serial_number:X}",
            fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
            subject=certificate.subject.rfc4514_string(),
            subject_serial=subject.subject_serial,
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            key_algorithm=profile.key_algorithm,
        )


# -- revocation status: CRL and OCSP --------------------------------------------------------


@dataclass(frozen=True)
class Revoked:
    """One revoked certificate as the CA's database records it."""

    serial_number: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags


@dataclass(frozen=True)
class CertificateStatus:
    """What the CA says of one certificate it issued: revoked when `revoked` is set, else
    good (a serial it never issued has no status: None)."""

    not_after: dt.datetime
    revoked: Revoked | None = None


def _index_status(ca: LocalCA) -> dict[int, CertificateStatus]:
    """The CA's database folded: every serial issued, with its revocation if any."""
    path = ca._path(INDEX_FILE)
    statuses: dict[int, CertificateStatus] = {}
    if not path.exists():
        return statuses
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        serial = int(entry["serial"], 16)
        if entry["event"] == "issued":
            statuses[serial] = CertificateStatus(dt.datetime.fromisoformat(entry["not_after"]))
        elif entry["event"] == "revoked" and serial in statuses:
            revoked = Revoked(
                serial,
                dt.datetime.fromisoformat(entry["revoked_at"]),
                x509.ReasonFlags(entry["reason"]),
            )
            statuses[serial] = CertificateStatus(statuses[serial].not_after, revoked)
    return statuses


def certificate_status(ca: LocalCA, serial_number: int) -> CertificateStatus | None:
    """The CA's answer for one serial: good, revoked (time, reason), or None (not issued
    here)."""
    return _index_status(ca).get(serial_number)


def revoked_certificates(ca: LocalCA, *, now: dt.datetime) -> list[Revoked]:
    """Revoked certificates not yet expired (RFC 5280 5.1.2.6: an entry may leave the CRL
    once the certificate has expired), as the CRL lists them."""
    return [
        status.revoked
        for status in _index_status(ca).values()
        if status.revoked is not None and status.not_after > now
    ]


def revoke(
    ca: LocalCA, serial_number: int, reason: x509.ReasonFlags, revoked_at: dt.datetime
) -> Revoked:
    """Record a revocation in the CA's database (idempotent: a certificate already revoked
    keeps its first time and reason). CAError for a serial this CA never issued."""
    with ca._lock():
        status = certificate_status(ca, serial_number)
        if status is None:
            raise CAError(f"le certificat n° {serial_number:X} n'a pas été émis par cette AC")
        if status.revoked is not None:
            return status.revoked
        revoked_at = revoked_at.astimezone(dt.UTC).replace(microsecond=0)
        ca._append_index(
            {
                "event": "revoked",
                "serial": f"{serial_number:X}",
                "revoked_at": revoked_at.isoformat(),
                "reason": reason.value,
            }
        )
        return Revoked(serial_number, revoked_at, reason)


def _crl(
    ca: LocalCA,
    revoked: Iterable[Revoked],
    *,
    now: dt.datetime,
    next_update: dt.timedelta,
) -> bytes:
    issuing = ca._issuing_ca()
    number_path = ca._path("issuing.crl-number")
    number = int(number_path.read_text()) + 1 if number_path.exists() else 1
    issuer_ski = issuing.certificate.extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    ).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuing.certificate.subject)
        .last_update(now)
        .next_update(now + next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski),
            critical=False,
        )
    )
    for entry in sorted(revoked, key=lambda r: r.serial_number):
        item = (
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial_number)
            .revocation_date(entry.revoked_at)
        )
        if entry.reason != x509.ReasonFlags.unspecified:
            # RFC 5280 5.3.1: unspecified is expressed by leaving the reason out.
            item = item.add_extension(x509.CRLReason(entry.reason), critical=False)
        builder = builder.add_revoked_certificate(item.build())
    der_crl = builder.sign(issuing.key, hashes.SHA384()).public_bytes(serialization.Encoding.DER)
    ca._write("issuing.crl", der_crl)
    ca._write("issuing.crl-number", str(number).encode())
    return der_crl


def _ocsp_key_usage() -> x509.KeyUsage:
    return _key_usage(digital_signature=True)


def crl(
    ca: LocalCA,
    revoked: Iterable[Revoked],
    *,
    now: dt.datetime | None = None,
    next_update: dt.timedelta = dt.timedelta(hours=24),
) -> bytes:
    """A new CRL from the issuing CA (DER), with the next CRL number; also written to
    `issuing.crl` under the CA's directory, where the public route serves it from."""
    ca._issuing_ca()
    with ca._lock():
        return _crl(ca, revoked, now=now or dt.datetime.now(dt.UTC), next_update=next_update)


def ocsp_responder(
    ca: LocalCA, *, now: dt.datetime | None = None
) -> tuple[CAKey, x509.Certificate]:
    """The delegated responder's key and certificate, issued by the issuing CA on first use
    and again when it is within a day of expiry; kept like the CA's keys (encrypted)."""
    now = now or dt.datetime.now(dt.UTC)
    issuing = ca._issuing_ca()
    path = ca._path("ocsp-responder.cert.pem")

    def current() -> tuple[CAKey, x509.Certificate] | None:
        if not path.exists():
            return None
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
        if certificate.not_valid_after_utc <= now + dt.timedelta(days=1):
            return None
        return ca._load_key("ocsp-responder"), certificate

    found = current()
    if found is not None:
        return found
    with ca._lock():
        found = current()
        if found is not None:
            return found
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = (
            _service_certificate(
                issuing,
                _name(OCSP_RESPONDER_COMMON_NAME),
                key.public_key(),
                now=now,
                days=OCSP_RESPONDER_VALIDITY_DAYS,
                key_usage=_ocsp_key_usage(),
                purpose=x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING,
            )
            # RFC 6960 4.2.2.2.1: relying parties do not check the responder's own status.
            .add_extension(x509.OCSPNoCheck(), critical=False)
            .sign(issuing.key, hashes.SHA384())
        )
        ca._write("ocsp-responder.key.pem", ca._encrypted(key), 0o600)
        ca._write("ocsp-responder.cert.pem", certificate.public_bytes(serialization.Encoding.PEM))
        return key, certificate


def _service_certificate(
    issuing: _Authority,
    name: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    *,
    now: dt.datetime,
    days: int,
    key_usage: x509.KeyUsage,
    purpose: ObjectIdentifier,
) -> x509.CertificateBuilder:
    """What the CA's own service certificates (the evidence seal, the OCSP responder) share:
    issued by the issuing CA, not a CA, one key usage and one extended purpose, key
    identifiers, valid `days` but never past the issuing CA."""
    issuer_ski = issuing.certificate.extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    ).value
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuing.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(
            min(now + dt.timedelta(days=days), issuing.certificate.not_valid_after_utc)
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski),
            critical=False,
        )
    )


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )


def ocsp_response(
    ca: LocalCA,
    request_der: bytes,
    status_of: Callable[[int], CertificateStatus | None],
    *,
    now: dt.datetime | None = None,
    next_update: dt.timedelta = dt.timedelta(hours=24),
) -> bytes:
    """The DER answer to one OCSP request (RFC 6960): good, revoked (time and reason) or
    unknown (`status_of` returns None: not issued here), signed by the delegated
    responder. A request that does not parse is `malformedRequest`; one about another
    issuer's certificate `unauthorized`."""
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    try:
        request = ocsp.load_der_ocsp_request(request_der)
    except ValueError:
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    issuing = ca._issuing_ca().certificate
    algorithm = request.hash_algorithm
    if (request.issuer_name_hash, request.issuer_key_hash) != (
        _name_hash(issuing, algorithm),
        _key_hash(issuing, algorithm),
    ):
        return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
    key, responder = ocsp_responder(ca, now=now)
    status = status_of(request.serial_number)
    if status is None:
        cert_status, revoked_at, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
    elif status.revoked is not None:
        cert_status = ocsp.OCSPCertStatus.REVOKED
        revoked_at, reason = status.revoked.revoked_at, status.revoked.reason
    else:
        cert_status, revoked_at, reason = ocsp.OCSPCertStatus.GOOD, None, None
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            serial_number=request.serial_number,
            algorithm=algorithm,  # type: ignore[arg-type]
            cert_status=cert_status,
            this_update=now,
            next_update=now + next_update,
            revocation_time=revoked_at,
            revocation_reason=reason,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, responder)
        .certificates([responder])
    )
    nonce = _nonce(request)
    if nonce is not None:
        builder = builder.add_extension(nonce, critical=False)
    response = builder.sign(key, hashes.SHA256())
    return response.public_bytes(serialization.Encoding.DER)


def _nonce(request: ocsp.OCSPRequest) -> x509.OCSPNonce | None:
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value
    except x509.ExtensionNotFound:
        return None


def _name_hash(certificate: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    digest = hashes.Hash(algorithm)
    digest.update(certificate.subject.public_bytes())
    return digest.finalize()


def _key_hash(certificate: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    # RFC 6960 4.1.1: the hash of the BIT STRING's value of subjectPublicKey.
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _, start, _ = der.read_tlv(spki, 0)
    _, _, algorithm_end = der.read_tlv(spki, start)
    _, key_start, key_end = der.read_tlv(spki, algorithm_end)
    digest = hashes.Hash(algorithm)
    digest.update(spki[key_start + 1 : key_end])  # past the unused-bits octet
    return digest.finalize()
