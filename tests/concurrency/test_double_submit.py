"""Issue 10: the same decision sent twice within milliseconds (a double click on « Valider »,
a retried request) must happen once.

Two senders post the same form at the same dossier at the same instant, each through its
own client, thread and database connection, 50 times per action on a fresh dossier each
time, on SQLite and on PostgreSQL (the suite runs once per backend). Each round: exactly one
decision, one transition and its one audit entry, at most one certificate, the right final
status; one sender reads the success, the other a French refusal; no 500, and no deadlock
or locking error reaches anyone.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.models import Certificate
from ra_workbench.delivery.models import Appointment, Handover, PickupSlot
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.review.models import Decision, DecisionKind
from tests.concurrency import builders
from tests.concurrency.race import (
    CONCURRENT_CHANGE,
    Outcome,
    fire_together,
    login,
    response_problems,
)

ROUNDS = int(os.environ.get("RA_TEST_RACE_ROUNDS", "50"))
S = DossierStatus


@dataclass(frozen=True)
class Action:
    name: str
    path: str  # with {dossier_id} or {appointment_id}
    senders: tuple[str, str]  # Cast attributes: who is signed in on each client
    prepare: Callable[[Session, builders.Cast], builders.Target]
    success: str  # in the winner's success flash
    refusals: tuple[str, ...]  # one of them in the loser's danger flash
    final_status: DossierStatus
    transition: str | None = None
    decision: str | None = None
    # Facts (see _facts) that must equal these numbers once the two requests are over.
    exactly: dict[str, int] = field(default_factory=dict)


ACTIONS = [
    Action(
        name="approve",
        path="/validation/dossiers/{dossier_id}/valider",
        senders=("operator", "operator"),
        prepare=builders.approvable,
        success="Dossier validé",
        refusals=(CONCURRENT_CHANGE,),
        # Issuance runs inline after the commit: the certificate, then the delivery.
        final_status=S.DELIVERY_SCHEDULED,
        transition="approve",
        decision=DecisionKind.APPROVE,
        exactly={"audit:issuance.requested": 1, "certificates": 1},
    ),
    Action(
        name="reject",
        path="/validation/dossiers/{dossier_id}/refuser",
        senders=("operator", "operator"),
        prepare=builders.rejectable,
        success="Dossier refusé",
        refusals=(CONCURRENT_CHANGE,),
        final_status=S.REJECTED,
        transition="reject",
        decision=DecisionKind.REJECT,
        exactly={"certificates": 0},
    ),
    Action(
        name="second_approval",
        path="/validation/dossiers/{dossier_id}/seconder",
        senders=("supervisor", "supervisor"),
        prepare=builders.awaiting_second_approval,
        success="Dérogation secondée",
        refusals=(CONCURRENT_CHANGE,),
        final_status=S.DELIVERY_SCHEDULED,
        transition="second_approval",
        decision=DecisionKind.SECOND_APPROVAL,
        exactly={"audit:issuance.requested": 1, "certificates": 1},
    ),
    Action(
        # Two supervisors at once: only the one holding the claim may second; the other is
        # refused whether they arrive before or after.
        name="second_approval_by_two_supervisors",
        path="/validation/dossiers/{dossier_id}/seconder",
        senders=("supervisor", "rival_supervisor"),
        prepare=builders.awaiting_second_approval,
        success="Dérogation secondée",
        # The rival holds no claim: told who does (« … traite ce dossier depuis … »).
        refusals=(CONCURRENT_CHANGE, "Prenez d'abord le dossier en charge", "traite ce dossier"),
        final_status=S.DELIVERY_SCHEDULED,
        transition="second_approval",
        decision=DecisionKind.SECOND_APPROVAL,
        exactly={"audit:issuance.requested": 1, "certificates": 1},
    ),
    Action(
        name="book",
        path="/remise/retraits/{dossier_id}/rendez-vous",
        senders=("operator", "operator"),
        prepare=builders.bookable,
        success="Rendez-vous fixé",
        refusals=(CONCURRENT_CHANGE, "Un rendez-vous est déjà fixé"),
        final_status=S.DELIVERY_SCHEDULED,
        exactly={
            "appointments_booked": 1,
            "slot_booked": 1,
            "audit:delivery.appointment_booked": 1,
            "outbox:appointment_confirmation": 1,
            "certificates": 1,
        },
    ),
    Action(
        name="move_appointment",
        path="/remise/rendez-vous/{appointment_id}/deplacer",
        senders=("operator", "operator"),
        prepare=builders.booked,
        success="Rendez-vous déplacé",
        refusals=(CONCURRENT_CHANGE, "déjà sur ce créneau"),
        final_status=S.DELIVERY_SCHEDULED,
        exactly={
            "appointments_booked": 1,
            "slot_booked": 1,
            "audit:delivery.appointment_moved": 1,
            "outbox:appointment_update": 1,
        },
    ),
    Action(
        name="cancel_appointment",
        path="/remise/rendez-vous/{appointment_id}/annuler",
        senders=("operator", "operator"),
        prepare=builders.booked_to_cancel,
        success="Rendez-vous annulé",
        refusals=(CONCURRENT_CHANGE, "Aucun rendez-vous à annuler"),
        final_status=S.DELIVERY_SCHEDULED,
        exactly={
            "appointments_booked": 0,
            "slot_booked": 0,
            "audit:delivery.appointment_cancelled": 1,
            "outbox:appointment_cancellation": 1,
        },
    ),
    Action(
        name="hand_over",
        path="/remise/retraits/{dossier_id}/remise",
        senders=("operator", "operator"),
        prepare=builders.ready_for_handover,
        success="Remise enregistrée",
        refusals=(CONCURRENT_CHANGE,),
        final_status=S.DELIVERED,
        transition="hand_over",
        exactly={
            "handovers": 1,
            "audit:delivery.handover": 1,
            "outbox:activation_code": 1,
            "certificates": 1,
        },
    ),
]


def _facts(session: Session, target: builders.Target) -> tuple[str, Counter[str]]:
    """The dossier's status, and counts of what the two requests may have duplicated."""
    session.expire_all()
    dossier = session.get(Dossier, target.dossier_id)
    assert dossier is not None
    facts: Counter[str] = Counter()
    for kind in session.scalars(
        sa.select(Decision.kind).where(Decision.dossier_id == target.dossier_id)
    ):
        facts[f"decision:{kind}"] += 1
    for event in session.scalars(
        sa.select(AuditEvent).where(AuditEvent.dossier_id == target.dossier_id)
    ):
        facts[f"audit:{event.event_type}"] += 1
        if event.event_type == "dossier.transition":
            facts[f"transition:{event.payload['transition']}"] += 1
    for template in session.scalars(
        sa.select(OutboxMessage.template).where(OutboxMessage.dossier_id == target.dossier_id)
    ):
        facts[f"outbox:{template}"] += 1

    def count(model: type, *where: sa.ColumnElement[bool]) -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0

    facts["certificates"] = count(Certificate, Certificate.dossier_id == target.dossier_id)
    facts["handovers"] = count(Handover, Handover.dossier_id == target.dossier_id)
    facts["appointments_booked"] = count(
        Appointment, Appointment.dossier_id == target.dossier_id, Appointment.state == "booked"
    )
    if target.slot_id is not None:
        slot = session.get(PickupSlot, target.slot_id)
        facts["slot_booked"] = slot.booked if slot is not None else -1
    session.commit()  # end the read: the next round's writers must not wait for it
    return dossier.status, facts


def _state_problems(action: Action, status: str, facts: Counter[str]) -> list[str]:
    problems = []
    if status != action.final_status.value:
        problems.append(f"status {status!r}, expected {action.final_status.value!r}")
    expected = dict(action.exactly)
    if action.decision:
        expected[f"decision:{action.decision}"] = 1
    if action.transition:
        expected[f"transition:{action.transition}"] = 1
    problems += [
        f"{name} = {facts[name]}, expected {number}"
        for name, number in expected.items()
        if facts[name] != number
    ]
    # Whatever else happened to the dossier (issuance, delivery) happened at most once.
    problems += [
        f"{name} = {number}, expected at most 1"
        for name, number in facts.items()
        if name.startswith("transition:") and number > 1 and name not in expected
    ]
    if "certificates" not in expected and facts["certificates"] > 1:
        problems.append(f"{facts['certificates']} certificates for one holder")
    return problems


def _signed_in(
    app: Flask, cast: builders.Cast, who: tuple[str, str]
) -> list[tuple[str, FlaskClient]]:
    senders = []
    for index, attribute in enumerate(who, start=1):
        user = getattr(cast, attribute)
        client = app.test_client()
        login(client, user)
        senders.append((f"sender {index} ({attribute})", client))
    return senders


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
def test_the_same_action_sent_twice_at_once_happens_once(app: Flask, action: Action) -> None:
    session = db.session
    cast = builders.Cast.create(session)
    session.commit()
    senders = _signed_in(app, cast, action.senders)
    backend = db.engine.dialect.name

    failed: dict[int, list[str]] = {}
    loser_messages: Counter[str] = Counter()
    kinds: Counter[str] = Counter()  # which checks failed, in how many rounds
    started = time.perf_counter()
    for round_number in range(1, ROUNDS + 1):
        target = action.prepare(session, cast)
        session.commit()
        outcomes = fire_together(
            app,
            senders,
            action.path.format(dossier_id=target.dossier_id, appointment_id=target.appointment_id),
            target.form,
        )
        problems = response_problems(outcomes, success=action.success, refusals=action.refusals)
        status, facts = _facts(session, target)
        problems += _state_problems(action, status, facts)
        loser_messages.update(_danger_messages(outcomes))
        if problems:
            failed[round_number] = problems
            kinds.update({p.split(" — ")[0] for p in problems if not p.startswith("sender ")})
    elapsed = time.perf_counter() - started

    summary = (
        f"{action.name} on {backend}: {len(failed)}/{ROUNDS} rounds failed "
        f"in {elapsed:.1f} s; refusals and errors seen: {dict(loser_messages)}"
    )
    if kinds:
        summary += "; failed checks (rounds): " + "; ".join(
            f"{kind} ({n})" for kind, n in kinds.most_common()
        )
    print(summary)  # collected by `pytest -rA` in the report
    if failed:
        details = "\n".join(
            f"  round {n}:\n    " + "\n    ".join(problems)
            for n, problems in list(failed.items())[:5]
        )
        pytest.fail(f"{summary}\n{details}", pytrace=False)


def _danger_messages(outcomes: list[Outcome]) -> list[str]:
    """What the senders were told when not the success (or what broke), for the summary."""
    seen = []
    for outcome in outcomes:
        if outcome.error or outcome.status >= 500:
            seen.append(f"HTTP {outcome.status}: {outcome.excerpt(120)}")
        seen += [text[:120] for category, text in outcome.flashes if category == "danger"]
    return [re.sub(r"\d+", "N", text) for text in seen]  # times and ids apart, one line each
