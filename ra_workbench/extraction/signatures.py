"""Verifying a PDF's electronic signatures with pyHanko. Pure and bounded.

Two steps, because they depend on different things:

- `verify_pdf_signatures(data)` depends on the bytes alone, so its result is cached with the
  rest of the mandate's reading: for each signature, whether its CMS is intact (the signed
  byte ranges hash to the signed digest) and valid (the signer's key signed that digest),
  how much of the file it covers and what changed after it (pyHanko's difference analysis:
  a later signature or form filling is what PAdES allows, a changed page is not), who
  signed (the certificate's subject), when (the signing time the signer reported) and the
  certificates embedded in the signature.
- `trust_chain(...)` depends on the trust store (rules/, which an administrator changes
  without the file changing): is there a path from the signer's certificate to one of the
  trust anchors, valid at the signing time, for a signing key usage? Revocation is not
  fetched (no network from the checks): the path is checked, not the CRLs.

A file pyHanko cannot read, or a signature whose CMS does not decode, gives a result with
`error` (French), never an exception.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation.generic_cms import validate_sig_integrity
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import ModificationInfo, SignatureCoverageLevel
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError, ValidationError

from ra_workbench.asyncrun import run_sync

__all__ = [
    "SignatureCheck",
    "TrustResult",
    "trust_chain",
    "verify_pdf_signatures",
]

MAX_SIGNATURES = 20  # a mandate carries two; more is not a mandate, stop there
# Changes after a signature that PAdES (and pyHanko's default difference policy) allow:
# nothing, adding validation data or time stamps, filling form fields and adding signatures.
ALLOWED_MODIFICATIONS = (
    ModificationLevel.NONE,
    ModificationLevel.LTA_UPDATES,
    ModificationLevel.FORM_FILLING,
)
# What a broken structure in a hostile file surfaces as from pyHanko's object model and
# asn1crypto's DER decoder (ValueError covers pyHanko's SignatureValidationError).
_READ_ERRORS = (PdfError, ValueError, TypeError, KeyError, IndexError, RecursionError)


@dataclass(frozen=True)
class SignatureCheck:
    """One signature of the file, as far as the bytes alone tell."""

    field_name: str
    intact: bool
    valid: bool
    coverage: str | None  # entire_file | entire_revision | contiguous_block_from_start | unclear
    modification: str | None  # none | lta_updates | form_filling | annotations | other
    docmdp_ok: bool | None
    signer_subject: str
    signer_common_name: str
    signer_given_name: str
    signer_surname: str
    signing_time: dt.datetime | None
    # DER, base64: the signer's certificate first, then the others embedded in the CMS.
    certificates: tuple[str, ...]
    error: str | None = None

    @property
    def unmodified(self) -> bool:
        """The signed bytes are the file, or what follows them is only what PAdES allows."""
        if self.coverage == "entire_file":
            return True
        return (
            self.coverage == "entire_revision"
            and self.modification in {m.name.lower() for m in ALLOWED_MODIFICATIONS}
            and self.docmdp_ok is not False
        )

    @property
    def sound(self) -> bool:
        """Intact, valid and not modified beyond what is allowed."""
        return self.error is None and self.intact and self.valid and self.unmodified

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> SignatureCheck:
        """Back from `to_json` (a cached reading); a malformed entry is an unverifiable one."""
        try:
            signing = value.get("signing_time")
            return cls(
                field_name=str(value.get("field_name") or ""),
                intact=value.get("intact") is True,
                valid=value.get("valid") is True,
                coverage=value.get("coverage"),
                modification=value.get("modification"),
                docmdp_ok=value.get("docmdp_ok"),
                signer_subject=str(value.get("signer_subject") or ""),
                signer_common_name=str(value.get("signer_common_name") or ""),
                signer_given_name=str(value.get("signer_given_name") or ""),
                signer_surname=str(value.get("signer_surname") or ""),
                signing_time=dt.datetime.fromisoformat(signing) if signing else None,
                certificates=tuple(str(c) for c in value.get("certificates") or ()),
                error=value.get("error"),
            )
        except (TypeError, ValueError):
            return cls.unverifiable(str(value.get("field_name") or ""), "vérification illisible")

    @classmethod
    def unverifiable(cls, field_name: str, message: str) -> SignatureCheck:
        return cls(
            field_name=field_name,
            intact=False,
            valid=False,
            coverage=None,
            modification=None,
            docmdp_ok=None,
            signer_subject="",
            signer_common_name="",
            signer_given_name="",
            signer_surname="",
            signing_time=None,
            certificates=(),
            error=message,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "field_name": self.field_name,
            "intact": self.intact,
            "valid": self.valid,
            "coverage": self.coverage,
            "modification": self.modification,
            "docmdp_ok": self.docmdp_ok,
            "signer_subject": self.signer_subject,
            "signer_common_name": self.signer_common_name,
            "signer_given_name": self.signer_given_name,
            "signer_surname": self.signer_surname,
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "certificates": list(self.certificates),
            "error": self.error,
        }


def _name_part(name: asn1_x509.Name, key: str) -> str:
    value = name.native.get(key) if isinstance(name.native, dict) else None
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    return str(value or "")


def subject_label(name: asn1_x509.Name) -> str:
    """A certificate subject as the operator reads it: « PAUL MOREL » or « AC Exemple
    (Exemple SA, FR) »."""
    common = _name_part(name, "common_name")
    rest = [
        part
        for part in (
            _name_part(name, "organization_name"),
            _name_part(name, "country_name"),
        )
        if part
    ]
    if not common:
        return name.human_friendly
    return f"{common} ({', '.join(rest)})" if rest else common


def _der(certificate: asn1_x509.Certificate) -> str:
    return base64.b64encode(certificate.dump()).decode("ascii")


def _check(signature: EmbeddedPdfSignature) -> SignatureCheck:
    name = str(signature.field_name or "")
    try:
        signature.compute_integrity_info()
        modification_info = ModificationInfo(**signature.summarise_integrity_info())
        signer = signature.signer_cert
        content_type = signature.signed_data["encap_content_info"]["content_type"].native
        intact, valid = validate_sig_integrity(
            signature.signer_info, signer, content_type, signature.compute_digest()
        )
        others = signature.other_embedded_certs
        reported = signature.self_reported_timestamp
    except _READ_ERRORS as exc:
        return SignatureCheck.unverifiable(name, f"signature illisible ({type(exc).__name__})")
    coverage = modification_info.coverage
    level = modification_info.modification_level
    subject = signer.subject
    return SignatureCheck(
        field_name=name,
        intact=bool(intact),
        valid=bool(valid),
        coverage=coverage.name.lower() if isinstance(coverage, SignatureCoverageLevel) else None,
        modification=level.name.lower() if level is not None else None,
        docmdp_ok=modification_info.docmdp_ok,
        signer_subject=subject_label(subject),
        signer_common_name=_name_part(subject, "common_name"),
        signer_given_name=_name_part(subject, "given_name"),
        signer_surname=_name_part(subject, "surname"),
        signing_time=reported,
        certificates=(_der(signer), *(_der(c) for c in others)),
    )


def verify_pdf_signatures(data: bytes) -> tuple[tuple[SignatureCheck, ...], str | None]:
    """Every /Sig signature of the PDF, in signing order, and the error (French) when pyHanko
    cannot read the file at all."""
    try:
        reader = PdfFileReader(io.BytesIO(data))
        if reader.encrypted:
            return (), "PDF chiffré : signatures non vérifiables"
        embedded = reader.embedded_regular_signatures
    except _READ_ERRORS as exc:
        return (), f"PDF illisible par le vérificateur de signatures ({type(exc).__name__})"
    return tuple(_check(s) for s in embedded[:MAX_SIGNATURES]), None


# -- trust -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrustResult:
    trusted: bool
    # Subjects from the signer's certificate up to the anchor (or as far as the embedded
    # certificates go when no path was found).
    chain: tuple[str, ...]
    problem: str | None  # French, when not trusted


def _load(encoded: Iterable[str]) -> list[asn1_x509.Certificate]:
    return [asn1_x509.Certificate.load(base64.b64decode(c, validate=True)) for c in encoded]


def _embedded_chain(
    signer: asn1_x509.Certificate, others: Sequence[asn1_x509.Certificate]
) -> tuple[str, ...]:
    """The issuer chain as the embedded certificates tell it (subjects, signer first)."""
    chain, current = [subject_label(signer.subject)], signer
    by_subject = {c.subject.dump(): c for c in others}
    for _ in range(len(others)):
        if current.self_signed != "no":
            break
        issuer = by_subject.get(current.issuer.dump())
        if issuer is None:
            chain.append(subject_label(current.issuer))
            break
        chain.append(subject_label(issuer.subject))
        current = issuer
    else:
        if current.self_signed == "no":
            chain.append(subject_label(current.issuer))
    return tuple(dict.fromkeys(chain))


async def _validate(
    signer: asn1_x509.Certificate,
    others: Sequence[asn1_x509.Certificate],
    context: ValidationContext,
) -> Any:
    validator = CertificateValidator(signer, intermediate_certs=others, validation_context=context)
    return await validator.async_validate_usage(key_usage={"non_repudiation"})


def trust_chain(
    certificates: Sequence[str], anchors: Sequence[bytes], at: dt.datetime
) -> TrustResult:
    """Whether the signer's certificate (`certificates[0]`, base64 DER, the others being what
    the signature embeds) chains to one of `anchors` (DER) at `at`."""
    try:
        signer, *others = _load(certificates)
        roots = [asn1_x509.Certificate.load(a) for a in anchors]
    except (ValueError, TypeError) as exc:
        return TrustResult(False, (), f"certificat du signataire illisible ({type(exc).__name__})")
    chain = _embedded_chain(signer, others)
    if not roots:
        return TrustResult(False, chain, "magasin de confiance vide")
    context = ValidationContext(
        trust_roots=roots, moment=at, allow_fetching=False, revocation_mode="soft-fail"
    )
    try:
        path = run_sync(lambda: _validate(signer, others, context))
    except PathBuildingError:
        return TrustResult(False, chain, "aucune chaîne vers une autorité du magasin de confiance")
    except PathValidationError as exc:
        return TrustResult(False, chain, f"chaîne de certification invalide ({_reason(exc)})")
    except ValidationError as exc:
        return TrustResult(False, chain, f"certificat refusé ({_reason(exc)})")
    certificates_up = reversed(list(path.iter_certs(include_root=True)))
    subjects = tuple(subject_label(c.subject) for c in certificates_up)
    return TrustResult(True, subjects or chain, None)


def _reason(exc: Exception) -> str:
    kind = type(exc).__name__
    return {
        "ExpiredError": "certificat expiré à la date de signature",
        "NotYetValidError": "certificat pas encore valide à la date de signature",
        "RevokedError": "certificat révoqué",
        "InvalidCertificateError": "usage de clé autre que la signature",
        "DisallowedAlgorithmError": "algorithme refusé",
    }.get(kind, kind)
