"""Dossiers built straight into the state each racing action starts from (factories and
services, no ingestion), and the people who act on them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ra_workbench.accounts.models import User
from ra_workbench.db import utcnow
from ra_workbench.delivery import service as delivery
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.issuance.service import issue_certificate
from ra_workbench.review.models import Decision, DecisionKind
from tests.factories import (
    make_approved_dossier,
    make_check_run,
    make_dossier,
    make_read_identity,
    make_slot,
    make_slot_today,
    make_user,
)


@dataclass(frozen=True)
class Cast:
    """Who acts: an operator (review and delivery), the supervisor who holds a dossier
    awaiting a second approval, a rival supervisor, and the operator who asked for the
    override (four eyes: never one of the supervisors)."""

    operator: User
    supervisor: User
    rival_supervisor: User
    requester: User

    @classmethod
    def create(cls, session: Session) -> Cast:
        return cls(
            operator=make_user(session, first_name="Olivia", last_name="Perrin"),
            supervisor=make_user(session, role="supervisor", first_name="Sami", last_name="Roy"),
            rival_supervisor=make_user(
                session, role="supervisor", first_name="Rita", last_name="Blanc"
            ),
            requester=make_user(session, first_name="Hugo", last_name="Martin"),
        )


@dataclass(frozen=True)
class Target:
    """The dossier an action is fired at, the form it sends, and ids the checks need."""

    dossier_id: int
    form: dict[str, Any]
    slot_id: int | None = None
    appointment_id: int | None = None


def _claim(dossier: Dossier, user: User) -> None:
    dossier.claimed_by_id = user.id
    dossier.claimed_at = utcnow()


def approvable(session: Session, cast: Cast) -> Target:
    """Pending, checked clean today, the holder's identity read (so issuance can run),
    claimed by the operator."""
    dossier = make_dossier(session)
    run = make_check_run(session, dossier)
    make_read_identity(session, dossier)
    _claim(dossier, cast.operator)
    session.flush()
    return Target(dossier.id, {"approve-check_run_id": str(run.id), "approve-comment": "Conforme"})


def rejectable(session: Session, cast: Cast) -> Target:
    dossier = make_dossier(session)
    make_check_run(session, dossier)
    _claim(dossier, cast.operator)
    session.flush()
    return Target(
        dossier.id,
        {"reject-reason": "duplicate", "reject-comment": "Doublon", "reject-confirm": "y"},
    )


def awaiting_second_approval(session: Session, cast: Cast) -> Target:
    """An override of a failing Kbis age asked by the requester, the dossier claimed by
    the supervisor."""
    dossier = make_dossier(session, status=DossierStatus.AWAITING_SECOND_APPROVAL.value)
    run = make_check_run(session, dossier, [("kbis.age", "fail")])
    make_read_identity(session, dossier)
    failing = next(r for r in run.results if r.rule == "kbis.age")
    session.add(
        Decision(
            dossier_id=dossier.id,
            kind=DecisionKind.OVERRIDE_REQUEST,
            actor_id=cast.requester.id,
            at=utcnow(),
            check_run_id=run.id,
            comment="Kbis de 3 mois et 1 jour, client connu",
            overridden_rules=[
                {
                    "result_id": failing.id,
                    "rule": failing.rule,
                    "person_role": failing.person_role,
                    "message": failing.message,
                }
            ],
        )
    )
    _claim(dossier, cast.supervisor)
    session.flush()
    return Target(dossier.id, {"second-comment": "Secondé"})


def _pickup_dossier(session: Session) -> Dossier:
    dossier = make_approved_dossier(session, delivery_mode="pickup")
    issue_certificate(session, dossier.id)
    assert dossier.status == DossierStatus.DELIVERY_SCHEDULED.value
    return dossier


def bookable(session: Session, cast: Cast) -> Target:
    """A certificate issued for pickup, no appointment yet, and a slot with room for two
    (so a double booking would fit, and show)."""
    dossier = _pickup_dossier(session)
    slot = make_slot(session, capacity=2)
    return Target(dossier.id, {"slot_id": str(slot.id)}, slot_id=slot.id)


def ready_for_handover(session: Session, cast: Cast) -> Target:
    """Booked for today, and the token prepared (at issuance): the holder is at the desk."""
    dossier = _pickup_dossier(session)
    slot = make_slot_today(session, capacity=2)
    delivery.book_slot(session, dossier.id, slot.id, actor=cast.operator)
    return Target(
        dossier.id,
        {"handed_to_role": "holder", "identity_document_number": "X4RTBPFW4"},
        slot_id=slot.id,
    )


def booked(session: Session, cast: Cast) -> Target:
    """An appointment booked on one slot, and another slot with room for two where the
    operator moves it (so a double move would fit, and show)."""
    dossier = _pickup_dossier(session)
    first = make_slot(session, capacity=2)
    appointment = delivery.book_slot(session, dossier.id, first.id, actor=cast.operator)
    other = make_slot(session, starts_in=dt.timedelta(days=2, hours=1), capacity=2)
    return Target(
        dossier.id,
        {"move-slot_id": str(other.id)},
        slot_id=other.id,
        appointment_id=appointment.id,
    )


def booked_to_cancel(session: Session, cast: Cast) -> Target:
    """An appointment booked on a slot (the operator cancels it)."""
    dossier = _pickup_dossier(session)
    slot = make_slot(session, capacity=2)
    appointment = delivery.book_slot(session, dossier.id, slot.id, actor=cast.operator)
    return Target(dossier.id, {}, slot_id=slot.id, appointment_id=appointment.id)
