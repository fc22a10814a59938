"""From results to the verdict the queue shows, and to what the customer is asked to send."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from ra_workbench.checks.engine import customer_requests, evaluate, verdict_of
from ra_workbench.checks.facts import DuplicateFacts
from ra_workbench.checks.results import RULE_IDS, RuleResult
from tests.checks.builders import (
    TODAY,
    clean_facts,
    kbis,
    person,
    replace_document,
    repo_rules,
    signed,
    without_documents,
)

RULES = repo_rules()


def kbis_doc(facts):  # type: ignore[no-untyped-def]
    return next(d for d in facts.documents if d.type == "kbis")


def test_a_clean_signed_dossier_is_ready_for_review_with_every_rule_reported() -> None:
    evaluation = evaluate(clean_facts(), RULES, TODAY)
    assert evaluation.verdict == "ready"
    assert [r.rule for r in evaluation.results if r.outcome != "pass"] == []
    assert {r.rule for r in evaluation.results} == set(RULE_IDS)
    # Results come out in catalogue order.
    order = [RULE_IDS.index(r.rule) for r in evaluation.results]
    assert order == sorted(order)


def test_a_clean_dossier_awaiting_gosign_waits_for_signatures() -> None:
    evaluation = evaluate(replace(clean_facts(), signatures=()), RULES, TODAY)
    assert evaluation.verdict == "waiting_signatures"


def test_a_customer_fixable_failure_makes_the_dossier_incomplete_even_before_signatures() -> None:
    facts = replace(clean_facts(), signatures=(), documents_valid_attested=False)
    assert evaluate(facts, RULES, TODAY).verdict == "incomplete"


def test_a_holder_who_already_has_a_certificate_blocks_the_dossier() -> None:
    facts = replace(
        clean_facts(), holder_duplicates=(DuplicateFacts("certificate", "01AB", "mrz"),)
    )
    assert evaluate(facts, RULES, TODAY).verdict == "blocked"


def test_an_error_blocks_the_dossier_whatever_else() -> None:
    results = [
        RuleResult("file.size", "pass", "ok"),
        RuleResult("identity.mrz", "error", "lecture échouée"),
        RuleResult("dossier.attestation", "fail", "non cochée"),
    ]
    assert verdict_of(results, RULES) == "blocked"


def test_manual_and_warning_outcomes_leave_the_dossier_ready_for_the_operator() -> None:
    results = [
        RuleResult("payment.settled", "manual", "m"),
        RuleResult("kbis.name_match", "warn", "w"),
    ]
    assert verdict_of(results, RULES) == "ready"


def test_a_rule_that_crashes_is_reported_as_an_error_without_hiding_the_others(
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    from ra_workbench.checks import catalogue

    def broken(facts, rules, on):  # type: ignore[no-untyped-def]
        raise ValueError("DURAND CLAIRE 1985-04-12")

    monkeypatch.setitem(catalogue.CATALOGUE, "kbis.age", broken)
    evaluation = evaluate(clean_facts(), RULES, TODAY)
    [crashed] = [r for r in evaluation.results if r.rule == "kbis.age"]
    assert crashed.outcome == "error"
    assert "DURAND" not in crashed.message
    assert evaluation.verdict == "blocked"
    assert len({r.rule for r in evaluation.results}) == len(RULE_IDS)


def test_the_customer_is_told_in_french_what_to_send_once_per_request() -> None:
    facts = without_documents(
        clean_facts(), lambda d: d.type == "identity" and d.person_role == "legal_representative"
    )
    facts = replace_document(facts, kbis_doc(facts), kbis=kbis(date=dt.date(2026, 5, 2)))
    facts = replace(
        facts,
        people=(person("holder", mobile="0145678901"), person("legal_representative")),
        documents_valid_attested=False,
    )
    evaluation = evaluate(facts, RULES, TODAY)
    assert evaluation.verdict == "incomplete"
    requests = customer_requests(evaluation.results, RULES)
    assert requests == [
        "Joindre la pièce manquante : pièce d'identité du représentant légal (recto et verso).",
        "Cocher la case « Mes documents sont en cours de validité ».",
        "Fournir un extrait Kbis de moins de 3 mois.",
        "Indiquer un numéro de téléphone mobile français du porteur (06, 07, +33 6 ou +33 7).",
    ]


def test_a_blocking_failure_asks_nothing_of_the_customer() -> None:
    facts = replace(clean_facts(), holder_duplicates=(DuplicateFacts("dossier", "1", "mrz"),))
    assert customer_requests(evaluate(facts, RULES, TODAY).results, RULES) == []


def test_evaluating_the_same_facts_twice_gives_identical_results() -> None:
    facts = replace(clean_facts(), signatures=(signed("holder"),))
    assert evaluate(facts, RULES, TODAY) == evaluate(facts, RULES, TODAY)
