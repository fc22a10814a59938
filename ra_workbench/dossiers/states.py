"""The dossier's workflow as an explicit state machine.

A dossier's status changes only through a named transition of this table, executed by
`ra_workbench.dossiers.lifecycle.transition` (compare-and-set, audit entry, hooks).
The check verdict (ready for review, incomplete, …) is a
separate, derived column: it tells the queue which tab a pending dossier belongs in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class DossierStatus(enum.StrEnum):
    PENDING = "pending"
    DOCUMENTS_REQUESTED = "documents_requested"
    AWAITING_SECOND_APPROVAL = "awaiting_second_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    CERTIFICATE_ISSUED = "certificate_issued"
    DELIVERY_SCHEDULED = "delivery_scheduled"
    DELIVERED = "delivered"


STATUS_LABELS_FR = {
    DossierStatus.PENDING: "En attente de validation",
    DossierStatus.DOCUMENTS_REQUESTED: "Pièces demandées au client",
    DossierStatus.AWAITING_SECOND_APPROVAL: "Dérogation en attente d'un superviseur",
    DossierStatus.APPROVED: "Validé",
    DossierStatus.REJECTED: "Refusé",
    DossierStatus.CERTIFICATE_ISSUED: "Certificat généré",
    DossierStatus.DELIVERY_SCHEDULED: "Remise planifiée",
    DossierStatus.DELIVERED: "Remis au porteur",
}

# Once CertEurope has validated (or rejected) a dossier, the customer can no longer
# replace documents (seed guide, section 5).
VALIDATED_STATUSES = frozenset(
    {
        DossierStatus.APPROVED,
        DossierStatus.REJECTED,
        DossierStatus.CERTIFICATE_ISSUED,
        DossierStatus.DELIVERY_SCHEDULED,
        DossierStatus.DELIVERED,
    }
)
DECIDABLE_STATUSES = frozenset({DossierStatus.PENDING})


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[DossierStatus]
    target: DossierStatus


S = DossierStatus
TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition("receive_revision", frozenset({S.PENDING, S.DOCUMENTS_REQUESTED}), S.PENDING),
        Transition("request_documents", frozenset({S.PENDING}), S.DOCUMENTS_REQUESTED),
        Transition("approve", frozenset({S.PENDING}), S.APPROVED),
        Transition("request_override", frozenset({S.PENDING}), S.AWAITING_SECOND_APPROVAL),
        Transition("second_approval", frozenset({S.AWAITING_SECOND_APPROVAL}), S.APPROVED),
        Transition("refuse_override", frozenset({S.AWAITING_SECOND_APPROVAL}), S.PENDING),
        # A step that commits the RA (second approval, issuance) found the checks changed
        # since the decision, or the approval too old: the dossier is reviewed again.
        Transition(
            "return_to_queue",
            frozenset({S.AWAITING_SECOND_APPROVAL, S.APPROVED}),
            S.PENDING,
        ),
        Transition(
            "reject",
            frozenset({S.PENDING, S.DOCUMENTS_REQUESTED, S.AWAITING_SECOND_APPROVAL}),
            S.REJECTED,
        ),
        Transition("issue_certificate", frozenset({S.APPROVED}), S.CERTIFICATE_ISSUED),
        Transition("schedule_delivery", frozenset({S.CERTIFICATE_ISSUED}), S.DELIVERY_SCHEDULED),
        Transition("hand_over", frozenset({S.DELIVERY_SCHEDULED}), S.DELIVERED),
    )
}


class TransitionError(Exception):
    """A transition was asked from a state it does not start from (message in French)."""
