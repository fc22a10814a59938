"""Revocation as relying parties see it, through OpenSSL against the running workbench (a
real HTTP server in a thread, as the browser tests run it): `openssl ocsp` says good, then
revoked once the certificate is revoked; `openssl verify -crl_check` with the CRL fetched
from the distribution point passes, then fails with « certificate revoked »."""

from __future__ import annotations

import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from ra_workbench.certificates.models import Certificate
from ra_workbench.extensions import db
from ra_workbench.issuance import service
from ra_workbench.issuance.config import CRL_PATH, OCSP_PATH
from ra_workbench.issuance.publication import local_ca
from tests.factories import make_approved_dossier


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="pki-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def files(app: Flask, tmp_path: Path) -> dict[str, Path]:
    """A certificate issued through the flow, committed; the CA files beside it."""
    dossier = make_approved_dossier(db.session)
    assert service.issue_certificate(db.session, dossier.id).state == "issued"
    db.session.commit()
    certificate = db.session.scalars(
        sa.select(Certificate).where(Certificate.dossier_id == dossier.id)
    ).one()
    ca = local_ca()
    paths = {name: tmp_path / f"{name}.pem" for name in ("holder", "issuing", "chain")}
    paths["holder"].write_text(certificate.pem)
    paths["issuing"].write_bytes(ca.issuing_certificate_path.read_bytes())
    paths["chain"].write_text(ca.chain_pem())
    return paths


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args], capture_output=True, text=True, check=False, timeout=60
    )


def _ocsp(live: str, files: dict[str, Path]) -> str:
    done = _openssl(
        "ocsp",
        "-issuer",
        str(files["issuing"]),
        "-cert",
        str(files["holder"]),
        "-CAfile",
        str(files["chain"]),
        "-url",
        live + OCSP_PATH,
        "-resp_text",
    )
    assert done.returncode == 0, done.stderr
    assert "Response verify OK" in done.stderr
    return done.stdout


def _verify_with_crl(
    live: str, files: dict[str, Path], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    with urllib.request.urlopen(live + CRL_PATH, timeout=30) as answer:  # noqa: S310 - our server
        assert answer.headers["Content-Type"] == "application/pkix-crl"
        der = answer.read()
    crl = tmp_path / "crl.pem"
    converted = subprocess.run(
        ["openssl", "crl", "-inform", "DER", "-out", str(crl)],
        input=der,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert converted.returncode == 0, converted.stderr
    return _openssl(
        "verify",
        "-crl_check",
        "-CAfile",
        str(files["chain"]),
        "-CRLfile",
        str(crl),
        str(files["holder"]),
    )


def _certificate_id(files: dict[str, Path]) -> int:
    pem = files["holder"].read_text()
    return db.session.scalars(sa.select(Certificate.id).where(Certificate.pem == pem)).one()


def test_openssl_ocsp_says_good_before_and_revoked_after_a_revocation(
    live: str, files: dict[str, Path]
) -> None:
    before = _ocsp(live, files)
    assert f"{files['holder']}: good" in before
    assert "Cert Status: good" in before

    service.revoke(db.session, _certificate_id(files), "keyCompromise", "operateur@example.fr")
    db.session.commit()

    after = _ocsp(live, files)
    assert f"{files['holder']}: revoked" in after
    assert "Cert Status: revoked" in after
    assert "Revocation Reason: keyCompromise (0x1)" in after


def test_openssl_verify_with_the_crl_passes_before_and_fails_after_a_revocation(
    live: str, files: dict[str, Path], tmp_path: Path
) -> None:
    before = _verify_with_crl(live, files, tmp_path)
    assert before.returncode == 0, before.stderr
    assert before.stdout.strip().endswith(": OK")

    service.revoke(db.session, _certificate_id(files), "affiliationChanged", "operateur@example.fr")
    db.session.commit()

    after = _verify_with_crl(live, files, tmp_path)
    assert after.returncode != 0
    assert "certificate revoked" in after.stderr + after.stdout
