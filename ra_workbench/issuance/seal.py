"""The RA's evidence seal: a detached CMS (PKCS#7) signature that anyone can check with
OpenSSL against the local CA's chain, without any key of ours.

The seal's certificate is issued by the local CA on first use (`LocalCA.evidence_seal`).
`review/` sits above issuance on the journey, so it never imports this module: the app factory
hands it `local_evidence_seal` (`review.evidence.seal_exports_with`), and the `evidence verify`
command (a shell) calls `verify_detached` here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from flask import current_app

from ra_workbench.issuance.backends import ca_passphrase
from ra_workbench.issuance.ca import BACKDATE, DOCUMENT_SIGNING_EKU, LocalCA

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
MAX_CHAIN = 4


class LocalEvidenceSeal:
    """Signs with the local CA's evidence seal (review.evidence.ExportSeal)."""

    def __init__(self, ca: LocalCA) -> None:
        self.ca = ca

    def sign(self, content: bytes) -> bytes:
        """Detached CMS SignedData over exactly `content`, DER, with the seal's certificate
        and the chain (issuing CA, root)."""
        seal = self.ca.evidence_seal()
        builder = (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(content)
            .add_signer(seal.certificate, seal.key, hashes.SHA256())
        )
        for certificate in seal.chain:
            builder = builder.add_certificate(certificate)
        # Binary: the bytes are signed as they are, not turned into MIME text (CRLF).
        return builder.sign(
            serialization.Encoding.DER,
            [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
        )

    def chain_pem(self) -> str:
        """What an auditor passes to `openssl cms -verify -CAfile`: issuing CA, then root."""
        self.ca.evidence_seal()
        return self.ca.chain_pem()


def local_evidence_seal() -> LocalEvidenceSeal:
    settings = current_app.config["RA_SETTINGS"]
    return LocalEvidenceSeal(LocalCA(settings.ca_dir, ca_passphrase()))


def local_root() -> x509.Certificate:
    """The local CA's root, the trust anchor `evidence verify` checks exports against."""
    settings = current_app.config["RA_SETTINGS"]
    return LocalCA(settings.ca_dir, ca_passphrase()).root_certificate()


# -- verifying ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SealCheck:
    problem: str | None  # in French; None when the signature holds
    signer: str = ""  # RFC 4514 subject of the signing certificate
    signed_at: dt.datetime | None = None

    @property
    def valid(self) -> bool:
        return self.problem is None


def _refused(problem: str) -> SealCheck:
    return SealCheck(problem=problem)


def _signed_attribute(signer_info: cms.SignerInfo, name: str) -> object | None:
    for attribute in signer_info["signed_attrs"]:
        if attribute["type"].native == name:
            return attribute["values"][0].native
    return None


def _signature_valid(
    certificate: x509.Certificate, signer_info: cms.SignerInfo, hash_name: str
) -> bool:
    # The signature covers the signed attributes DER-encoded as a SET OF (RFC 5652 5.4),
    # not with the [0] IMPLICIT tag they carry inside SignerInfo.
    signed = signer_info["signed_attrs"].untag().dump(force=True)
    signature = signer_info["signature"].native
    algorithm = _HASHES[hash_name]()
    key = certificate.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PKCS1v15(), algorithm)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _is_signer(certificate: x509.Certificate, signer_info: cms.SignerInfo) -> bool:
    sid = signer_info["sid"]
    if sid.name == "issuer_and_serial_number":
        return (
            certificate.serial_number == sid.chosen["serial_number"].native
            and certificate.issuer.public_bytes() == sid.chosen["issuer"].dump()
        )
    try:
        ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return False
    return ski.digest == sid.chosen.native


def _valid_at(certificate: x509.Certificate, at: dt.datetime) -> bool:
    return certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc


def _chain_problem(
    signer: x509.Certificate,
    pool: list[x509.Certificate],
    root: x509.Certificate,
    at: dt.datetime,
) -> str | None:
    """Why `signer` does not lead to `root` at `at`, or None."""
    current = signer
    for _ in range(MAX_CHAIN):
        if not _valid_at(current, at):
            return (
                f"le certificat « {current.subject.rfc4514_string()} » n'était pas valide à la "
                f"date de signature ({at:%d/%m/%Y %H:%M} UTC)"
            )
        if current.issuer == root.subject:
            try:
                current.verify_directly_issued_by(root)
            except (ValueError, TypeError, InvalidSignature):
                break
            return None
        issuers = [c for c in pool if c.subject == current.issuer and c != current]
        issuer = next((c for c in issuers if _issued_by(current, c)), None)
        if issuer is None or not _is_ca(issuer):
            break
        current = issuer
    return (
        "chaîne de certification rompue : le certificat signataire n'est pas émis par l'AC "
        "locale de cette instance"
    )


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _is_evidence_seal(certificate: x509.Certificate) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        purposes = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return (usage.digital_signature or usage.content_commitment) and any(
        p.dotted_string == DOCUMENT_SIGNING_EKU for p in purposes
    )


def verify_detached(
    content: bytes, signature: bytes, *, root: x509.Certificate, now: dt.datetime | None = None
) -> SealCheck:
    """Check a detached CMS signature over `content`: the bytes match, the signature holds,
    the signer is an evidence seal whose chain leads to `root`, at the signing time."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        info = cms.ContentInfo.load(signature)
        if info["content_type"].native != "signed_data":
            return _refused("signature illisible : ce n'est pas une SignedData CMS")
        signed_data = info["content"]
        signer_infos = list(signed_data["signer_infos"])
        certificates = [
            x509.load_der_x509_certificate(c.chosen.dump())
            for c in signed_data["certificates"]
            if c.name == "certificate"
        ]
        if signed_data["encap_content_info"]["content"].native is not None:
            return _refused("signature non détachée : elle devrait porter sur le fichier à part")
        if len(signer_infos) != 1:
            return _refused(f"{len(signer_infos)} signataires au lieu d'un (le cachet du RA)")
        (signer_info,) = signer_infos
        hash_name = signer_info["digest_algorithm"]["algorithm"].native
        digest = _signed_attribute(signer_info, "message_digest")
        signed_at = _signed_attribute(signer_info, "signing_time")
    except (ValueError, TypeError, KeyError):
        return _refused(
            "signature illisible : ce n'est pas une signature CMS (PKCS#7) au format DER"
        )
    if hash_name not in _HASHES:
        return _refused(f"algorithme d'empreinte non accepté : {hash_name}")
    if not isinstance(digest, bytes):
        return _refused("signature incomplète : l'empreinte du contenu n'y figure pas")
    if not hmac.compare_digest(hashlib.new(hash_name, content).digest(), digest):
        return _refused(
            "le contenu ne correspond pas à la signature : le fichier de preuves a été modifié "
            "depuis l'export"
        )
    signer = next((c for c in certificates if _is_signer(c, signer_info)), None)
    if signer is None:
        return _refused("le certificat du signataire ne figure pas dans la signature")
    if not _signature_valid(signer, signer_info, hash_name):
        return _refused("signature invalide : elle n'a pas été faite par la clé du certificat")
    at = signed_at if isinstance(signed_at, dt.datetime) else now
    if at > now + BACKDATE:
        return _refused(f"date de signature dans le futur ({at:%d/%m/%Y %H:%M} UTC)")
    if not _is_evidence_seal(signer):
        return _refused(
            f"le signataire « {signer.subject.rfc4514_string()} » n'est pas un cachet de "
            "preuves (usage de clé ou usage étendu attendu absent)"
        )
    problem = _chain_problem(signer, certificates, root, at)
    if problem is not None:
        return _refused(problem)
    return SealCheck(problem=None, signer=signer.subject.rfc4514_string(), signed_at=at)
