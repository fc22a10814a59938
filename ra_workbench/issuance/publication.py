"""Revocation status published from the register: the issuing CA's certificate, its CRL and
OCSP answers, read by relying parties at the URLs every holder certificate carries (rules/
issuance.toml [publication]; routes in issuance/public.py).

The register (`Certificate.revoked_at`, `revocation_reason`) is the one source: the CRL is
signed from it, and a CRL on disk that no longer matches it (a revocation since, a CRL past
half its validity) is signed again before it is served. A revocation defers `refresh_crl`
so that the file follows at once; the schedule (rules/jobs.toml) keeps it fresh between
revocations. The local CA holds the keys (ca.py); nothing here writes to the database.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask import current_app
from sqlalchemy.orm import Session

from ra_workbench.certificates.models import Certificate
from ra_workbench.db import utcnow
from ra_workbench.issuance.backends import ca_passphrase
from ra_workbench.issuance.ca import LocalCA, OCSPStatus, Revoked, crl, ocsp_response
from ra_workbench.issuance.config import issuance_config


def local_ca() -> LocalCA:
    return LocalCA(current_app.config["RA_SETTINGS"].ca_dir, ca_passphrase())


def _revoked(session: Session, now: dt.datetime) -> list[Revoked]:
    """Revoked certificates not yet expired (RFC 5280 5.1.2.6: an entry may leave the CRL
    once the certificate has expired)."""
    rows = session.execute(
        sa.select(Certificate.serial_number, Certificate.revoked_at, Certificate.revocation_reason)
        .where(Certificate.revoked_at.is_not(None), Certificate.not_after > now)
        .order_by(Certificate.id)
    ).all()
    return [
        Revoked(
            serial_number=int(serial, 16),
            revoked_at=revoked_at,
            reason=x509.ReasonFlags(reason or x509.ReasonFlags.unspecified.value),
        )
        for serial, revoked_at, reason in rows
        if revoked_at is not None
    ]


def _stale(stored: bytes, revoked: list[Revoked], now: dt.datetime) -> bool:
    current = x509.load_der_x509_crl(stored)
    next_update = current.next_update_utc
    if next_update is None:
        return True
    half = (next_update - current.last_update_utc) / 2
    if now >= current.last_update_utc + half:
        return True
    listed = {entry.serial_number for entry in current}
    return listed != {entry.serial_number for entry in revoked}


def current_crl(session: Session, *, now: dt.datetime | None = None, force: bool = False) -> bytes:
    """The CRL (DER) as the register stands: the one on disk while it still matches the
    register and has more than half its validity left, else a new one."""
    now = now or utcnow()
    ca = local_ca()
    revoked = _revoked(session, now)
    path = ca.directory / "issuing.crl"
    if not force and path.exists():
        stored = path.read_bytes()
        if not _stale(stored, revoked, now):
            return stored
    hours = issuance_config().crl_next_update_hours
    return crl(ca, revoked, now=now, next_update=dt.timedelta(hours=hours))


def issuing_ca_der() -> bytes:
    """The issuing CA's certificate (DER), as the AIA caIssuers URL serves it."""
    ca = local_ca()
    ca.ensure()
    return x509.load_pem_x509_certificate(ca.issuing_certificate_path.read_bytes()).public_bytes(
        serialization.Encoding.DER
    )


def _status_of(session: Session, serial_number: int) -> OCSPStatus | None:
    certificate = session.scalar(
        sa.select(Certificate).where(Certificate.serial_number == f"{serial_number:X}")
    )
    if certificate is None:
        return None
    if certificate.revoked_at is None:
        return OCSPStatus()
    reason = x509.ReasonFlags(certificate.revocation_reason or "unspecified")
    return OCSPStatus(Revoked(serial_number, certificate.revoked_at, reason))


def ocsp_answer(session: Session, request_der: bytes, *, now: dt.datetime | None = None) -> bytes:
    """The DER OCSP response to `request_der`: good, revoked or unknown from the register."""
    hours = issuance_config().ocsp_next_update_hours
    return ocsp_response(
        local_ca(),
        request_der,
        lambda serial: _status_of(session, serial),
        now=now,
        next_update=dt.timedelta(hours=hours),
    )
