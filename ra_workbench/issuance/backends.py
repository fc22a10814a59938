"""CA backends behind one interface, chosen by configuration (`[ca] backend` in
rules/issuance.toml or RA_WORKBENCH_CA_BACKEND).

- `local`: the CA on this machine (ra_workbench.issuance.ca), under <data dir>/ca.
- `failing`: refuses every request; `failing:N` refuses the first N requests of the process
  and then issues like `local`. Test doubles for the retry and failed-list paths.
"""

from __future__ import annotations

import abc
import threading
from pathlib import Path

from flask import current_app

from ra_workbench.config import _persistent_secret
from ra_workbench.issuance.ca import (
    CAError,
    CertificateProfile,
    IssuedCertificate,
    LocalCA,
    SubjectIdentity,
)
from ra_workbench.issuance.config import issuance_config


class CABackend(abc.ABC):
    name: str

    @abc.abstractmethod
    def issue(self, subject: SubjectIdentity, profile: CertificateProfile) -> IssuedCertificate:
        """Issue one certificate, or raise CAError with a message an operator can act on."""

    def issue_from_csr(
        self, subject: SubjectIdentity, profile: CertificateProfile, csr_der: bytes
    ) -> IssuedCertificate:
        """Issue for the key of a CSR (PKCS#10, DER) generated and signed on the holder's
        token; the subject is the dossier's, never the CSR's. CAError as for `issue`, and
        from a backend that cannot (the default)."""
        raise CAError(f"le backend d'AC « {self.name} » ne délivre pas sur demande (CSR)")


class LocalCABackend(CABackend):
    name = "local"

    def __init__(self, directory: Path, passphrase: str) -> None:
        self.ca = LocalCA(directory, passphrase)

    def issue(self, subject: SubjectIdentity, profile: CertificateProfile) -> IssuedCertificate:
        return self.ca.issue(subject, profile)

    def issue_from_csr(
        self, subject: SubjectIdentity, profile: CertificateProfile, csr_der: bytes
    ) -> IssuedCertificate:
        return self.ca.issue_from_csr(subject, profile, csr_der)


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

    def issue(self, subject: SubjectIdentity, profile: CertificateProfile) -> IssuedCertificate:
        self._count_call()
        return self.fallback.issue(subject, profile)

    def issue_from_csr(
        self, subject: SubjectIdentity, profile: CertificateProfile, csr_der: bytes
    ) -> IssuedCertificate:
        self._count_call()
        return self.fallback.issue_from_csr(subject, profile, csr_der)


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
