"""The certificates judged from outside: DigiCert's pkilint, its ETSI linter for the qualified
natural-person profile on a QSCD (EN 319 412-2/-5, the type it also detects from our policy
and statements) on a holder certificate issued through the real flow (a generated dossier
approved and issued), its PKIX linter on that certificate, on the CA's own and on the OCSP
responder's, and its CRL and OCSP response linters on what the workbench publishes. No ERROR
and no WARNING is tolerated."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from flask import Flask

from ra_workbench.certificates.models import Certificate
from ra_workbench.extensions import db
from ra_workbench.issuance import service
from ra_workbench.issuance.backends import get_backend
from ra_workbench.issuance.ca import ocsp_responder
from ra_workbench.issuance.service import issue_certificate
from tests.factories import make_approved_dossier

PROFILE = "QCP-N-QSCD-EIDAS-FINAL-CERTIFICATE"


def _findings(tool: str, pem: Path, *args: str) -> set[str]:
    linter = Path(sys.executable).with_name(tool)
    done = subprocess.run(
        [str(linter), "lint", *args, "-s", "WARNING", "-f", "JSON", str(pem)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1, 2, 3), done.stderr  # 0 clean, >0 findings found
    results = json.loads(done.stdout)["results"] if done.stdout.strip() else []
    return {
        f"{finding['code']} ({finding['severity']})"
        for result in results
        for finding in result["finding_descriptions"]
    }


@pytest.fixture
def issued(app: Flask, tmp_path: Path) -> dict[str, Path]:
    dossier = make_approved_dossier(db.session)
    issue_certificate(db.session, dossier.id)
    certificate = db.session.scalars(
        sa.select(Certificate).where(Certificate.dossier_id == dossier.id)
    ).one()
    ca = get_backend("local").ca  # type: ignore[attr-defined]
    _, responder = ocsp_responder(ca)
    paths = {
        "holder": tmp_path / "holder.pem",
        "issuing": ca.issuing_certificate_path,
        "root": ca.root_certificate_path,
        "ocsp_responder": tmp_path / "ocsp-responder.pem",
    }
    paths["ocsp_responder"].write_bytes(responder.public_bytes(serialization.Encoding.PEM))
    paths["holder"].write_text(certificate.pem)
    return paths


def test_the_holder_certificate_passes_the_etsi_linter_for_its_profile(
    issued: dict[str, Path],
) -> None:
    assert _findings("lint_etsi_cert", issued["holder"], "-t", PROFILE) == set()
    # The linter detects the same profile from the certificate's policy and statements.
    linter = str(Path(sys.executable).with_name("lint_etsi_cert"))
    detected = subprocess.run(
        [linter, "lint", "-d", "-o", "-s", "WARNING", str(issued["holder"])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert PROFILE in detected.stderr
    assert _findings("lint_etsi_cert", issued["holder"], "-d") == set()


@pytest.mark.parametrize("which", ["holder", "issuing", "root", "ocsp_responder"])
def test_the_holder_and_ca_certificates_pass_the_pkix_linter(
    issued: dict[str, Path], which: str
) -> None:
    assert _findings("lint_pkix_cert", issued[which]) == set()


def test_the_published_crl_passes_the_pkix_crl_linter(
    app: Flask, issued: dict[str, Path], tmp_path: Path
) -> None:
    certificate = db.session.scalars(sa.select(Certificate)).one()
    service.revoke(db.session, certificate.id, "keyCompromise", "operateur@example.fr")
    db.session.commit()
    crl = tmp_path / "issuing.crl"
    crl.write_bytes(app.test_client().get("/pki/ac-emettrice.crl").data)
    assert _findings("lint_crl", crl, "-t", "CRL", "-p", "PKIX") == set()


def test_an_ocsp_answer_passes_the_ocsp_response_linter(
    app: Flask, issued: dict[str, Path], tmp_path: Path
) -> None:
    holder = x509.load_pem_x509_certificate(issued["holder"].read_bytes())
    issuer = x509.load_pem_x509_certificate(issued["issuing"].read_bytes())
    request = ocsp.OCSPRequestBuilder().add_certificate(holder, issuer, hashes.SHA256()).build()
    answer = app.test_client().post(
        "/pki/ocsp",
        data=request.public_bytes(serialization.Encoding.DER),
        content_type="application/ocsp-request",
    )
    response = tmp_path / "answer.der"
    response.write_bytes(answer.data)
    assert _findings("lint_ocsp_response", response) == set()
