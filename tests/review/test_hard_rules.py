"""Hard rules: what the standards forbid cannot be set aside by an override, neither on the
page (no override offered, the reason shown) nor by a forged request (refused, audited)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient

from ra_workbench.accounts.models import User
from ra_workbench.audit.models import AuditEvent
from ra_workbench.checks.service import latest_run
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.review.claims import claim
from ra_workbench.review.decisions import HardRuleOverride, request_override
from ra_workbench.review.models import Decision
from tests.auth import sign_in
from tests.factories import make_check_run, make_dossier, make_user

CLAIM = 60
HARD_LABEL = "Règle impérative : ne peut pas faire l&#39;objet d&#39;une dérogation"
JUSTIFICATION = "Client connu depuis dix ans, vérifié par téléphone"

# One failing result per hard rule (and kind of failure), as the catalogue stores it.
HARD_FAILURES: dict[str, dict[str, Any]] = {
    "identity_expired": {
        "rule": "identity.valid_on_date",
        "person_role": "holder",
        "evidence": {"person": "holder", "extracted": {"expiry_date": "2025-01-01"}},
    },
    "visa": {
        "rule": "identity.document_type",
        "person_role": "holder",
        "evidence": {"person": "holder", "extracted": {"type": "visa", "document_code": "V"}},
    },
    "residence_permit": {
        "rule": "identity.document_type",
        "person_role": "holder",
        "evidence": {"extracted": {"type": "residence_permit", "document_code": "IR"}},
    },
    "unknown_document": {
        "rule": "identity.document_type",
        "person_role": "legal_representative",
        "evidence": {"extracted": {"type": "unknown", "document_code": "X"}},
    },
    "signature_refused": {
        "rule": "signatures.complete",
        "person_role": "holder",
        "evidence": {
            "extracted": {"status": "refused", "identity_verification": "not_started"},
        },
    },
    "signature_expired": {
        "rule": "signatures.complete",
        "person_role": "legal_representative",
        "evidence": {"extracted": {"status": "expired", "identity_verification": "not_started"}},
    },
    "self_id_failed": {
        "rule": "signatures.complete",
        "person_role": "holder",
        "evidence": {
            "extracted": {"status": "signed", "identity_verification": "self_id_failed"},
        },
    },
    "holder_not_unique": {
        "rule": "holder.unique",
        "person_role": "holder",
        "evidence": {"extracted": [{"kind": "certificate", "reference": "1A2B", "basis": "mrz"}]},
    },
    "mandate_signature_invalid": {
        "rule": "mandate.valid",
        "person_role": "mandataire",
        "evidence": {"extracted": {"date": "2026-11-01", "signature_valid": False}},
    },
    "manual_siren_not_on_kbis": {
        "rule": "kbis.siren_match",
        "evidence": {"declared": "732829320", "extracted": "552100554", "manual_entry": True},
    },
}
# Failures a human may judge: still overridable.
SOFT_FAILURES: dict[str, dict[str, Any]] = {
    "kbis_age": {"rule": "kbis.age", "evidence": {"extracted": "2026-07-01"}},
    "name_cut_differently": {"rule": "identity.name_match", "person_role": "holder"},
    "siren_typo_from_directory": {
        "rule": "kbis.siren_match",
        "evidence": {"declared": "732829320", "extracted": "552100554"},
    },
    "foreign_mandate_unread": {"rule": "mandate.valid", "evidence": {"extracted": {}}},
}


def _failing(spec: dict[str, Any]) -> dict[str, Any]:
    return {"outcome": "fail", "message": f"Échec : {spec['rule']}", **spec}


def _dossier_failing(*specs: dict[str, Any]) -> Dossier:
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier, [_failing(s) for s in specs])
    return dossier


def _events(kind: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event_type == kind)))


def _decisions(dossier_id: int) -> list[Decision]:
    return list(db.session.scalars(sa.select(Decision).where(Decision.dossier_id == dossier_id)))


def _request(dossier: Dossier, operator: User) -> Decision:
    run = latest_run(db.session, dossier.id)
    assert run is not None
    claim(db.session, dossier.id, operator, claim_minutes=CLAIM)
    return request_override(
        db.session,
        dossier.id,
        operator,
        check_run_id=run.id,
        justification=JUSTIFICATION,
        claim_minutes=CLAIM,
    )


def as_(client: FlaskClient) -> FlaskClient:
    g.pop("_login_user", None)
    return client


# --- the service ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(HARD_FAILURES))
def test_operator_cannot_request_an_override_of_a_hard_rule(app: Flask, case: str) -> None:
    operator = make_user(db.session)
    dossier = _dossier_failing(HARD_FAILURES[case])
    with pytest.raises(HardRuleOverride, match="Règle impérative") as refused:
        _request(dossier, operator)
    assert refused.value.rules == [HARD_FAILURES[case]["rule"]]
    assert dossier.status == DossierStatus.PENDING
    assert _decisions(dossier.id) == []


@pytest.mark.parametrize("case", sorted(SOFT_FAILURES))
def test_operator_may_still_request_an_override_of_what_a_human_can_judge(
    app: Flask, case: str
) -> None:
    operator = make_user(db.session)
    dossier = _dossier_failing(SOFT_FAILURES[case])
    decision = _request(dossier, operator)
    assert dossier.status == DossierStatus.AWAITING_SECOND_APPROVAL
    assert [item["rule"] for item in decision.overridden_rules] == [SOFT_FAILURES[case]["rule"]]


def test_one_hard_failure_among_soft_ones_refuses_the_whole_override(app: Flask) -> None:
    operator = make_user(db.session)
    dossier = _dossier_failing(SOFT_FAILURES["kbis_age"], HARD_FAILURES["holder_not_unique"])
    with pytest.raises(HardRuleOverride, match=r"Porteur sans autre dossier") as refused:
        _request(dossier, operator)
    assert refused.value.rules == ["holder.unique"]
    assert dossier.status == DossierStatus.PENDING


# --- the page and a forged request ---------------------------------------------------------


@pytest.mark.parametrize("case", sorted(HARD_FAILURES))
def test_review_page_offers_no_override_of_a_hard_rule_and_says_why(
    app: Flask, client: FlaskClient, case: str
) -> None:
    operator = make_user(db.session)
    dossier = _dossier_failing(HARD_FAILURES[case])
    db.session.commit()
    sign_in(client, operator)
    as_(client).post(f"/validation/dossiers/{dossier.id}/prendre")
    page = as_(client).get(f"/validation/dossiers/{dossier.id}").get_data(as_text=True)
    assert 'id="override-form"' not in page
    assert 'id="override-unavailable"' in page
    assert HARD_LABEL in page
    assert f'data-hard-rule="{HARD_FAILURES[case]["rule"]}"' in page
    assert 'id="request-form"' in page  # documents can still be asked for


def test_review_page_still_offers_the_override_of_a_soft_rule(
    app: Flask, client: FlaskClient
) -> None:
    operator = make_user(db.session)
    dossier = _dossier_failing(SOFT_FAILURES["kbis_age"])
    db.session.commit()
    sign_in(client, operator)
    as_(client).post(f"/validation/dossiers/{dossier.id}/prendre")
    page = as_(client).get(f"/validation/dossiers/{dossier.id}").get_data(as_text=True)
    assert 'id="override-form"' in page
    assert HARD_LABEL not in page


@pytest.mark.parametrize("case", sorted(HARD_FAILURES))
def test_forged_override_of_a_hard_rule_is_refused_and_audited(
    app: Flask, client: FlaskClient, case: str
) -> None:
    operator = make_user(db.session)
    dossier = _dossier_failing(HARD_FAILURES[case])
    run = latest_run(db.session, dossier.id)
    assert run is not None
    db.session.commit()
    sign_in(client, operator)
    as_(client).post(f"/validation/dossiers/{dossier.id}/prendre")
    response = as_(client).post(
        f"/validation/dossiers/{dossier.id}/deroger",
        data={"override-justification": JUSTIFICATION, "override-check_run_id": str(run.id)},
        follow_redirects=True,
    )
    assert HARD_LABEL in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).status == DossierStatus.PENDING  # type: ignore[union-attr]
    assert _decisions(dossier.id) == []
    [event] = _events("review.override_refused_hard_rule")
    assert event.payload["rules"] == [HARD_FAILURES[case]["rule"]]
    assert event.payload["check_run_id"] == run.id
    assert event.actor_id == operator.id


# --- the mandate's signature, as the catalogue judges a real PDF ---------------------------


def _mandate_failure(pdf: bytes) -> dict[str, Any]:
    from ra_workbench.checks.catalogue import CATALOGUE
    from tests.checks.builders import TODAY, clean_facts, repo_rules, with_mandataire
    from tests.extraction.mandates import mandate_facts

    facts = with_mandataire(clean_facts(), mandate=mandate_facts(pdf))
    [result] = CATALOGUE["mandate.valid"](facts, repo_rules(), TODAY)
    return {
        "rule": result.rule,
        "outcome": result.outcome,
        "message": result.message,
        "person_role": "mandataire",
        "evidence": json.loads(json.dumps(dict(result.evidence))),
    }


def test_a_mandate_changed_after_signing_fails_hard_and_its_override_is_refused(
    app: Flask, client: FlaskClient
) -> None:
    from tests.extraction.mandates import flipped_inside_signed_range, signed_mandate

    operator = make_user(db.session)
    failure = _mandate_failure(flipped_inside_signed_range(signed_mandate()))
    assert failure["outcome"] == "fail"
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier, [failure])
    with pytest.raises(HardRuleOverride, match="Règle impérative") as refused:
        _request(dossier, operator)
    assert refused.value.rules == ["mandate.valid"]
    assert _decisions(dossier.id) == []
    db.session.commit()

    # The operator sees who signed, when, and the chain, in French.
    sign_in(client, operator)
    page = as_(client).get(f"/validation/dossiers/{dossier.id}").get_data(as_text=True)
    assert 'data-hard-rule="mandate.valid"' in page
    assert "Signatures du mandat" in page
    assert "PAUL MOREL" in page
    assert "02/11/2026 à " in page
    assert "le contenu signé a été modifié (empreinte différente)" in page


def test_the_dossier_page_shows_each_mandate_signature_its_time_and_chain(
    app: Flask, client: FlaskClient
) -> None:
    from tests.extraction.mandates import signed_mandate

    operator = make_user(db.session)
    result = _mandate_failure(signed_mandate())
    assert result["outcome"] == "pass"
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier, [result])
    db.session.commit()
    sign_in(client, operator)
    page = as_(client).get(f"/validation/dossiers/{dossier.id}").get_data(as_text=True)
    assert "data-mandate-signatures" in page
    assert "PAUL MOREL (FR) → RA Workbench DEMO - AC de test des mandats" in page
    assert "(autorité reconnue)" in page
    assert "SOPHIE LEROY" in page
