"""One evidence record per person (REG-6.4.5-04; REQUIREMENTS 2, 3, 10): written at the
approval or the second approval, never rewritten, still read after the purge, exported
signed for auditors (detached CMS by the RA's evidence seal, checked with OpenSSL)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from flask import Flask, g
from flask.testing import FlaskClient

from ra_workbench.audit.models import AuditEvent
from ra_workbench.checks.models import CheckRun
from ra_workbench.checks.service import evaluate_dossier
from ra_workbench.db import utcnow
from ra_workbench.documents.models import Extraction
from ra_workbench.documents.retention import DueDossier, delete_blobs, mark_due, purgeable_digests
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.issuance.ca import DOCUMENT_SIGNING_EKU, EVIDENCE_SEAL_COMMON_NAME, LocalCA
from ra_workbench.issuance.seal import LocalEvidenceSeal
from ra_workbench.jobs.rules import current_job_rules
from ra_workbench.review.claims import claim
from ra_workbench.review.cli import evidence_group
from ra_workbench.review.decisions import approve, request_override, second_approval
from ra_workbench.review.evidence import SignedExport, evidence_for, export, export_seal
from ra_workbench.review.models import EvidenceIsInsertOnly, RegistrationEvidence
from tests.auth import sign_in
from tests.checks.test_service import FakeExtractor, complete_dossier, mrz_result, sign
from tests.factories import make_user

CLAIM = 60
DAY = dt.date(2026, 11, 22)  # the signatures are of 2026-11-21, the Kbis of 2026-11-01


def _checked(fake: FakeExtractor, day: dt.date = DAY) -> tuple[Dossier, CheckRun]:
    dossier = complete_dossier(fake)
    sign(dossier, "holder")
    sign(dossier, "legal_representative", minutes=1)
    return dossier, evaluate_dossier(db.session, dossier.id, trigger="ingest", at=day)


def _approved(fake: FakeExtractor) -> tuple[Dossier, CheckRun]:
    dossier, run = _checked(fake)
    operator = make_user(db.session, email="olivia.perrin@certeurope.test")
    claim(db.session, dossier.id, operator, claim_minutes=CLAIM)
    approve(db.session, dossier.id, operator, check_run_id=run.id, claim_minutes=CLAIM, today=DAY)
    return dossier, run


def _by_role(dossier: Dossier) -> dict[str, RegistrationEvidence]:
    return {row.person_role: row for row in evidence_for(db.session, dossier.id)}


def _export(dossier: Dossier) -> SignedExport:
    return export(
        db.session,
        dossier,
        seal=export_seal(),
        exported_by="sophie.blanc@certeurope.test",
        now=utcnow(),
    )


def _unzipped(data: bytes, directory: Path) -> dict[str, Path]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(directory)
        return {name: directory / name for name in archive.namelist()}


def _openssl_verify(content: Path, chain: Path) -> subprocess.CompletedProcess[str]:
    """What the README tells an auditor to run (LISEZ-MOI.txt in the zip says the same)."""
    return subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            f"{content}.p7s",
            "-content",
            str(content),
            "-CAfile",
            str(chain),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _one_byte_changed(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert len(old) == len(new) == 1
    assert old in data
    path.write_bytes(data.replace(old, new, 1))


def test_the_approval_writes_one_evidence_record_per_person(
    app: Flask, extractor: FakeExtractor
) -> None:
    dossier, run = _approved(extractor)
    rows = _by_role(dossier)
    assert set(rows) == {"holder", "legal_representative"}
    holder = rows["holder"]
    assert (holder.full_name, holder.name_source) == ("DURAND CLAIRE MARIE", "mrz")
    assert holder.birth_date == dt.date(1985, 4, 12)
    assert (holder.document_number, holder.issuing_state) == ("X4RTBPFW4", "FRA")
    assert holder.expiry_date == dt.date(2031, 3, 1)
    assert holder.validation["mrz"]["check_digits_valid"] is True
    assert holder.validation["gosign"]["evidence_id"] == "GS-hold-0"
    assert holder.validation["gosign"]["at"] == "2026-11-21T09:00:00+00:00"
    # The remote identity check's own outcome (GoSign Self ID), which the copies only support.
    assert holder.validation["gosign"]["status"] == "signed"
    assert holder.validation["gosign"]["identity_verification"] == "self_id_passed"
    assert (holder.check_run_id, holder.rules_hash) == (run.id, run.rules_hash)
    assert holder.decided_by == holder.accepted_by == "olivia.perrin@certeurope.test"
    assert holder.seconded_by is None
    digests = {d["sha256"] for d in holder.documents}
    assert {
        d.sha256 for d in dossier.current_documents() if d.person_role != "legal_representative"
    } <= digests
    assert rows["legal_representative"].full_name == "MOREL PAUL"
    assert rows["legal_representative"].validation["gosign"]["evidence_id"] == "GS-lega-1"


BELGIAN_CARD = mrz_result(
    "MOREL",
    "PAUL",
    document_number="592123456",
    issuing_state="BEL",
    nationality="BEL",
    sex="M",
)
VISUAL_CHECK = "Carte d'identité belge examinée : émetteur reconnu, photo et hologramme conformes"


def test_the_record_says_which_document_and_what_the_operator_checked_by_eye(
    app: Flask, extractor: FakeExtractor
) -> None:
    """Claire DURAND shows a French identity card, Paul MOREL a Belgian one: a foreign card
    goes to an operator, who looks at it and says what she saw. Each person's record names
    the type of document and carries her visual check, and only that person's."""
    dossier = complete_dossier(extractor)
    extractor.by_content[f"{dossier.order_number}:passeport-morel-p1.jpg".encode()] = {
        "mrz": BELGIAN_CARD
    }
    sign(dossier, "holder")
    sign(dossier, "legal_representative", minutes=1)
    run = evaluate_dossier(db.session, dossier.id, trigger="ingest", at=DAY)
    manual = [r for r in run.results if r.outcome == "manual"]
    assert [(r.rule, r.person_role) for r in manual] == [
        ("identity.document_type", "legal_representative")
    ]
    operator = make_user(db.session, email="olivia.perrin@certeurope.test")
    claim(db.session, dossier.id, operator, claim_minutes=CLAIM)
    approve(
        db.session,
        dossier.id,
        operator,
        check_run_id=run.id,
        confirmations={manual[0].id: VISUAL_CHECK},
        claim_minutes=CLAIM,
        today=DAY,
    )

    db.session.expire_all()
    rows = _by_role(dossier)
    holder, representative = rows["holder"], rows["legal_representative"]
    assert holder.document_type == "cnie"  # the French electronic identity card
    assert representative.document_type == "identity_card"  # another state's card
    assert (representative.document_number, representative.issuing_state) == (
        "592123456",
        "BEL",
    )
    assert representative.validation["visual_checks"] == [
        {"rule": "identity.document_type", "comment": VISUAL_CHECK}
    ]
    assert representative.validation["results"]["identity.document_type"] == "manual"
    assert holder.validation["visual_checks"] == []  # nothing was looked at by eye for her
    assert holder.validation["results"]["identity.document_type"] == "pass"

    # The auditors' export carries the same two fields.
    exported = {r["person_role"]: r for r in json.loads(_export(dossier).body)["records"]}
    assert exported["legal_representative"]["document_type"] == "identity_card"
    assert exported["legal_representative"]["validation"]["visual_checks"] == [
        {"rule": "identity.document_type", "comment": VISUAL_CHECK}
    ]
    assert exported["holder"]["document_type"] == "cnie"


def test_the_evidence_is_not_rewritten_by_a_later_run_and_refuses_changes(
    app: Flask, extractor: FakeExtractor
) -> None:
    dossier, _ = _approved(extractor)
    before = {role: (r.id, r.full_name, r.check_run_id) for role, r in _by_role(dossier).items()}
    extractor.by_content.clear()  # a later reading finds nothing
    evaluate_dossier(db.session, dossier.id, trigger="manual", at=DAY + dt.timedelta(days=1))
    db.session.expire_all()
    after = {role: (r.id, r.full_name, r.check_run_id) for role, r in _by_role(dossier).items()}
    assert after == before

    row = _by_role(dossier)["holder"]
    row.full_name = "AUTRE NOM"
    with pytest.raises(EvidenceIsInsertOnly):
        db.session.flush()
    db.session.rollback()


def _override_seconded(fake: FakeExtractor) -> Dossier:
    day = dt.date(2027, 2, 2)  # the Kbis is over 3 months old
    dossier, run = _checked(fake, day)
    operator = make_user(db.session, email="nicolas.roux@certeurope.test")
    claim(db.session, dossier.id, operator, claim_minutes=CLAIM)
    request_override(
        db.session,
        dossier.id,
        operator,
        check_run_id=run.id,
        justification="Kbis de 3 mois et 1 jour, société connue, renouvellement",
        claim_minutes=CLAIM,
        today=day,
    )
    supervisor = make_user(db.session, role="supervisor", email="sophie.blanc@certeurope.test")
    claim(db.session, dossier.id, supervisor, claim_minutes=CLAIM)
    second_approval(db.session, dossier.id, supervisor, claim_minutes=CLAIM, today=day)
    return dossier


def test_the_second_approval_records_who_decided_and_who_seconded(
    app: Flask, extractor: FakeExtractor
) -> None:
    dossier = _override_seconded(extractor)
    rows = evidence_for(db.session, dossier.id)
    assert {r.person_role for r in rows} == {"holder", "legal_representative"}
    for row in rows:
        assert row.decided_by == "nicolas.roux@certeurope.test"
        assert row.seconded_by == "sophie.blanc@certeurope.test"


def _page(client: FlaskClient, dossier: Dossier) -> str:
    g.pop("_login_user", None)
    response = client.get(f"/validation/dossiers/{dossier.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_evidence_survives_the_purge_of_the_identity_copies(
    app: Flask, client: FlaskClient, extractor: FakeExtractor
) -> None:
    dossier, _ = _approved(extractor)
    rules = current_job_rules().retention
    mark_due(db.session, DueDossier(dossier.id, "rejected", DAY), rules=rules)
    delete_blobs(db.session, purgeable_digests(db.session))
    identity = [d.sha256 for d in dossier.current_documents() if d.type == "identity"]
    assert not db.session.scalars(
        sa.select(Extraction).where(Extraction.sha256.in_(identity))
    ).all()
    supervisor = make_user(db.session, role="supervisor")
    db.session.commit()

    sign_in(client, supervisor)
    page = _page(client, dossier)
    assert "Preuves d&#39;enregistrement" in page or "Preuves d'enregistrement" in page
    for text in ("DURAND CLAIRE MARIE", "12/04/1985", "X4RTBPFW4", "01/03/2031", "GS-hold-0"):
        assert text in page
    assert "olivia.perrin@certeurope.test" in page
    assert "preuves.zip" in page


def test_the_export_verifies_and_a_modified_export_does_not(
    app: Flask, client: FlaskClient, extractor: FakeExtractor, tmp_path: Path
) -> None:
    """An auditor checks the downloaded zip with the real `openssl cms -verify` against its
    chain, with no key of ours; one changed byte in the JSON and OpenSSL refuses it."""
    dossier, _ = _approved(extractor)
    supervisor = make_user(db.session, role="supervisor")
    operator = make_user(db.session)
    db.session.commit()

    sign_in(client, operator)
    g.pop("_login_user", None)
    assert client.get(f"/validation/dossiers/{dossier.id}/preuves.zip").status_code == 403

    client2 = app.test_client()
    sign_in(client2, supervisor)
    g.pop("_login_user", None)
    response = client2.get(f"/validation/dossiers/{dossier.id}/preuves.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    disposition = response.headers["Content-Disposition"]
    assert f'attachment; filename="preuves-{dossier.order_number}.zip"' == disposition
    name = f"preuves-{dossier.order_number}.json"
    files = _unzipped(response.get_data(), tmp_path)
    assert set(files) == {name, f"{name}.p7s", "chaine.pem", "LISEZ-MOI.txt"}
    assert "openssl cms -verify -binary -inform DER" in files["LISEZ-MOI.txt"].read_text()
    body = json.loads(files[name].read_bytes())
    assert {r["full_name"] for r in body["records"]} == {"DURAND CLAIRE MARIE", "MOREL PAUL"}

    verified = _openssl_verify(files[name], files["chaine.pem"])
    assert verified.returncode == 0, verified.stderr
    assert "Verification successful" in verified.stderr

    _one_byte_changed(files[name], b"X4RTBPFW4"[:1], b"Y")
    refused = _openssl_verify(files[name], files["chaine.pem"])
    assert refused.returncode != 0
    assert "Verification failure" in refused.stderr

    db.session.expire_all()
    (entry,) = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.event_type == "review.evidence_exported")
    ).all()
    assert entry.actor == supervisor.email
    assert entry.payload["records"] == 2
    original = _unzipped(response.get_data(), tmp_path / "original")[name].read_bytes()
    assert entry.payload["sha256"] == hashlib.sha256(original).hexdigest()


def test_the_signer_is_the_ra_evidence_seal_issued_by_the_local_ca(
    app: Flask, extractor: FakeExtractor
) -> None:
    dossier, _ = _approved(extractor)
    first, second = _export(dossier), _export(dossier)
    signers = [pkcs7.load_der_pkcs7_certificates(e.signature) for e in (first, second)]
    ca = LocalCA(app.config["RA_SETTINGS"].ca_dir, "unused")
    issuing = x509.load_pem_x509_certificate(ca.issuing_certificate_path.read_bytes())
    root = ca.root_certificate()
    assert first.chain_pem == ca.chain_pem()

    (seal,) = [c for c in signers[0] if c not in (issuing, root)]
    assert seal.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        EVIDENCE_SEAL_COMMON_NAME
    )
    assert EVIDENCE_SEAL_COMMON_NAME == "RA Workbench — cachet des preuves d'enregistrement"
    seal.verify_directly_issued_by(issuing)
    assert {issuing, root} <= set(signers[0])  # the chain travels with the signature
    usage = seal.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment
    assert not usage.value.key_cert_sign
    purposes = seal.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert [p.dotted_string for p in purposes] == [DOCUMENT_SIGNING_EKU]
    assert not seal.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # Created on first use, then the same seal signs every export.
    assert seal in signers[1]
    assert ca.evidence_seal_certificate_path.exists()


def test_the_auditors_command_checks_the_seal_of_an_export(
    app: Flask, extractor: FakeExtractor, tmp_path: Path
) -> None:
    dossier, _ = _approved(extractor)
    kept = tmp_path / "preuves.zip"
    kept.write_bytes(_export(dossier).zip())
    files = _unzipped(kept.read_bytes(), tmp_path / "unzipped")
    name = f"preuves-{dossier.order_number}.json"

    runner = app.test_cli_runner()
    ok = runner.invoke(evidence_group, ["verify", str(kept)])
    assert ok.exit_code == 0, ok.output
    assert "signature valide, export intact" in ok.output
    assert EVIDENCE_SEAL_COMMON_NAME in ok.output
    alone = runner.invoke(evidence_group, ["verify", str(files[name])])  # its .p7s beside it
    assert alone.exit_code == 0, alone.output

    _one_byte_changed(files[name], b"2031"[:1], b"3")
    refused = runner.invoke(evidence_group, ["verify", str(files[name])])
    assert refused.exit_code == 1
    assert "signature refusée" in refused.output
    assert "le fichier de preuves a été modifié" in refused.output


def test_the_auditors_command_refuses_a_seal_from_another_authority(
    app: Flask, extractor: FakeExtractor, tmp_path: Path
) -> None:
    """Whoever sets up a CA of their own, with the same names, cannot pass for our seal."""
    dossier, _ = _approved(extractor)
    forged = export(
        db.session,
        dossier,
        seal=LocalEvidenceSeal(LocalCA(tmp_path / "other-ca", "autre-phrase")),
        exported_by="sophie.blanc@certeurope.test",
        now=utcnow(),
    )
    kept = tmp_path / "preuves.zip"
    kept.write_bytes(forged.zip())
    refused = app.test_cli_runner().invoke(evidence_group, ["verify", str(kept)])
    assert refused.exit_code == 1
    assert "chaîne de certification rompue" in refused.output
    assert "n'est pas émis par l'AC locale" in refused.output
