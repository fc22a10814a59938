"""Claims and decisions: the right decision is quick, the wrong one impossible."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from ra_workbench.accounts.models import User
from ra_workbench.audit.models import AuditEvent
from ra_workbench.checks.service import latest_run
from ra_workbench.db import utcnow
from ra_workbench.dossiers.models import Dossier, PersonRole
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.review.claims import claim, release
from ra_workbench.review.common import ReviewError
from ra_workbench.review.decisions import (
    approve,
    documents_requested,
    refuse_override,
    reject,
    request_documents,
    request_override,
    second_approval,
)
from ra_workbench.review.models import Decision, DecisionKind
from ra_workbench.review.queue import QueueFilters, queue
from ra_workbench.review.reasons import current_reasons
from tests.factories import make_check_run, make_dossier, make_person, make_user

CLAIM = 60


def _claimed(dossier: Dossier, user: User) -> Dossier:
    return claim(db.session, dossier.id, user, claim_minutes=CLAIM)


def _events(kind: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event_type == kind)))


# --- claims --------------------------------------------------------------------------------


def test_operator_claims_a_dossier_and_others_see_who_holds_it(app: Flask) -> None:
    olivia = make_user(db.session, first_name="Olivia", last_name="Perrin")
    nicolas = make_user(db.session)
    dossier = make_dossier(db.session)
    _claimed(dossier, olivia)
    assert dossier.claimed_by_id == olivia.id
    with pytest.raises(ReviewError, match="Olivia Perrin"):
        _claimed(dossier, nicolas)
    assert dossier.claimed_by_id == olivia.id
    assert len(_events("review.claimed")) == 1


def test_an_expired_claim_can_be_taken_by_another_operator(app: Flask) -> None:
    olivia, nicolas = make_user(db.session), make_user(db.session)
    dossier = make_dossier(db.session)
    claim(
        db.session,
        dossier.id,
        olivia,
        claim_minutes=CLAIM,
        now=utcnow() - dt.timedelta(minutes=CLAIM + 1),
    )
    _claimed(dossier, nicolas)
    assert dossier.claimed_by_id == nicolas.id


def test_operator_cannot_release_a_colleagues_claim_but_a_supervisor_can(app: Flask) -> None:
    olivia, nicolas = make_user(db.session), make_user(db.session)
    sophie = make_user(db.session, role="supervisor")
    dossier = make_dossier(db.session)
    _claimed(dossier, olivia)
    with pytest.raises(ReviewError, match="superviseur"):
        release(db.session, dossier.id, nicolas)
    release(db.session, dossier.id, sophie)
    assert dossier.claimed_by_id is None
    [event] = _events("review.claim_released")
    assert event.payload["by_supervisor"] is True


def test_a_decided_dossier_cannot_be_claimed(app: Flask) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session, status=DossierStatus.APPROVED.value)
    with pytest.raises(ReviewError, match="déjà décidé"):
        _claimed(dossier, operator)


# --- conflict of interest ------------------------------------------------------------------


def test_operator_who_is_the_holder_can_never_claim_nor_decide(app: Flask) -> None:
    operator = make_user(db.session, first_name="Claire", last_name="Durand")
    dossier = make_dossier(db.session)  # holder CLAIRE DURAND
    make_check_run(db.session, dossier)
    with pytest.raises(ReviewError, match="Conflit d'intérêts"):
        _claimed(dossier, operator)
    dossier.claimed_by_id, dossier.claimed_at = operator.id, utcnow()
    with pytest.raises(ReviewError, match="Conflit d'intérêts"):
        approve(db.session, dossier.id, operator, check_run_id=None, claim_minutes=CLAIM)
    assert dossier.status == DossierStatus.PENDING


def test_operator_whose_email_is_the_legal_representatives_is_in_conflict(app: Flask) -> None:
    operator = make_user(db.session, email="p.morel@ateliers-morel.fr")
    dossier = make_dossier(db.session)
    with pytest.raises(ReviewError, match="représentant légal"):
        _claimed(dossier, operator)


def test_mandataire_name_matches_despite_accents_and_case(app: Flask) -> None:
    operator = make_user(db.session, first_name="Hélène", last_name="Lefèvre")
    dossier = make_dossier(
        db.session,
        people=[
            make_person(PersonRole.HOLDER),
            make_person(PersonRole.LEGAL_REPRESENTATIVE),
            make_person(
                PersonRole.MANDATAIRE,
                first_name="HELENE",
                last_name="LEFEVRE",
                email="mandat@cabinet.fr",
            ),
        ],
    )
    with pytest.raises(ReviewError, match="mandataire"):
        _claimed(dossier, operator)


# --- approve -------------------------------------------------------------------------------


def test_operator_approves_a_clean_dossier_and_the_decision_is_recorded(app: Flask) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session)
    run = make_check_run(db.session, dossier)
    _claimed(dossier, operator)
    decision = approve(
        db.session, dossier.id, operator, check_run_id=run.id, claim_minutes=CLAIM, comment="RAS"
    )
    assert dossier.status == DossierStatus.APPROVED
    assert decision.kind == DecisionKind.APPROVE
    assert (decision.actor_id, decision.check_run_id, decision.comment) == (
        operator.id,
        run.id,
        "RAS",
    )
    assert decision.at is not None
    assert dossier.claimed_by_id is None
    [event] = _events("dossier.transition")
    assert event.payload["decision_id"] == decision.id


def test_operator_cannot_approve_without_claiming_first(app: Flask) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session)
    run = make_check_run(db.session, dossier)
    with pytest.raises(ReviewError, match="Prenez d'abord"):
        approve(db.session, dossier.id, operator, check_run_id=run.id, claim_minutes=CLAIM)


def test_operator_cannot_approve_dossier_with_failing_kbis_age(app: Flask) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session)
    run = make_check_run(db.session, dossier, [("kbis.age", "fail")])
    _claimed(dossier, operator)
    with pytest.raises(ReviewError, match=r"Ancienneté de l'extrait Kbis"):
        approve(db.session, dossier.id, operator, check_run_id=run.id, claim_minutes=CLAIM)
    assert dossier.status == DossierStatus.PENDING
    assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 0


@pytest.mark.parametrize("outcome", ["error", "pending"])
def test_operator_cannot_approve_while_a_check_errored_or_waits(app: Flask, outcome: str) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session)
    run = make_check_run(db.session, dossier, [("signatures.complete", outcome)])
    _claimed(dossier, operator)
    with pytest.raises(ReviewError):
        approve(db.session, dossier.id, operator, check_run_id=run.id, claim_minutes=CLAIM)


def test_every_manual_result_must_be_confirmed_with_a_comment(app: Flask) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session, payment_method="transfer")
    run = make_check_run(db.session, dossier, [("payment.settled", "manual")])
    manual = next(r for r in run.results if r.outcome == "manual")
    _claimed(dossier, operator)
    with pytest.raises(ReviewError, match=r"payment\.settled"):
        approve(
            db.session,
            dossier.id,
            operator,
            check_run_id=run.id,
            confirmations={manual.id: "   "},
            claim_minutes=CLAIM,
        )
    decision = approve(
        db.session,
        dossier.id,
        operator,
        check_run_id=run.id,
        confirmations={manual.id: "Virement reçu le 27/11, relevé BNP"},
        claim_minutes=CLAIM,
    )
    assert decision.confirmations[str(manual.id)]["comment"].startswith("Virement reçu")
    assert dossier.status == DossierStatus.APPROVED


def test_approval_based_on_a_superseded_check_run_is_refused(app: Flask) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session)
    old = make_check_run(db.session, dossier)
    make_check_run(db.session, dossier)
    _claimed(dossier, operator)
    with pytest.raises(ReviewError, match="relancés"):
        approve(db.session, dossier.id, operator, check_run_id=old.id, claim_minutes=CLAIM)


def test_approval_on_checks_from_a_previous_day_asks_to_rerun_them(app: Flask) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session)
    run = make_check_run(
        db.session, dossier, evaluation_date=utcnow().date() - dt.timedelta(days=3)
    )
    _claimed(dossier, operator)
    with pytest.raises(ReviewError, match="relancez-les"):
        approve(db.session, dossier.id, operator, check_run_id=run.id, claim_minutes=CLAIM)


# --- override and four eyes ----------------------------------------------------------------


def _override(dossier: Dossier, operator: User) -> Decision:
    run = latest_run(db.session, dossier.id)
    assert run is not None
    _claimed(dossier, operator)
    return request_override(
        db.session,
        dossier.id,
        operator,
        check_run_id=run.id,
        justification="Kbis de 3 mois et 2 jours, société connue, renouvellement",
        claim_minutes=CLAIM,
    )


def test_override_needs_a_written_justification(app: Flask) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session)
    run = make_check_run(db.session, dossier, [("kbis.age", "fail")])
    _claimed(dossier, operator)
    with pytest.raises(ReviewError, match="justification"):
        request_override(
            db.session,
            dossier.id,
            operator,
            check_run_id=run.id,
            justification="ok",
            claim_minutes=CLAIM,
        )


def test_override_takes_effect_only_once_a_supervisor_seconds_it(app: Flask) -> None:
    operator = make_user(db.session)
    supervisor = make_user(db.session, role="supervisor")
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier, [("kbis.age", "fail")])
    request = _override(dossier, operator)
    assert dossier.status == DossierStatus.AWAITING_SECOND_APPROVAL
    assert request.overridden_rules[0]["rule"] == "kbis.age"

    with pytest.raises(ReviewError):  # an operator cannot even claim it
        _claimed(dossier, operator)
    _claimed(dossier, supervisor)
    second = second_approval(
        db.session, dossier.id, supervisor, comment="D'accord", claim_minutes=CLAIM
    )
    assert dossier.status == DossierStatus.APPROVED
    assert second.seconds_decision_id == request.id
    assert second.kind == DecisionKind.SECOND_APPROVAL


def test_supervisor_cannot_second_their_own_override(app: Flask) -> None:
    supervisor = make_user(db.session, role="supervisor")
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier, [("kbis.age", "fail")])
    _override(dossier, supervisor)
    _claimed(dossier, supervisor)
    with pytest.raises(ReviewError, match="propre dérogation"):
        second_approval(db.session, dossier.id, supervisor, claim_minutes=CLAIM)
    assert dossier.status == DossierStatus.AWAITING_SECOND_APPROVAL


def test_supervisor_refusing_an_override_sends_the_dossier_back(app: Flask) -> None:
    operator = make_user(db.session)
    supervisor = make_user(db.session, role="supervisor")
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier, [("kbis.age", "fail")])
    _override(dossier, operator)
    _claimed(dossier, supervisor)
    refuse_override(
        db.session, dossier.id, supervisor, comment="Demandez un Kbis récent", claim_minutes=CLAIM
    )
    assert dossier.status == DossierStatus.PENDING


def test_an_errored_check_cannot_be_overridden(app: Flask) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier, [("kbis.age", "fail"), ("identity.mrz", "error")])
    with pytest.raises(ReviewError, match="erreur"):
        _override(dossier, operator)


# --- request documents, reject -------------------------------------------------------------


def test_requesting_documents_takes_the_dossier_out_of_the_queue_with_a_french_list(
    app: Flask,
) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier, [("kbis.age", "fail"), ("identity.both_sides", "fail")])
    _claimed(dossier, operator)
    decision = request_documents(
        db.session,
        dossier.id,
        operator,
        reasons=current_reasons(),
        codes=["kbis.age", "identity.both_sides"],
        comment="Merci de joindre le verso de la CNI du porteur.",
        claim_minutes=CLAIM,
    )
    assert dossier.status == DossierStatus.DOCUMENTS_REQUESTED
    assert [r["rule"] for r in decision.reasons] == ["kbis.age", "identity.both_sides"]
    items = documents_requested(db.session, dossier)
    assert items == [
        "Fournir un extrait Kbis de moins de 3 mois.",
        "Fournir le recto et le verso de chaque pièce d'identité.",
        "Merci de joindre le verso de la CNI du porteur.",
    ]
    page = queue(db.session, QueueFilters(tab="incomplete"), sla_days=5, claim_minutes=CLAIM)
    assert page.rows == []


def test_requesting_documents_with_an_unknown_reason_is_refused(app: Flask) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier)
    _claimed(dossier, operator)
    with pytest.raises(ReviewError, match="Motif inconnu"):
        request_documents(
            db.session,
            dossier.id,
            operator,
            reasons=current_reasons(),
            codes=["kbis.couleur"],
            claim_minutes=CLAIM,
        )


def test_rejection_is_final_and_keeps_its_reason(app: Flask) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session)
    _claimed(dossier, operator)
    with pytest.raises(ReviewError, match="Précisez"):
        reject(
            db.session,
            dossier.id,
            operator,
            reasons=current_reasons(),
            reason="other",
            claim_minutes=CLAIM,
        )
    decision = reject(
        db.session,
        dossier.id,
        operator,
        reasons=current_reasons(),
        reason="fraud",
        comment="Photo retouchée",
        claim_minutes=CLAIM,
    )
    assert dossier.status == DossierStatus.REJECTED
    assert decision.reasons[0]["code"] == "fraud"
    with pytest.raises(ReviewError):
        _claimed(dossier, operator)


def test_portal_status_lists_what_the_operator_asked_the_customer_to_send(
    app: Flask, api_headers: dict[str, str]
) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier, [("kbis.age", "fail")])
    _claimed(dossier, operator)
    request_documents(
        db.session,
        dossier.id,
        operator,
        reasons=current_reasons(),
        codes=["kbis.age"],
        comment="Le Kbis joint date de 2025.",
        claim_minutes=CLAIM,
    )
    db.session.commit()

    body = (
        app.test_client()
        .get(f"/api/v1/dossiers/{dossier.order_number}/status", headers=api_headers)
        .get_json()
    )

    assert body["status"] == "documents_requested"
    assert body["to_provide"][:2] == [
        "Fournir un extrait Kbis de moins de 3 mois.",
        "Le Kbis joint date de 2025.",
    ]
