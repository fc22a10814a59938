"""Check tasks run by the job queue (rq or inline)."""

from __future__ import annotations


def run_checks(dossier_id: int, trigger: str = "manual") -> None:
    from typing import cast

    from sqlalchemy.orm import Session

    from ra_workbench.checks.service import evaluate_dossier
    from ra_workbench.extensions import db

    evaluate_dossier(cast(Session, db.session), dossier_id, trigger=trigger)
