"""The RA's evidence seal (issuance/seal.py): issued by the local CA on first use, kept, renewed
once expired; what it signed before stays verifiable at its signing time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ra_workbench.issuance.ca import EVIDENCE_SEAL_VALIDITY_DAYS, LocalCA
from ra_workbench.issuance.seal import LocalEvidenceSeal, verify_detached

CONTENT = b'{"format": "ra-workbench-registration-evidence/1", "records": []}\n'


def test_the_seal_is_issued_once_and_kept_across_processes(tmp_path: Path) -> None:
    first = LocalCA(tmp_path / "ca", "phrase-de-test").evidence_seal()
    again = LocalCA(tmp_path / "ca", "phrase-de-test").evidence_seal()
    assert again.certificate == first.certificate
    assert again.chain[0].subject == first.certificate.issuer
    assert oct((tmp_path / "ca" / "evidence-seal.key.pem").stat().st_mode & 0o777) == "0o600"
    assert b"ENCRYPTED" in (tmp_path / "ca" / "evidence-seal.key.pem").read_bytes()


def test_an_expired_seal_is_renewed_and_older_exports_still_verify(tmp_path: Path) -> None:
    ca = LocalCA(tmp_path / "ca", "phrase-de-test")
    signature = LocalEvidenceSeal(ca).sign(CONTENT)
    old = ca.evidence_seal().certificate
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=EVIDENCE_SEAL_VALIDITY_DAYS + 1)
    renewed = ca.evidence_seal(now=later).certificate
    assert renewed != old
    assert renewed.not_valid_before_utc > old.not_valid_after_utc

    check = verify_detached(CONTENT, signature, root=ca.root_certificate(), now=later)
    assert check.valid, check.problem
    assert verify_detached(CONTENT + b" ", signature, root=ca.root_certificate()).problem


def test_garbage_is_no_signature(tmp_path: Path) -> None:
    ca = LocalCA(tmp_path / "ca", "phrase-de-test")
    ca.ensure()
    check = verify_detached(CONTENT, b"pas une signature", root=ca.root_certificate())
    assert check.problem is not None
    assert "signature illisible" in check.problem
