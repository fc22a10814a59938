"""Running the checks on stored dossiers: runs, verdicts, the cache, the audit trail, the CLI.

The extractor is replaced by a recording stand-in that returns what a read of each file
would give, so these tests are about the service, not OCR (the acceptance tests use the
real extractor on generated packages).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from ra_workbench import extraction
from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.models import Certificate
from ra_workbench.checks.models import CheckResult, CheckRun
from ra_workbench.checks.service import (
    customer_requests,
    evaluate_dossier,
    latest_run,
)
from ra_workbench.documents.models import Document, Extraction
from ra_workbench.documents.store import put_blob
from ra_workbench.dossiers.models import Dossier, SignatureEvent
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from tests.factories import make_dossier, make_issuance_request

TODAY = dt.date(2026, 11, 20)


def mrz_result(surname: str, given: str, *, birth: str = "1985-04-12", **extra: Any) -> dict:
    return {
        "format": "TD1",
        "document_code": "ID",
        "issuing_state": "FRA",
        "document_number": "X4RTBPFW4",
        "surname": surname,
        "given_names": given,
        "nationality": "FRA",
        "birth_date": birth,
        "sex": "F",
        "expiry_date": "2031-03-01",
        "expiry_derived": False,
        "checks": {"document_number": True, "birth_date": True, "expiry_date": True},
        "valid": True,
        "lines": ["<redacted>"],
        "location": {"page": 1, "rotation": 0},
        "confidence": 0.98,
    } | extra


def kbis_result(**extra: Any) -> dict:
    return {
        "kind": "kbis",
        "date": "2026-11-01",
        "siren": "732829320",
        "name": "ATELIERS MOREL",
        "legal_form": "SAS",
        "managers": [{"role": "Président", "surname": "MOREL", "given_names": "PAUL"}],
    } | extra


@dataclass
class FakeExtractor:
    """Stands in for extract_document: one canned result per file content, calls counted."""

    by_content: dict[bytes, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    crash_on: set[bytes] = field(default_factory=set)

    def __call__(
        self, data: bytes, kind: str | None, *, filename: str | None = None, today: Any = None
    ) -> dict[str, Any]:
        self.calls.append(filename or "")
        if data in self.crash_on:
            raise RuntimeError("extractor crashed")
        read = self.by_content.get(data, {})
        return {
            "file": filename,
            "type": kind,
            "media_type": "image/jpeg",
            "pages": 1,
            "mrz": read.get("mrz"),
            "kbis": read.get("kbis"),
            "mandate": read.get("mandate"),
            "error": read.get("error"),
            "seconds": 0.01,
        }


@pytest.fixture
def extractor(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeExtractor]:
    fake = FakeExtractor()
    monkeypatch.setattr(extraction, "extract_document", fake, raising=False)
    if not hasattr(extraction, "EXTRACTOR_VERSION"):
        monkeypatch.setattr(extraction, "EXTRACTOR_VERSION", "test-1", raising=False)
    return fake


def add_document(
    dossier: Dossier,
    extractor: FakeExtractor,
    doc_type: str,
    name: str,
    *,
    person: str | None = None,
    side: str | None = None,
    read: dict[str, Any] | None = None,
    media_type: str = "image/jpeg",
) -> Document:
    data = f"{dossier.order_number}:{name}".encode()
    extractor.by_content[data] = read or {}
    digest, _ = put_blob(db.session, data)
    person_row = dossier.person(person) if person else None
    document = Document(
        dossier_id=dossier.id,
        person_id=person_row.id if person_row else None,
        person_role=person,
        type=doc_type,
        side=side,
        original_name=name,
        size=len(data),
        media_type=media_type,
        sha256=digest,
        page_count=1,
        revision=dossier.revision,
    )
    db.session.add(document)
    db.session.flush()
    return document


def complete_dossier(extractor: FakeExtractor, **overrides: Any) -> Dossier:
    """The portal's example order: holder CLAIRE DURAND, legal representative PAUL MOREL."""
    dossier = make_dossier(db.session, **overrides)
    add_document(
        dossier,
        extractor,
        "kbis",
        "kbis-ateliers-morel.pdf",
        media_type="application/pdf",
        read={"kbis": kbis_result()},
    )
    add_document(
        dossier, extractor, "identity", "cni-durand-recto.jpg", person="holder", side="recto"
    )
    add_document(
        dossier,
        extractor,
        "identity",
        "cni-durand-verso.jpg",
        person="holder",
        side="verso",
        read={"mrz": mrz_result("DURAND", "CLAIRE MARIE")},
    )
    add_document(
        dossier,
        extractor,
        "identity",
        "passeport-morel-p1.jpg",
        person="legal_representative",
        side="recto",
        read={"mrz": mrz_result("MOREL", "PAUL", document_code="P", format="TD3", sex="M")},
    )
    add_document(
        dossier,
        extractor,
        "identity",
        "passeport-morel-p2.jpg",
        person="legal_representative",
        side="verso",
    )
    db.session.refresh(dossier)
    return dossier


def sign(dossier: Dossier, signer: str, *, status: str = "signed", minutes: int = 0) -> None:
    db.session.add(
        SignatureEvent(
            dossier_id=dossier.id,
            signer=signer,
            status=status,
            identity_verification="self_id_passed",
            evidence_id=f"GS-{signer[:4]}-{minutes}",
            at=dt.datetime(2026, 11, 21, 9, minutes, tzinfo=dt.UTC),
            payload={},
        )
    )
    db.session.flush()
    db.session.expire(dossier, ["signature_events"])


def outcomes(run: CheckRun) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for result in run.results:
        found.setdefault(result.rule, set()).add(result.outcome)
    return found


def test_a_complete_dossier_waits_for_signatures_and_the_run_records_its_basis(
    app: Flask, extractor: FakeExtractor
) -> None:
    dossier = complete_dossier(extractor)
    run = evaluate_dossier(db.session, dossier.id, trigger="ingest", at=TODAY)

    assert run.verdict == "waiting_signatures"
    assert dossier.verdict == "waiting_signatures"
    assert dossier.verdict_at is not None
    assert run.evaluation_date == TODAY
    assert run.rules_hash == app.config["RA_RULES"].content_hash
    assert run.extractor_version == extraction.EXTRACTOR_VERSION
    assert len(run.inputs_hash) == 64
    assert run.revision == dossier.revision
    found = outcomes(run)
    assert found.pop("signatures.complete") == {"pending"}
    assert all(o == {"pass"} for o in found.values()), found
    stored = db.session.scalar(sa.select(sa.func.count(CheckResult.id)))
    assert stored == len(run.results)


def test_the_check_run_is_audited_without_identity_content(
    app: Flask, extractor: FakeExtractor
) -> None:
    dossier = complete_dossier(extractor)
    run = evaluate_dossier(db.session, dossier.id, trigger="manual", at=TODAY)
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.event_type == "checks.run")
    ).one()
    assert event.dossier_id == dossier.id
    assert event.payload["run_id"] == run.id
    assert event.payload["verdict"] == "waiting_signatures"
    assert event.payload["rules_hash"] == run.rules_hash
    text = json.dumps(event.payload)
    for identity_datum in ("DURAND", "CLAIRE", "1985", "X4RTBPFW4"):
        assert identity_datum not in text


def test_re_evaluating_an_unchanged_dossier_gives_identical_results_and_does_no_ocr(
    app: Flask, extractor: FakeExtractor
) -> None:
    dossier = complete_dossier(extractor)
    first = evaluate_dossier(db.session, dossier.id, trigger="ingest", at=TODAY)
    assert len(extractor.calls) == 5
    assert db.session.scalar(sa.select(sa.func.count(Extraction.id))) == 5

    second = evaluate_dossier(db.session, dossier.id, trigger="schedule", at=TODAY)
    assert len(extractor.calls) == 5
    assert second.id != first.id
    assert second.inputs_hash == first.inputs_hash
    assert [r.to_json() for r in _results(second)] == [r.to_json() for r in _results(first)]


def _results(run: CheckRun) -> list[Any]:
    from ra_workbench.checks.service import stored_results

    return stored_results(run)


def test_identical_files_in_two_dossiers_are_read_once(
    app: Flask, extractor: FakeExtractor
) -> None:
    dossier = complete_dossier(extractor)
    evaluate_dossier(db.session, dossier.id, trigger="ingest", at=TODAY)
    other = make_dossier(db.session)
    # The same Kbis content, uploaded again for another order.
    kbis = next(d for d in dossier.documents if d.type == "kbis")
    db.session.add(
        Document(
            dossier_id=other.id,
            type="kbis",
            original_name="kbis.pdf",
            size=kbis.size,
            media_type=kbis.media_type,
            sha256=kbis.sha256,
            page_count=1,
            revision=1,
        )
    )
    db.session.flush()
    calls = len(extractor.calls)
    evaluate_dossier(db.session, other.id, trigger="ingest", at=TODAY)
    assert len(extractor.calls) == calls


def test_signatures_arriving_make_the_dossier_ready_for_review(
    app: Flask, extractor: FakeExtractor
) -> None:
    dossier = complete_dossier(extractor)
    evaluate_dossier(db.session, dossier.id, trigger="ingest", at=TODAY)
    sign(dossier, "holder")
    assert evaluate_dossier(db.session, dossier.id, trigger="signature", at=TODAY).verdict == (
        "waiting_signatures"
    )
    sign(dossier, "legal_representative")
    run = evaluate_dossier(db.session, dossier.id, trigger="signature", at=TODAY)
    assert run.verdict == "ready"
    assert dossier.verdict == "ready"
    assert latest_run(db.session, dossier.id).id == run.id  # type: ignore[union-attr]


def test_a_later_refusal_event_supersedes_an_earlier_signature_and_blocks(
    app: Flask, extractor: FakeExtractor
) -> None:
    dossier = complete_dossier(extractor)
    sign(dossier, "holder", minutes=0)
    sign(dossier, "holder", status="refused", minutes=30)
    sign(dossier, "legal_representative")
    run = evaluate_dossier(db.session, dossier.id, trigger="signature", at=TODAY)
    assert outcomes(run)["signatures.complete"] == {"fail"}
    assert run.verdict == "blocked"


def test_an_old_kbis_and_an_expired_card_tell_the_customer_what_to_send(
    app: Flask, extractor: FakeExtractor
) -> None:
    dossier = make_dossier(db.session)
    add_document(
        dossier,
        extractor,
        "kbis",
        "kbis.pdf",
        media_type="application/pdf",
        read={"kbis": kbis_result(date="2026-06-30")},
    )
    for role, surname, given in (
        ("holder", "DURAND", "CLAIRE"),
        ("legal_representative", "MOREL", "PAUL"),
    ):
        add_document(
            dossier, extractor, "identity", f"{surname}-recto.jpg", person=role, side="recto"
        )
        add_document(
            dossier,
            extractor,
            "identity",
            f"{surname}-verso.jpg",
            person=role,
            side="verso",
            read={
                "mrz": mrz_result(
                    surname, given, expiry_date="2026-10-01" if role == "holder" else "2031-01-01"
                )
            },
        )
    db.session.refresh(dossier)
    run = evaluate_dossier(db.session, dossier.id, trigger="ingest", at=TODAY)
    assert run.verdict == "incomplete"
    assert dossier.verdict == "incomplete"
    assert customer_requests(db.session, dossier) == [
        "Fournir une pièce d'identité du porteur en cours de validité.",
        "Fournir un extrait Kbis de moins de 3 mois.",
    ]
    # The same evaluation a year earlier finds both documents fine.
    earlier = evaluate_dossier(db.session, dossier.id, trigger="cli", at=dt.date(2026, 7, 15))
    assert "kbis.age" not in {r.rule for r in earlier.results if r.outcome == "fail"}
    assert customer_requests(db.session, dossier) == []


def test_customer_requests_are_empty_once_the_dossier_is_decided(
    app: Flask, extractor: FakeExtractor
) -> None:
    dossier = make_dossier(db.session, documents_valid_attested=False)
    evaluate_dossier(db.session, dossier.id, trigger="ingest", at=TODAY)
    assert customer_requests(db.session, dossier)
    dossier.status = DossierStatus.REJECTED.value
    assert customer_requests(db.session, dossier) == []


def test_an_extractor_crash_blocks_the_dossier_and_is_retried_next_time(
    app: Flask, extractor: FakeExtractor
) -> None:
    dossier = complete_dossier(extractor)
    verso = next(d for d in dossier.documents if d.original_name == "cni-durand-verso.jpg")
    extractor.crash_on.add(f"{dossier.order_number}:cni-durand-verso.jpg".encode())
    run = evaluate_dossier(db.session, dossier.id, trigger="ingest", at=TODAY)
    assert run.verdict == "blocked"
    assert "error" in outcomes(run)["file.readable"]
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(Extraction.sha256 == verso.sha256)) == 0
    )
    extractor.crash_on.clear()
    assert evaluate_dossier(db.session, dossier.id, trigger="manual", at=TODAY).verdict == (
        "waiting_signatures"
    )


def _holder_dossier(
    extractor: FakeExtractor, *, email: str, birth: str, **overrides: Any
) -> Dossier:
    from tests.factories import make_person

    dossier = make_dossier(
        db.session,
        people=[make_person("holder", email=email), make_person("legal_representative")],
        **overrides,
    )
    add_document(
        dossier,
        extractor,
        "identity",
        "verso.jpg",
        person="holder",
        side="verso",
        read={"mrz": mrz_result("DURAND", "CLAIRE MARIE", birth=birth)},
    )
    db.session.refresh(dossier)
    return dossier


def test_the_same_holder_in_another_open_dossier_is_found_by_the_mrz(
    app: Flask, extractor: FakeExtractor
) -> None:
    first = _holder_dossier(extractor, email="claire@a.fr", birth="1985-04-12")
    evaluate_dossier(db.session, first.id, trigger="ingest", at=TODAY)  # caches its MRZ
    second = _holder_dossier(extractor, email="c.durand@b.fr", birth="1985-04-12")
    namesake = _holder_dossier(extractor, email="claire@a.fr", birth="1990-01-01")
    run = evaluate_dossier(db.session, second.id, trigger="ingest", at=TODAY)
    [unique] = [r for r in run.results if r.rule == "holder.unique"]
    assert unique.outcome == "fail"
    assert first.order_number in unique.message
    assert namesake.order_number not in unique.message
    assert run.verdict == "blocked"
    # A refused dossier is no longer open.
    first.status = DossierStatus.REJECTED.value
    db.session.flush()
    run = evaluate_dossier(db.session, second.id, trigger="manual", at=TODAY)
    assert {r.outcome for r in run.results if r.rule == "holder.unique"} == {"pass"}


def test_a_holder_without_readable_mrz_is_matched_by_name_and_email(
    app: Flask, extractor: FakeExtractor
) -> None:
    first = make_dossier(db.session)
    second = make_dossier(db.session)
    run = evaluate_dossier(db.session, second.id, trigger="ingest", at=TODAY)
    [unique] = [r for r in run.results if r.rule == "holder.unique"]
    assert unique.outcome == "fail"
    assert first.order_number in unique.message
    assert unique.evidence["extracted"][0]["basis"] == "name_email"


def test_a_holder_with_a_valid_certificate_is_not_unique_until_it_is_revoked(
    app: Flask, extractor: FakeExtractor
) -> None:
    issued = make_dossier(db.session, status=DossierStatus.DELIVERED.value, order_number="111111")
    certificate = Certificate(
        dossier_id=issued.id,
        issuance_request_id=make_issuance_request(db.session, issued).id,
        serial_number="4F2A01",
        subject_serial="S-1",
        subject="CN=CLAIRE DURAND",
        fingerprint_sha256="ab" * 32,
        not_before=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        not_after=dt.datetime(2028, 1, 1, tzinfo=dt.UTC),
        key_algorithm="EC-P256",
        pem="-----BEGIN CERTIFICATE-----",
        backend="test",
        holder_surname="DURAND",
        holder_given_names="CLAIRE MARIE",
        holder_birth_date=dt.date(1985, 4, 12),
    )
    db.session.add(certificate)
    new = _holder_dossier(extractor, email="other@b.fr", birth="1985-04-12")
    run = evaluate_dossier(db.session, new.id, trigger="ingest", at=TODAY)
    [unique] = [r for r in run.results if r.rule == "holder.unique"]
    assert unique.outcome == "fail"
    assert "certificat 4F2A01" in unique.message
    certificate.revoked_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    db.session.flush()
    run = evaluate_dossier(db.session, new.id, trigger="manual", at=TODAY)
    assert {r.outcome for r in run.results if r.rule == "holder.unique"} == {"pass"}


def test_the_rq_task_evaluates_the_dossier(app: Flask, extractor: FakeExtractor) -> None:
    from ra_workbench.checks.tasks import run_checks

    dossier = complete_dossier(extractor)
    run_checks(dossier.id, "ingest")
    run = latest_run(db.session, dossier.id)
    assert run is not None
    assert run.trigger == "ingest"


def test_the_check_command_prints_the_results_as_json(app: Flask, extractor: FakeExtractor) -> None:
    dossier = complete_dossier(extractor)
    order_number = dossier.order_number
    db.session.commit()
    result = app.test_cli_runner().invoke(
        args=["check", order_number, "--at", "2026-11-20", "--json"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["order_number"] == order_number
    assert body["evaluated_at"] == "2026-11-20"
    assert body["verdict"] == "waiting_signatures"
    assert {r["rule"] for r in body["results"]} >= {"kbis.age", "signatures.complete"}
    assert set(body["results"][0]) == {"rule", "outcome", "message", "evidence"}
    # The command committed its run.
    db.session.remove()
    assert db.session.scalar(sa.select(sa.func.count(CheckRun.id))) == 1


def test_the_check_command_refuses_an_unknown_order(app: Flask, extractor: FakeExtractor) -> None:
    result = app.test_cli_runner().invoke(args=["check", "999999", "--json"])
    assert result.exit_code != 0
    assert "commande inconnue : 999999" in result.output


def test_check_all_pending_re_evaluates_every_undecided_dossier(
    app: Flask, extractor: FakeExtractor
) -> None:
    complete_dossier(extractor)
    make_dossier(db.session, documents_valid_attested=False)
    make_dossier(db.session, status=DossierStatus.APPROVED.value)
    db.session.commit()
    result = app.test_cli_runner().invoke(
        args=["check", "--all-pending", "--at", "2026-11-20", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["evaluated"] == 2
    assert sum(summary["verdicts"].values()) == 2
    db.session.remove()
    assert db.session.scalar(sa.select(sa.func.count(CheckRun.id))) == 2
