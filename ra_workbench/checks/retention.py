"""Check evidence of an abandoned dossier: the results keep their rule, outcome and dates
(what was decided on), not what they quoted (names, document numbers, MRZ lines)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.checks.models import CheckResult, CheckRun

ERASED_FR = "Détail effacé à l'issue de la durée de conservation."


def erase_check_evidence(session: Session, dossier_id: int) -> int:
    """Blank the evidence and message of every result of the dossier's runs; flushes."""
    runs = sa.select(CheckRun.id).where(CheckRun.dossier_id == dossier_id)
    result = session.execute(
        sa.update(CheckResult)
        .where(CheckResult.run_id.in_(runs), CheckResult.message != ERASED_FR)
        .values(evidence={}, message=ERASED_FR)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)
