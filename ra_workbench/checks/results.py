"""The vocabulary of the checks: rule ids, outcomes, verdicts and one rule's result.

The rule ids and the verdict strings are an interface: the queue, the audit trail, the
portal status API and the tests use them.
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
    ALL = ("pass", "fail", "warn", "manual", "pending", "error")


class Verdict:
    READY = "ready"  # prêt pour revue
    INCOMPLETE = "incomplete"  # le client doit agir
    WAITING_SIGNATURES = "waiting_signatures"
    BLOCKED = "blocked"
    ALL = ("ready", "incomplete", "waiting_signatures", "blocked")


# In catalogue order: the order results are evaluated, stored and shown.
RULE_IDS: tuple[str, ...] = (
    "file.format",
    "file.size",
    "file.name",
    "file.readable",
    "dossier.documents_complete",
    "dossier.attestation",
    "identity.both_sides",
    "identity.mrz",
    "identity.document_type",
    "identity.valid_on_date",
    "identity.name_match",
    "kbis.read",
    "kbis.age",
    "kbis.siren_match",
    "kbis.name_match",
    "kbis.legal_representative",
    "organisation.siren",
    "fields.no_accents",
    "contact.mobile",
    "contact.email",
    "holder.unique",
    "mandate.valid",
    "payment.settled",
    "signatures.complete",
)

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
