"""Fresh at every step that commits the RA (REG-6.3.1-00B), with a fake clock: the second
approval and the issuance job re-run the checks when their basis is old or something
arrived since; a changed verdict, or an approval too old, sends the dossier back to the
queue with a French explanation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient

from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.models import Certificate
from ra_workbench.checks.models import CheckRun
from ra_workbench.checks.service import evaluate_dossier
from ra_workbench.db import utcnow
from ra_workbench.dossiers.models import Dossier, DossierRevision, SignatureEvent
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.issuance.models import IssuanceRequest
from ra_workbench.issuance.service import RequestState, issue_certificate
from ra_workbench.review.claims import claim
from ra_workbench.review.decisions import Stopped, approve, request_override, second_approval
from ra_workbench.review.models import Decision
from tests.auth import sign_in
from tests.checks.test_service import (
    FakeExtractor,
    add_document,
    complete_dossier,
    kbis_result,
    sign,
)
from tests.factories import make_user

CLAIM = 60


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def _received_before(dossier: Dossier, when: dt.datetime) -> None:
    """What arrived (signatures, revisions) arrived before `when`: the fake clock."""
    for model in (SignatureEvent, DossierRevision):
        db.session.execute(
            sa.update(model).where(model.dossier_id == dossier.id).values(received_at=when)
        )
    db.session.expire_all()


def _checked(extractor: FakeExtractor, day: dt.date) -> tuple[Dossier, CheckRun]:
    dossier = complete_dossier(extractor)
    sign(dossier, "holder")
    sign(dossier, "legal_representative", minutes=1)
    _received_before(dossier, _at(day, 8))
    run = evaluate_dossier(db.session, dossier.id, trigger="ingest", at=day)
    run.created_at = _at(day, 9)
    db.session.flush()
    return dossier, run


def _approved(extractor: FakeExtractor, day: dt.date) -> Dossier:
    dossier, run = _checked(extractor, day)
    assert run.verdict == "ready"
    operator = make_user(db.session)
    claim(db.session, dossier.id, operator, claim_minutes=CLAIM)
    decision = approve(
        db.session, dossier.id, operator, check_run_id=run.id, claim_minutes=CLAIM, today=day
    )
    decision.at = _at(day)
    db.session.flush()
    assert dossier.status == DossierStatus.APPROVED
    return dossier


def _revised(
    dossier: Dossier, extractor: FakeExtractor, received: dt.datetime, kbis: dict[str, Any]
) -> None:
    """The portal's re-export of the order, with another Kbis, as the ingest records a
    revision: the old Kbis superseded, the new one on the next revision, the revision row."""
    for document in dossier.current_documents():
        if document.type == "kbis":
            document.superseded = True
            document.superseded_at = received
    dossier.revision += 1
    add_document(
        dossier,
        extractor,
        "kbis",
        f"kbis-revision-{dossier.revision}.pdf",
        media_type="application/pdf",
        read={"kbis": kbis},
    )
    db.session.add(
        DossierRevision(
            dossier_id=dossier.id,
            revision=dossier.revision,
            received_at=received,
            source="api",
            package_name=f"{dossier.order_number}-r{dossier.revision}.zip",
            summary={},
        )
    )
    db.session.flush()
    db.session.refresh(dossier)


def _refuse_signature(dossier: Dossier, received: dt.datetime) -> None:
    db.session.add(
        SignatureEvent(
            dossier_id=dossier.id,
            signer="holder",
            status="refused",
            identity_verification="self_id_passed",
            evidence_id="GS-refus",
            at=received,
            received_at=received,
            payload={},
        )
    )
    db.session.flush()


def _request(dossier: Dossier) -> IssuanceRequest:
    request = db.session.scalar(
        sa.select(IssuanceRequest).where(IssuanceRequest.dossier_id == dossier.id)
    )
    assert request is not None
    return request


def _returns(dossier_id: int) -> list[AuditEvent]:
    return [
        e
        for e in db.session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.dossier_id == dossier_id, AuditEvent.event_type == "dossier.transition"
            )
        )
        if e.payload.get("transition") == "return_to_queue"
    ]


def _certificates(dossier_id: int) -> int:
    return len(
        db.session.scalars(
            sa.select(Certificate.id).where(Certificate.dossier_id == dossier_id)
        ).all()
    )


def test_a_fresh_approval_is_issued_without_running_the_checks_again(
    app: Flask, extractor: FakeExtractor
) -> None:
    day = dt.date(2026, 11, 20)
    dossier = _approved(extractor, day)
    runs = db.session.scalar(sa.select(sa.func.count(CheckRun.id)))
    request = issue_certificate(db.session, dossier.id, now=_at(day, 12), today=day)
    assert request.state == RequestState.ISSUED
    assert dossier.status == DossierStatus.DELIVERY_SCHEDULED  # the journey follows
    assert db.session.scalar(sa.select(sa.func.count(CheckRun.id))) == runs


def test_a_kbis_ageing_past_three_months_between_approval_and_issuance_blocks_issuance(
    app: Flask, extractor: FakeExtractor
) -> None:
    # The Kbis is dated 2026-11-01: under 3 months at the approval, over at the issuance.
    dossier = _approved(extractor, dt.date(2027, 1, 30))
    request = issue_certificate(
        db.session, dossier.id, now=_at(dt.date(2027, 2, 2)), today=dt.date(2027, 2, 2)
    )
    assert request.state == RequestState.RETURNED
    assert "Ancienneté de l'extrait Kbis" in (request.last_error or "")
    assert "revient dans la file de validation" in (request.last_error or "")
    assert dossier.status == DossierStatus.PENDING
    assert _certificates(dossier.id) == 0
    (entry,) = _returns(dossier.id)
    assert entry.payload["step"] == "issuance"
    assert entry.payload["rules"] == ["kbis.age"]
    run = db.session.get(CheckRun, entry.payload["check_run_id"])
    assert run is not None
    assert (run.trigger, run.evaluation_date) == ("issuance", dt.date(2027, 2, 2))


def test_a_signature_refused_after_approval_blocks_issuance(
    app: Flask, extractor: FakeExtractor
) -> None:
    day = dt.date(2026, 11, 22)  # the signatures are of 2026-11-21
    dossier = _approved(extractor, day)
    _refuse_signature(dossier, _at(day, 11))
    request = issue_certificate(db.session, dossier.id, now=_at(day, 12), today=day)
    assert request.state == RequestState.RETURNED
    assert "Signatures et vérification d'identité GoSign" in (request.last_error or "")
    assert "événement de signature" in (request.last_error or "")
    assert dossier.status == DossierStatus.PENDING
    assert _certificates(dossier.id) == 0


def test_an_expired_approval_is_not_issued(app: Flask, extractor: FakeExtractor) -> None:
    day = dt.date(2026, 11, 20)
    dossier = _approved(extractor, day)
    later = day + dt.timedelta(days=8)
    request = issue_certificate(db.session, dossier.id, now=_at(later), today=later)
    assert request.state == RequestState.RETURNED
    assert "a expiré" in (request.last_error or "")
    assert dossier.status == DossierStatus.PENDING
    assert _certificates(dossier.id) == 0
    assert len(_returns(dossier.id)) == 1


def test_a_revision_with_another_siren_arriving_after_the_approval_sends_the_dossier_back(
    app: Flask, extractor: FakeExtractor
) -> None:
    # The ingest refuses a re-export of a validated dossier (tests/ingest); should one be
    # recorded all the same, the issuance job sees it and runs the checks again.
    day = dt.date(2026, 11, 22)
    dossier = _approved(extractor, day)
    _revised(dossier, extractor, _at(day, 11), kbis_result(siren="356000000"))
    request = issue_certificate(db.session, dossier.id, now=_at(day, 12), today=day)
    assert request.state == RequestState.RETURNED
    assert "Émission du certificat arrêtée" in (request.last_error or "")
    assert "une nouvelle révision du dossier est arrivée depuis" in (request.last_error or "")
    assert "SIREN conforme à l'extrait Kbis" in (request.last_error or "")
    assert dossier.status == DossierStatus.PENDING
    assert _certificates(dossier.id) == 0
    (entry,) = _returns(dossier.id)
    assert (entry.payload["step"], entry.actor) == ("issuance", "system")
    assert entry.payload["rules"] == ["kbis.siren_match"]
    run = db.session.get(CheckRun, entry.payload["check_run_id"])
    assert run is not None
    assert (run.trigger, run.revision, run.evaluation_date) == ("issuance", 2, day)


def test_a_revision_after_the_approval_that_changes_no_verdict_is_checked_again_then_issued(
    app: Flask, extractor: FakeExtractor
) -> None:
    day = dt.date(2026, 11, 22)
    dossier = _approved(extractor, day)
    _revised(dossier, extractor, _at(day, 11), kbis_result())
    request = issue_certificate(db.session, dossier.id, now=_at(day, 12), today=day)
    assert request.state == RequestState.ISSUED
    assert _returns(dossier.id) == []
    latest = db.session.scalars(
        sa.select(CheckRun).where(CheckRun.dossier_id == dossier.id).order_by(CheckRun.id.desc())
    ).first()
    assert latest is not None
    assert (latest.trigger, latest.revision, latest.verdict) == ("issuance", 2, "ready")


def test_a_dossier_approved_with_no_approval_decision_on_record_is_not_issued(
    app: Flask, extractor: FakeExtractor
) -> None:
    # Checked clean, but APPROVED without the review service: nobody's decision to rely on.
    day = dt.date(2026, 11, 22)
    dossier, run = _checked(extractor, day)
    assert run.verdict == "ready"
    db.session.execute(
        sa.update(Dossier)
        .where(Dossier.id == dossier.id)
        .values(status=DossierStatus.APPROVED.value)
    )
    db.session.add(IssuanceRequest(dossier_id=dossier.id, state="queued", attempts=0))
    db.session.flush()
    db.session.expire_all()
    request = issue_certificate(db.session, dossier.id, now=_at(day, 12), today=day)
    assert request.state == RequestState.RETURNED
    assert "aucune décision de validation" in (request.last_error or "")
    assert "revient dans la file de validation" in (request.last_error or "")
    db.session.refresh(dossier)
    assert dossier.status == DossierStatus.PENDING
    assert _certificates(dossier.id) == 0
    (entry,) = _returns(dossier.id)
    assert entry.payload["step"] == "issuance"
    assert "aucune décision de validation" in entry.payload["explanation"]


# -- the second approval ------------------------------------------------------------------


def _override_requested(extractor: FakeExtractor, day: dt.date) -> Dossier:
    """A Kbis just over 3 months old, overridden by an operator on `day`."""
    dossier, run = _checked(extractor, day)
    assert run.verdict != "ready"
    operator = make_user(db.session)
    claim(db.session, dossier.id, operator, claim_minutes=CLAIM)
    override = request_override(
        db.session,
        dossier.id,
        operator,
        check_run_id=run.id,
        justification="Kbis de 3 mois et 1 jour, société connue, renouvellement",
        claim_minutes=CLAIM,
        today=day,
    )
    override.at = _at(day)
    db.session.flush()
    assert [item["rule"] for item in override.overridden_rules] == ["kbis.age"]
    return dossier


def test_a_late_second_approval_on_old_results_runs_the_checks_again(
    app: Flask, extractor: FakeExtractor
) -> None:
    dossier = _override_requested(extractor, dt.date(2027, 2, 2))
    supervisor = make_user(db.session, role="supervisor")
    claim(db.session, dossier.id, supervisor, claim_minutes=CLAIM)
    later = dt.date(2027, 2, 5)
    second = second_approval(
        db.session, dossier.id, supervisor, claim_minutes=CLAIM, now=_at(later), today=later
    )
    assert isinstance(second, Decision)
    assert dossier.status == DossierStatus.APPROVED
    run = db.session.get(CheckRun, second.check_run_id)
    assert run is not None
    assert (run.trigger, run.evaluation_date) == ("second_approval", later)


def test_a_signature_refused_before_the_second_approval_sends_the_dossier_back(
    app: Flask, extractor: FakeExtractor
) -> None:
    day = dt.date(2027, 2, 2)
    dossier = _override_requested(extractor, day)
    _refuse_signature(dossier, _at(day, 11))
    supervisor = make_user(db.session, role="supervisor")
    claim(db.session, dossier.id, supervisor, claim_minutes=CLAIM)
    outcome = second_approval(
        db.session, dossier.id, supervisor, claim_minutes=CLAIM, now=_at(day, 12), today=day
    )
    assert isinstance(outcome, Stopped)
    assert "Seconde validation arrêtée" in outcome.message
    assert "Signatures et vérification d'identité GoSign" in outcome.message
    assert dossier.status == DossierStatus.PENDING
    assert dossier.claimed_by_id is None
    (entry,) = _returns(dossier.id)
    assert (entry.payload["step"], entry.actor) == ("second_approval", supervisor.email)
    assert not db.session.scalars(
        sa.select(Decision).where(
            Decision.dossier_id == dossier.id, Decision.kind == "second_approval"
        )
    ).all()


# -- what the operator reads -----------------------------------------------------------------


def _page(client: FlaskClient, dossier_id: int, response: Any = None) -> str:
    g.pop("_login_user", None)
    page = response or client.get(f"/validation/dossiers/{dossier_id}")
    assert page.status_code == 200
    return str(page.get_data(as_text=True))


def test_the_operator_reads_why_issuance_sent_the_dossier_back(
    app: Flask, client: FlaskClient, extractor: FakeExtractor
) -> None:
    dossier = _approved(extractor, dt.date(2027, 1, 30))
    issue_certificate(
        db.session, dossier.id, now=_at(dt.date(2027, 2, 2)), today=dt.date(2027, 2, 2)
    )
    operator = make_user(db.session)
    db.session.commit()
    sign_in(client, operator)
    page = _page(client, dossier.id)
    assert "Émission du certificat arrêtée" in page
    assert "kbis.age" in page


def test_the_supervisor_reads_why_the_second_approval_stopped(
    app: Flask, client: FlaskClient, extractor: FakeExtractor
) -> None:
    day = dt.date(2027, 2, 2)
    dossier = _override_requested(extractor, day)
    # The view runs on the real clock: the override's run two hours ago, a refusal since.
    db.session.execute(
        sa.update(CheckRun)
        .where(CheckRun.dossier_id == dossier.id)
        .values(created_at=utcnow() - dt.timedelta(hours=2))
    )
    _refuse_signature(dossier, utcnow() - dt.timedelta(hours=1))
    supervisor = make_user(db.session, role="supervisor")
    claim(db.session, dossier.id, supervisor, claim_minutes=CLAIM)
    db.session.commit()
    sign_in(client, supervisor)
    g.pop("_login_user", None)
    response = client.post(
        f"/validation/dossiers/{dossier.id}/seconder",
        data={"second-comment": "D'accord"},
        follow_redirects=True,
    )
    page = _page(client, dossier.id, response)
    assert "Seconde validation arrêtée" in page
    assert "signatures.complete" in page
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).status == DossierStatus.PENDING  # type: ignore[union-attr]
