"""Hard rules and soft rules: which failing results an override may set aside. Pure.

An override (a justification and a supervisor's second approval) exists for what a human
can judge — a name cut differently, a scan a machine cannot read — not for what the
standards forbid. rules/checks.toml's `[overrides]` lists the rules that are never set
aside (`never`) and those that are not for some kinds of failure (`never_when`, by the
detail code this module reads from a failing result's evidence).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ra_workbench.checks.results import Outcome
from ra_workbench.checks.rules import Rules

HARD_RULE_LABEL_FR = "Règle impérative : ne peut pas faire l'objet d'une dérogation"


def failure_code(rule: str, evidence: Mapping[str, Any] | None) -> str | None:
    """The kind of failure a result of `rule` records (rules.FAILURE_CODES), if any."""
    evidence = evidence or {}
    extracted = evidence.get("extracted")
    extracted = extracted if isinstance(extracted, Mapping) else {}
    if rule == "identity.document_type":
        kind = extracted.get("type")
        return str(kind) if kind else None
    if rule == "signatures.complete":
        status = extracted.get("status")
        if status and status != "signed":
            return str(status)
        if extracted.get("identity_verification") == "self_id_failed":
            return "self_id_failed"
        return None
    if rule == "mandate.valid":
        return "signature_invalid" if extracted.get("signature_valid") is False else None
    if rule == "identity.reuse":
        basis = evidence.get("reuse_basis")
        return str(basis) if basis else None
    if rule == "kbis.siren_match":
        return "manual_entry" if evidence.get("manual_entry") is True else None
    return None


def is_hard_failure(
    rule: str, outcome: str, evidence: Mapping[str, Any] | None, rules: Rules
) -> bool:
    """A failing result no override may set aside."""
    return outcome == Outcome.FAIL and rules.overrides.is_hard(rule, failure_code(rule, evidence))
