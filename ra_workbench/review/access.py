"""Who has a need to know for a dossier's identity copies (REG-6.2.2-22/-23): the operator
who holds its claim, and supervisors. documents/ asks through the policy the shell registers
(documents.access.decide_need_to_know_with); anyone else states a reason there."""

from __future__ import annotations

from flask import current_app

from ra_workbench.accounts.models import User
from ra_workbench.dossiers.models import Dossier
from ra_workbench.review.claims import holds_claim

SEE_EVERY_DOSSIER = "documents:identity:view_any"


def need_to_know(dossier: Dossier, user: User) -> str | None:
    if user.can(SEE_EVERY_DOSSIER):
        return "supervisor"
    if holds_claim(dossier, user, claim_minutes=current_app.config["RA_SETTINGS"].claim_minutes):
        return "claimant"
    return None
