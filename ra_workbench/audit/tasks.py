"""Audit tasks run by the job queue (rq or inline), inside the runner's unit of work.

`seal_head` is the scheduled seal (rules/jobs.toml, `schedule.audit_seal`): verify the trail,
seal its head in every anchor place, and e-mail the signed seal to the supervisors
(RA_WORKBENCH_AUDIT_SEAL_TO) — or an alert when the trail no longer verifies.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy.orm import Session

from ra_workbench.audit.seal import SealNotice

SEAL_TEMPLATE = "audit_seal"  # the outbox's template column: which kind of message this is


class SealRefused(Exception):
    """The trail did not verify: nothing sealed, supervisors alerted. Raised after the
    alert is committed, so the job shows in the failed jobs (Supervision → Tâches)."""


def outbox_mailer(session: Session, recipient: str, notice: SealNotice, dedup_key: str) -> None:
    """Hand a seal notice to the outbox, sent by notify's job after the commit.

    The audit domain sits below notify: this shell (a job entry point, like the CLI) is the
    one place in audit that reaches up, and only at call time. notify's templates are for
    customers, so the already-rendered notice is stored as it is, through the outbox model
    and notify's own sender task."""
    import sqlalchemy as sa

    from ra_workbench.notify.models import OutboxMessage
    from ra_workbench.notify.service import SEND_TASK, Channel, MessageState
    from ra_workbench.unit import defer_job

    key = dedup_key[:200]
    if session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedup_key == key)):
        return
    message = OutboxMessage(
        dossier_id=None,
        channel=Channel.EMAIL,
        recipient=recipient,
        template=SEAL_TEMPLATE,
        subject=notice.subject[:300],
        body=notice.body,
        state=MessageState.QUEUED,
        dedup_key=key,
    )
    session.add(message)
    session.flush()
    defer_job(session, SEND_TASK, message.id, job_id=f"notify-{message.id}")


def seal_head(today: str | None = None) -> int:
    """The periodic seal; returns the sealed entry count (0: empty trail). `today` (the
    scheduler's occurrence day) is not used: a seal always carries the real time."""
    from ra_workbench.audit import service
    from ra_workbench.extensions import db
    from ra_workbench.unit import commit

    session = cast(Session, db.session)
    outcome = service.seal_head(session, mailer=outbox_mailer)
    if outcome.refused:
        commit(session)  # the alert goes out even though the job then fails
        problem = outcome.report.problem
        raise SealRefused(f"journal altéré, non scellé : {problem.message if problem else '?'}")
    return outcome.seal.seq if outcome.seal is not None else 0
