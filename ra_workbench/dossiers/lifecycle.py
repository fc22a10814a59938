"""Executing the dossier's state machine: lock, compare-and-set, audit, then what follows.

`transition()` is the only way a dossier's status changes. It is one conditional
`UPDATE dossiers SET status = :to WHERE id = :id AND status = :from`; the audit entry and
every hook subscribed with `after()` run only when that UPDATE changed exactly one row, in
the same unit of work (so a failing hook rolls the transition back with it).

Services that change a dossier start with `lock()`: a row lock on PostgreSQL
(`SELECT … FOR UPDATE`), so two requests on one dossier run one after the other and the
second reads what the first wrote. On SQLite, write transactions already begin with
`BEGIN IMMEDIATE` (app.configure_database), which serialises writers the same way.

What follows each transition is wired in one table, `ra_workbench/journey.py`; this module
only offers the registry (Indico's signals, made explicit).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ra_workbench.audit.models import AuditEvent
from ra_workbench.audit.service import SYSTEM_ACTOR, record
from ra_workbench.clock import PARIS
from ra_workbench.db import utcnow
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import (
    STATUS_LABELS_FR,
    TRANSITIONS,
    DossierStatus,
    TransitionError,
)


@dataclass(frozen=True)
class TransitionEvent:
    """What a hook receives: the transition that just happened, inside its unit of work."""

    name: str
    dossier: Dossier
    source: DossierStatus
    target: DossierStatus
    actor: str
    actor_id: int | None
    payload: Mapping[str, Any] = field(default_factory=dict)


Hook = Callable[[Session, TransitionEvent], None]
_hooks: dict[str, list[Hook]] = {}

# What happens to a dossier without a change of status, announced for the journey to follow.
EVENTS = frozenset(
    {
        "received",  # a package created or revised the dossier
        "signature_recorded",  # a signature event that stands (the latest for its signer)
        "certificate_revoked",  # a revocation request ended in the certificate's revocation
    }
)


def after(name: str, hook: Hook) -> None:
    """Subscribe `hook` to transition or event `name` (run in order of subscription, once
    each)."""
    if name not in TRANSITIONS and name not in EVENTS:
        raise ValueError(f"unknown transition or event {name!r}")
    hooks = _hooks.setdefault(name, [])
    if hook not in hooks:
        hooks.append(hook)


def subscribers(name: str) -> tuple[Hook, ...]:
    return tuple(_hooks.get(name, ()))


def reset() -> None:
    """Forget every subscription (the journey wires them again; tests start clean)."""
    _hooks.clear()


class ConcurrentChange(TransitionError):
    """Another request changed the dossier first: the message says who and when."""


def lock(session: Session, dossier_id: int) -> Dossier | None:
    """The dossier, read fresh and locked for the rest of the unit of work."""
    return session.execute(
        sa.select(Dossier)
        .where(Dossier.id == dossier_id)
        .with_for_update(of=Dossier)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def last_change(session: Session, dossier_id: int) -> str:
    """« par j.martin@… à 14:02 » for the latest transition a person made on the dossier."""
    entry = session.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.dossier_id == dossier_id,
            AuditEvent.event_type == "dossier.transition",
            # the person who decided, not the job that issued the certificate right after
            AuditEvent.actor != SYSTEM_ACTOR,
        )
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    if entry is None:
        return ""
    at = entry.at.astimezone(PARIS)
    day = "" if at.date() == utcnow().astimezone(PARIS).date() else f"le {at:%d/%m/%Y} "
    return f"par {entry.actor} {day}à {at:%H:%M}"


def changed_message(session: Session, dossier: Dossier, *, verb: str = "traité") -> str:
    """The French message for the loser of a race, naming the winner's transition."""
    who = last_change(session, dossier.id)
    label = STATUS_LABELS_FR.get(DossierStatus(dossier.status), dossier.status)
    done = " ".join(part for part in (f"Ce dossier vient d'être {verb}", who) if part)
    return f"{done} (état : « {label} »)."


def transition(
    session: Session,
    dossier: Dossier,
    name: str,
    *,
    actor: str,
    actor_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> TransitionEvent:
    spec = TRANSITIONS[name]
    current = DossierStatus(dossier.status)
    if current not in spec.sources:
        raise ConcurrentChange(changed_message(session, dossier))
    session.flush()
    now = utcnow()
    changed = session.execute(
        sa.update(Dossier)
        .where(Dossier.id == dossier.id, Dossier.status == current.value)
        .values(status=spec.target.value, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(dossier)
        raise ConcurrentChange(changed_message(session, dossier))
    set_committed_value(dossier, "status", spec.target.value)
    set_committed_value(dossier, "updated_at", now)
    event = TransitionEvent(
        name=name,
        dossier=dossier,
        source=current,
        target=spec.target,
        actor=actor,
        actor_id=actor_id,
        payload=dict(payload or {}),
    )
    record(
        session,
        "dossier.transition",
        actor=actor,
        actor_id=actor_id,
        dossier=dossier,
        payload={"transition": name, "from": current.value, "to": spec.target.value}
        | (payload or {}),
    )
    for hook in subscribers(name):
        hook(session, event)
    return event


def announce(
    session: Session,
    name: str,
    dossier: Dossier,
    *,
    actor: str,
    actor_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> TransitionEvent:
    """Run the hooks of event `name` (one of EVENTS): the dossier's status stays as it is."""
    if name not in EVENTS:
        raise ValueError(f"unknown event {name!r}")
    status = DossierStatus(dossier.status)
    event = TransitionEvent(
        name=name,
        dossier=dossier,
        source=status,
        target=status,
        actor=actor,
        actor_id=actor_id,
        payload=dict(payload or {}),
    )
    for hook in subscribers(name):
        hook(session, event)
    return event
