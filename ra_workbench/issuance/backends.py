"""CA backends behind one interface, chosen by configuration (`[ca] backend` in
rules/issuance.toml or RA_WORKBENCH_CA_BACKEND).

The interface is what the RA asks of any CA: issue a certificate for a token-born key
(`issue_from_csr`), revoke one with an RFC 5280 reason (`revoke`), and say what it knows of
one (`status`). Every method raises CAError, in French, when the CA refuses or cannot be
reached; the issuance service records the failure (retry, failed list, refused
revocation) and never writes the register from a CA that did not answer. A production CA
(EJBCA's REST API, say) is one more subclass: README, « L'AC derrière son interface ».

- `local`: the CA on this machine (ra_workbench.issuance.ca), under <data dir>/ca, with its
  own database (index.jsonl) and its CRL and OCSP served by the workbench (issuance/public.py).
- `failing`: refuses every request; `failing:N` refuses the first N requests of the process
  and then acts like `local`. Test doubles for the retry and failed-list paths.
"""

from __future__ import annotations

import abc
import datetime as dt
import os
import threading
from pathlib import Path

from cryptography import x509
from flask import current_app

from ra_workbench.config import _persistent_secret
from ra_workbench.issuance.ca import (
    CAError,
    CertificateProfile,
    CertificateStatus,
    IssuedCertificate,
    LocalCA,
    SubjectIdentity,
    certificate_status,
)
from ra_workbench.issuance.ca import revoke as ca_revoke
from ra_workbench.issuance.config import issuance_config


class CABackend(abc.ABC):
    name: str

    @abc.abstractmethod
    def issue_from_csr(
        self, subject: SubjectIdentity, profile: CertificateProfile, csr_der: bytes
    ) -> IssuedCertificate:
        """Issue for the key of a CSR (PKCS#10, DER) generated and signed on the holder's
        token; the subject is the dossier's, never the CSR's. CAError, in French, when the CA
        refuses (an unreadable CSR, a bad signature, a key outside the profile) or cannot be
        reached."""

    @abc.abstractmethod
    def revoke(self, serial_number: str, reason: str, revoked_at: dt.datetime) -> dt.datetime:
        """Revoke the certificate `serial_number` (upper-case hex) with an RFC 5280 reason
        (cryptography's ReasonFlags value, « keyCompromise »…), as of `revoked_at`; the
        revocation time the CA recorded. Idempotent: a certificate the CA has already
        revoked is not an error (its first time is returned). CAError when the CA refuses
        (a serial it never issued) or cannot be reached."""

    @abc.abstractmethod
    def status(self, serial_number: str) -> CertificateStatus | None:
        """What the CA says of `serial_number`: good or revoked (time, reason); None for a
        serial it never issued. CAError when it cannot be reached."""

    def ready(self) -> str:
        """Whether the CA can serve now, for the readiness probe (/readyz): a short French
        description when it can, CAError when it cannot. Cheap: no issuance, no signing."""
        return f"AC « {self.name} »"


class LocalCABackend(CABackend):
    name = "local"

    def __init__(self, directory: Path, passphrase: str) -> None:
        self.ca = LocalCA(directory, passphrase)

    def issue_from_csr(
        self, subject: SubjectIdentity, profile: CertificateProfile, csr_der: bytes
    ) -> IssuedCertificate:
        return self.ca.issue_from_csr(subject, profile, csr_der)

    def revoke(self, serial_number: str, reason: str, revoked_at: dt.datetime) -> dt.datetime:
        return ca_revoke(self.ca, _serial(serial_number), _reason(reason), revoked_at).revoked_at

    def status(self, serial_number: str) -> CertificateStatus | None:
        return certificate_status(self.ca, _serial(serial_number))

    def ready(self) -> str:
        path = self.ca.issuing_certificate_path
        if not path.exists():
            # A fresh data directory: the hierarchy is made on the first issuance.
            if not os.access(self.ca.directory.parent, os.W_OK):
                raise CAError(
                    f"répertoire de l'AC non accessible en écriture : {self.ca.directory}"
                )
            return "AC locale : créée à la première émission"
        try:
            certificate = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise CAError(f"certificat de l'AC émettrice illisible ({type(exc).__name__})") from exc
        now = dt.datetime.now(dt.UTC)
        if not certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc:
            raise CAError(
                "certificat de l'AC émettrice hors de sa période de validité "
                f"(jusqu'au {certificate.not_valid_after_utc:%d/%m/%Y})"
            )
        return f"AC locale : émettrice valide jusqu'au {certificate.not_valid_after_utc:%d/%m/%Y}"


def _serial(serial_number: str) -> int:
    try:
        return int(serial_number, 16)
    except ValueError as exc:
        raise CAError(f"numéro de série illisible : {serial_number!r}") from exc


def _reason(reason: str) -> x509.ReasonFlags:
    try:
        flag = x509.ReasonFlags(reason)
    except ValueError as exc:
        raise CAError(f"motif de révocation inconnu : {reason!r}") from exc
    if flag in (x509.ReasonFlags.remove_from_crl, x509.ReasonFlags.certificate_hold):
        # No suspension: a revocation is final (and removeFromCRL is delta-CRL only).
        raise CAError(f"motif de révocation refusé par l'AC : {reason!r}")
    return flag


class FailingCABackend(CABackend):
    """Fails the first `failures` calls in this process (all of them when None)."""

    name = "failing"
    _lock = threading.Lock()
    _calls = 0

    def __init__(self, failures: int | None, fallback: CABackend) -> None:
        self.failures = failures
        self.fallback = fallback

    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls._calls = 0

    def _count_call(self) -> None:
        with self._lock:
            type(self)._calls += 1
            calls = type(self)._calls
        if self.failures is None or calls <= self.failures:
            raise CAError("AC indisponible (backend de test « failing »)")

    def issue_from_csr(
        self, subject: SubjectIdentity, profile: CertificateProfile, csr_der: bytes
    ) -> IssuedCertificate:
        self._count_call()
        return self.fallback.issue_from_csr(subject, profile, csr_der)

    def revoke(self, serial_number: str, reason: str, revoked_at: dt.datetime) -> dt.datetime:
        self._count_call()
        return self.fallback.revoke(serial_number, reason, revoked_at)

    def status(self, serial_number: str) -> CertificateStatus | None:
        self._count_call()
        return self.fallback.status(serial_number)

    def ready(self) -> str:
        if self.failures is None:
            raise CAError("AC indisponible (backend de test « failing »)")
        return self.fallback.ready()


def ca_passphrase() -> str:
    """RA_WORKBENCH_CA_PASSPHRASE, or one generated once and kept in <data dir>/secrets
    (readable by the service account only), so that a bare `make demo` works."""

    settings = current_app.config["RA_SETTINGS"]
    return str(settings.ca_passphrase or _persistent_secret(settings.data_dir, "ca_passphrase"))


def get_backend(name: str | None = None) -> CABackend:
    name = name or issuance_config().backend
    settings = current_app.config["RA_SETTINGS"]
    local = LocalCABackend(settings.ca_dir, ca_passphrase())
    if name == "local":
        return local
    if name == "failing":
        return FailingCABackend(None, local)
    if name.startswith("failing:"):
        return FailingCABackend(int(name.partition(":")[2]), local)
    raise CAError(f"backend d'AC inconnu : {name!r}")
