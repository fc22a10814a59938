"""Conflict of interest: an operator who is one of the dossier's people (its holder, legal
representative or mandataire) may never claim it or decide on it.

Checked by every claim and every decision; a refusal is written to the audit trail in its
own unit of work, since the refused action itself is rolled back. Who is whom (names and
e-mails unmasked and folded, compared part by part) is `dossiers.people`, which the document
views ask too.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ra_workbench.accounts.models import User
from ra_workbench.audit.service import record
from ra_workbench.dossiers import people
from ra_workbench.dossiers.labels import ROLE_LABELS_FR
from ra_workbench.dossiers.models import Dossier, Person
from ra_workbench.review.common import ReviewError, get_dossier


def conflicting_person(dossier: Dossier, user: User) -> Person | None:
    """The holder, legal representative or mandataire the user is (by e-mail or name)."""
    return people.conflicting_person(dossier.people, user)


class ConflictOfInterest(ReviewError):
    """The user is one of the dossier's people: never allowed to handle it."""

    def __init__(self, message: str, *, action: str, person_role: str) -> None:
        super().__init__(message)
        self.action = action
        self.person_role = person_role


def ensure_no_conflict(dossier: Dossier, user: User, action: str) -> None:
    person = conflicting_person(dossier, user)
    if person is None:
        return

    raise ConflictOfInterest(
        "Conflit d'intérêts : vous êtes "
        f"{ROLE_LABELS_FR.get(person.role, person.role).lower()} de ce dossier, "
        "vous ne pouvez pas le traiter.",
        action=action,
        person_role=person.role,
    )


def record_conflict(session: Session, dossier_id: int, user: User, exc: ConflictOfInterest) -> None:
    """Written in its own unit of work: the refused action itself was rolled back."""
    record(
        session,
        "review.conflict_of_interest",
        actor=user.email,
        actor_id=user.id,
        dossier=get_dossier(session, dossier_id),
        payload={"action": exc.action, "person_role": exc.person_role},
    )
