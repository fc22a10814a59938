"""Hard rules read from the catalogue's own results: what no override may set aside."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from ra_workbench.checks.engine import evaluate
from ra_workbench.checks.facts import DossierFacts, DuplicateFacts
from ra_workbench.checks.overrides import is_hard_failure
from ra_workbench.checks.results import Outcome
from ra_workbench.checks.rules import Rules
from tests.checks.builders import TODAY, clean_facts, repo_rules, signed


def _holder_mrz(facts: DossierFacts, **changes: object) -> DossierFacts:
    return replace(
        facts,
        documents=tuple(
            replace(d, mrz=replace(d.mrz, **changes))
            if d.person_role == "holder" and d.mrz is not None
            else d
            for d in facts.documents
        ),
    )


def _hard(facts: DossierFacts, rules: Rules) -> set[str]:
    return {
        r.rule
        for r in evaluate(facts, rules, TODAY).results
        if is_hard_failure(r.rule, r.outcome, r.evidence, rules)
    }


def _failing(facts: DossierFacts, rules: Rules) -> set[str]:
    return {r.rule for r in evaluate(facts, rules, TODAY).results if r.outcome == Outcome.FAIL}


def test_a_clean_dossier_has_no_hard_failure() -> None:
    assert _hard(clean_facts(), repo_rules()) == set()


@pytest.mark.parametrize(
    ("case", "rule"),
    [
        ("expired_identity", "identity.valid_on_date"),
        ("visa", "identity.document_type"),
        ("residence_permit", "identity.document_type"),
        ("signature_refused", "signatures.complete"),
        ("signature_expired", "signatures.complete"),
        ("self_id_failed", "signatures.complete"),
        ("holder_already_certified", "holder.unique"),
    ],
)
def test_catalogue_failures_the_standards_forbid_are_hard(case: str, rule: str) -> None:
    rules = repo_rules()
    facts = clean_facts()
    if case == "expired_identity":
        facts = _holder_mrz(facts, expiry_date=TODAY - dt.timedelta(days=1))
    elif case == "visa":
        facts = _holder_mrz(facts, format="MRVA", document_code="V")
    elif case == "residence_permit":
        facts = _holder_mrz(facts, format="TD1", document_code="IR")
    elif case == "holder_already_certified":
        facts = replace(facts, holder_duplicates=(DuplicateFacts("certificate", "4F2A", "mrz"),))
    else:
        status, check = {
            "signature_refused": ("refused", "not_started"),
            "signature_expired": ("expired", "not_started"),
            "self_id_failed": ("signed", "self_id_failed"),
        }[case]
        facts = replace(
            facts,
            signatures=(
                signed("holder", status=status, identity_verification=check),
                signed("legal_representative"),
            ),
        )
    assert rule in _failing(facts, rules)
    assert _hard(facts, rules) == {rule}


def test_failures_a_human_can_judge_stay_overridable() -> None:
    rules = repo_rules()
    facts = _holder_mrz(clean_facts(), surname="DURANT")  # a name read differently
    facts = replace(facts, organisation=replace(facts.organisation, siren="552100554"))
    assert {"identity.name_match", "kbis.siren_match"} <= _failing(facts, rules)
    assert _hard(facts, rules) == set()
