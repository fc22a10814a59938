"""The vocabulary of the checks: rule ids, outcomes (with the order they are listed in and
their French labels), verdicts and one rule's result.

The rule ids and the verdict strings are an interface: the queue, the audit trail, the
portal status API and the tests use them. Free of the database and of Flask, so the pure
catalogue and engine can share it with the screens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Outcome:
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    FAIL = "fail"
    WARN = "warn"
    MANUAL = "manual"  # a human must look
    PENDING = "pending"  # waiting on an outside event (GoSign)
    ERROR = "error"  # the check could not run
    ALL = (PASS, FAIL, WARN, MANUAL, PENDING, ERROR)


# Failing first, then what needs a human, then what is fine: how results are listed.
OUTCOME_ORDER = {
    Outcome.FAIL: 0,
    Outcome.ERROR: 1,
    Outcome.MANUAL: 2,
    Outcome.PENDING: 3,
    Outcome.WARN: 4,
    Outcome.PASS: 5,
}
OUTCOME_LABELS_FR = {
    Outcome.FAIL: "Échec",
    Outcome.ERROR: "Erreur",
    Outcome.MANUAL: "À vérifier",
    Outcome.PENDING: "En attente",
    Outcome.WARN: "Avertissement",
    Outcome.PASS: "Conforme",
}


class Verdict:
    READY = "ready"  # prêt pour revue
    INCOMPLETE = "incomplete"  # le client doit agir
    WAITING_SIGNATURES = "waiting_signatures"
    BLOCKED = "blocked"
    ALL = (READY, INCOMPLETE, WAITING_SIGNATURES, BLOCKED)


# In catalogue order: the order results are evaluated, stored and shown.
RULE_IDS: tuple[str, ...] = (
    "file.format",
    "file.size",
    "file.name",
    "file.readable",
    "file.signals",
    "dossier.documents_complete",
    "dossier.attestation",
    "identity.both_sides",
    "identity.mrz",
    "identity.document_type",
    "identity.valid_on_date",
    "identity.name_match",
    "identity.reuse",
    "kbis.read",
    "kbis.age",
    "kbis.siren_match",
    "kbis.name_match",
    "kbis.legal_form",
    "kbis.legal_representative",
    "organisation.siren",
    "fields.no_accents",
    "fields.required",
    "contact.mobile",
    "contact.email",
    "holder.unique",
    "mandate.valid",
    "payment.settled",
    "payment.amount",
    "delivery.holder_address",
    "signatures.complete",
    "revision.sensitive_changes",
)

# Rules whose findings are for the operator alone (warn, never fail): nothing to ask the
# customer (rules/checks.toml's customer_requests holds no wording for them).
WARN_ONLY_RULES = frozenset({"file.signals"})

# Evidence key marking a result that only repeats that a required document is missing
# (already reported, and asked for, by dossier.documents_complete).
MISSING_INPUT = "missing"


@dataclass(frozen=True)
class RuleResult:
    """One rule's finding about one subject (a file, a person, the organisation, the dossier).

    `evidence` holds what the finding rests on: the document and person, the declared
    value and the extracted one. It is JSON-serialisable.
    """

    rule: str
    outcome: str
    message: str
    person_role: str | None = None
    document_id: int | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "outcome": self.outcome,
            "message": self.message,
            "evidence": dict(self.evidence),
        }
