"""What the local CA publishes: the issuing CA's certificate, its CRL and OCSP answers, read
by relying parties at the URLs every holder certificate carries (rules/issuance.toml
[publication]; routes in issuance/public.py).

The local CA's own database (ca.py, `index.jsonl`) is the one source, as a production CA's
is its own: the CRL is signed from it, and a CRL on disk that no longer matches it (a
revocation since, a CRL past half its validity) is signed again before it is served. A
revocation (issuance.service.revoke, through the CA backend) defers `refresh_crl` so that
the file follows at once; the schedule (rules/jobs.toml) keeps it fresh between
revocations. Neither the database nor the register is read here.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask import current_app

from ra_workbench.db import utcnow
from ra_workbench.issuance.backends import ca_passphrase
from ra_workbench.issuance.ca import (
    LocalCA,
    Revoked,
    certificate_status,
    crl,
    ocsp_response,
    revoked_certificates,
)
from ra_workbench.issuance.config import issuance_config


def local_ca() -> LocalCA:
    return LocalCA(current_app.config["RA_SETTINGS"].ca_dir, ca_passphrase())


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


def current_crl(*, now: dt.datetime | None = None, force: bool = False) -> bytes:
    """The CRL (DER) as the CA's database stands: the one on disk while it still matches
    it and has more than half its validity left, else a new one."""
    now = now or utcnow()
    ca = local_ca()
    revoked = revoked_certificates(ca, now=now)
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


def ocsp_answer(request_der: bytes, *, now: dt.datetime | None = None) -> bytes:
    """The DER OCSP response to `request_der`: good, revoked or unknown from the CA's
    database."""
    hours = issuance_config().ocsp_next_update_hours
    ca = local_ca()
    return ocsp_response(
        ca,
        request_der,
        lambda serial: certificate_status(ca, serial),
        now=now,
        next_update=dt.timedelta(hours=hours),
    )
