"""Audit tasks run by the job queue (rq or inline), inside the runner's unit of work.

`seal_head` is the scheduled seal (rules/jobs.toml, `schedule.audit_seal`): verify the trail,
seal its head in every anchor place, and send the signed seal to the supervisors
(RA_WORKBENCH_AUDIT_SEAL_TO) — or an alert when the trail no longer verifies. How the
notice leaves is registered by the app factory (app.py, configure_audit: the notify outbox).
"""

from __future__ import annotations

from typing import cast

from sqlalchemy.orm import Session

from ra_workbench.audit import service
from ra_workbench.extensions import db
from ra_workbench.unit import commit


class SealRefused(Exception):
    """The trail did not verify: nothing sealed, supervisors alerted. Raised after the
    alert is committed, so the job shows in the failed jobs (Supervision → Tâches)."""


def seal_head(today: str | None = None) -> int:
    """The periodic seal; returns the sealed entry count (0: empty trail). `today` (the
    scheduler's occurrence day) is not used: a seal always carries the real time."""
    session = cast(Session, db.session)
    outcome = service.seal_head(session)
    if outcome.refused:
        commit(session)  # the alert goes out even though the job then fails
        problem = outcome.report.problem
        raise SealRefused(f"journal altéré, non scellé : {problem.message if problem else '?'}")
    return outcome.seal.seq if outcome.seal is not None else 0
