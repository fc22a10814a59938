"""A dossier's status moves only through named transitions: one compare-and-set each, an
audit entry, then what the journey subscribed — and nothing at all for the loser of a race."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from ra_workbench import journey
from ra_workbench.dossiers import lifecycle
from ra_workbench.dossiers.lifecycle import ConcurrentChange, TransitionEvent, transition
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import (
    TRANSITIONS,
    VALIDATED_STATUSES,
    DossierStatus,
    TransitionError,
)
from ra_workbench.extensions import db
from tests.factories import make_dossier
from tests.snapshots import audit_event_types


def test_approving_a_pending_dossier_moves_it_and_writes_the_audit_entry(app: Flask) -> None:
    dossier = make_dossier(db.session)
    transition(db.session, dossier, "approve", actor="operateur@example.fr")
    assert dossier.status == DossierStatus.APPROVED
    assert "dossier.transition" in audit_event_types()


def test_a_rejected_dossier_cannot_be_approved_afterwards(app: Flask) -> None:
    dossier = make_dossier(db.session)
    transition(db.session, dossier, "reject", actor="operateur@example.fr")
    with pytest.raises(TransitionError, match=r"vient d.être traité par operateur@example\.fr"):
        transition(db.session, dossier, "approve", actor="autre@example.fr")
    assert dossier.status == DossierStatus.REJECTED


def test_a_transition_from_a_state_the_database_no_longer_holds_changes_nothing(
    app: Flask,
) -> None:
    """The second of two requests read `pending` too: its UPDATE matches no row."""
    dossier = make_dossier(db.session)
    fired: list[str] = []
    lifecycle.after("reject", lambda _s, event: fired.append(event.name))
    try:
        db.session.execute(
            sa.update(Dossier)
            .where(Dossier.id == dossier.id)
            .values(status=DossierStatus.APPROVED.value)
            .execution_options(synchronize_session=False)
        )
        before = audit_event_types()
        with pytest.raises(ConcurrentChange, match="Ce dossier vient d'être traité"):
            transition(db.session, dossier, "reject", actor="operateur@example.fr")
        assert dossier.status == DossierStatus.APPROVED
        assert audit_event_types() == before
        assert fired == []
    finally:
        journey.wire()


def test_what_follows_a_transition_is_a_subscription_run_in_the_same_unit(app: Flask) -> None:
    dossier = make_dossier(db.session)
    seen: list[TransitionEvent] = []
    lifecycle.after("request_documents", lambda _s, event: seen.append(event))
    try:
        transition(
            db.session, dossier, "request_documents", actor="op@example.fr", payload={"x": 1}
        )
    finally:
        journey.wire()
    [event] = seen
    assert (event.source, event.target) == (
        DossierStatus.PENDING,
        DossierStatus.DOCUMENTS_REQUESTED,
    )
    assert event.payload == {"x": 1}
    assert event.dossier is dossier


def test_the_journey_table_names_only_real_transitions_and_is_wired_once() -> None:
    journey.wire()
    journey.wire()
    for name, hook in journey.JOURNEY:
        assert name in TRANSITIONS or name in lifecycle.EVENTS
        assert lifecycle.subscribers(name).count(hook) == 1
    assert lifecycle.subscribers("approve") == (journey.request_certificate,)


def test_every_transition_targets_a_known_status_and_starts_somewhere() -> None:
    for spec in TRANSITIONS.values():
        assert spec.sources
        assert spec.target in DossierStatus


def test_documents_can_be_replaced_only_before_validation() -> None:
    replaceable = TRANSITIONS["receive_revision"].sources
    assert replaceable.isdisjoint(VALIDATED_STATUSES)
    assert DossierStatus.PENDING in replaceable


def test_an_announced_event_runs_its_hooks_and_leaves_the_status_alone(app: Flask) -> None:
    dossier = make_dossier(db.session)
    seen: list[TransitionEvent] = []
    lifecycle.after("signature_recorded", lambda _s, event: seen.append(event))
    try:
        lifecycle.announce(db.session, "signature_recorded", dossier, actor="portal")
    finally:
        journey.wire()
    [event] = seen
    assert event.source == event.target == DossierStatus.PENDING
    assert dossier.status == DossierStatus.PENDING
    with pytest.raises(ValueError, match="unknown event"):
        lifecycle.announce(db.session, "approve", dossier, actor="portal")
