"""A dossier's status moves only through named transitions, each leaving an audit entry."""

from __future__ import annotations

import pytest
from flask import Flask

from ra_workbench.dossiers.states import (
    TRANSITIONS,
    VALIDATED_STATUSES,
    DossierStatus,
    TransitionError,
    transition,
)
from ra_workbench.extensions import db
from tests.factories import make_dossier
from tests.snapshots import audit_event_types


def test_approving_a_pending_dossier_moves_it_and_writes_the_audit_entry(app: Flask) -> None:
    dossier = make_dossier(db.session)
    transition(db.session, dossier, "approve", actor="operateur@example.fr")
    assert dossier.status == DossierStatus.APPROVED
    assert audit_event_types()[-1] == "dossier.transition"


def test_a_rejected_dossier_cannot_be_approved_afterwards(app: Flask) -> None:
    dossier = make_dossier(db.session)
    transition(db.session, dossier, "reject", actor="operateur@example.fr")
    with pytest.raises(TransitionError, match="impossible"):
        transition(db.session, dossier, "approve", actor="operateur@example.fr")
    assert dossier.status == DossierStatus.REJECTED


def test_every_transition_targets_a_known_status_and_starts_somewhere() -> None:
    for spec in TRANSITIONS.values():
        assert spec.sources
        assert spec.target in DossierStatus


def test_documents_can_be_replaced_only_before_validation() -> None:
    replaceable = TRANSITIONS["receive_revision"].sources
    assert replaceable.isdisjoint(VALIDATED_STATUSES)
    assert DossierStatus.PENDING in replaceable
