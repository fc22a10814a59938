"""Evaluate the catalogue on a dossier's facts and derive its verdict. Pure.

Verdict, from the results:
- `blocked` when a check could not run (`error`) or failed in a way the customer cannot
  fix (rules/checks.toml, verdict.blocking_failures);
- `incomplete` when any other rule fails: the customer must send or correct something;
- `waiting_signatures` when only GoSign events are awaited (`pending`);
- `ready` otherwise: ready for an operator's review (`manual` and `warn` are theirs to see).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from ra_workbench.checks.catalogue import CATALOGUE
from ra_workbench.checks.facts import DossierFacts
from ra_workbench.checks.results import MISSING_INPUT, RULE_IDS, Outcome, RuleResult, Verdict
from ra_workbench.checks.rules import Rules
from ra_workbench.documents.labels import DOCUMENT_TYPE_LABELS_FR

log = logging.getLogger(__name__)

PERSON_PHRASES_FR = {
    "holder": "du porteur",
    "legal_representative": "du représentant légal",
    "mandataire": "du mandataire",
}
ORGANISATION_PHRASE_FR = "de l'organisme"


@dataclass(frozen=True)
class Evaluation:
    evaluation_date: dt.date
    results: tuple[RuleResult, ...]
    verdict: str


def evaluate(facts: DossierFacts, rules: Rules, evaluation_date: dt.date) -> Evaluation:
    results: list[RuleResult] = []
    for rule_id in RULE_IDS:
        try:
            results.extend(CATALOGUE[rule_id](facts, rules, evaluation_date))
        except Exception as exc:
            # One broken rule must not hide the others; the dossier is blocked until fixed.
            # Only the exception type is logged: its text may carry identity data.
            log.error(
                "rule %s raised %s on order %s", rule_id, type(exc).__name__, facts.order_number
            )
            results.append(
                RuleResult(
                    rule=rule_id,
                    outcome=Outcome.ERROR,
                    message="Le contrôle n'a pas pu s'exécuter (erreur interne).",
                    evidence={"error": type(exc).__name__},
                )
            )
    return Evaluation(
        evaluation_date=evaluation_date,
        results=tuple(results),
        verdict=verdict_of(results, rules),
    )


def verdict_of(results: Iterable[RuleResult], rules: Rules) -> str:
    outcomes = [(r.rule, r.outcome) for r in results]
    blocking = rules.verdict.blocking_failures
    if any(o == Outcome.ERROR or (o == Outcome.FAIL and rule in blocking) for rule, o in outcomes):
        return Verdict.BLOCKED
    if any(o == Outcome.FAIL for _rule, o in outcomes):
        return Verdict.INCOMPLETE
    if any(o == Outcome.PENDING for _rule, o in outcomes):
        return Verdict.WAITING_SIGNATURES
    return Verdict.READY


def _document_phrase(doc_type: str, person: str | None) -> str:
    label = DOCUMENT_TYPE_LABELS_FR.get(doc_type, doc_type)
    if doc_type == "identity" and person:
        return f"{label.lower()} {PERSON_PHRASES_FR[person]} (recto et verso)"
    return label.lower()


def customer_requests(results: Iterable[RuleResult], rules: Rules) -> list[str]:
    """What the customer must send or correct (French), one line per distinct request,
    in catalogue order."""
    values = rules.wording_values()
    requests: list[str] = []
    for result in results:
        if result.outcome != Outcome.FAIL or result.rule not in rules.customer_requests:
            continue
        evidence = result.evidence
        if evidence.get(MISSING_INPUT):
            continue  # dossier.documents_complete asks for the missing document
        role = result.person_role or evidence.get("person")
        text = rules.customer_requests[result.rule].format_map(
            values
            | {
                "file": str(evidence.get("file") or ""),
                "person": PERSON_PHRASES_FR.get(role or "", ORGANISATION_PHRASE_FR),
                "document": _document_phrase(str(evidence.get("document_type") or ""), role),
            }
        )
        if text not in requests:
            requests.append(text)
    return requests
