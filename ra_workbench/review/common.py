"""What every part of the review domain shares: its error and how it loads a dossier.

The queue, the claims, the conflict-of-interest check and the decisions all import this
module and it imports none of them, so they can lean on one another without a cycle.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ra_workbench.dossiers.lifecycle import lock
from ra_workbench.dossiers.models import Dossier


class ReviewError(Exception):
    """A claim or decision refused; the message is French, for the operator."""


def get_dossier(session: Session, dossier_id: int) -> Dossier:
    dossier = session.get(Dossier, dossier_id)
    if dossier is None:
        raise ReviewError("Dossier introuvable.")
    return dossier


def locked_dossier(session: Session, dossier_id: int) -> Dossier:
    """Every decision and release starts here: the row lock makes a second, simultaneous
    request wait, then read the outcome of the first."""
    dossier = lock(session, dossier_id)
    if dossier is None:
        raise ReviewError("Dossier introuvable.")
    return dossier
