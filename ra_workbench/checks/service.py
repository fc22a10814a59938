"""Run the checks on a dossier and keep the outcome: the one code path behind the ingestion
job, signature events, the operator's button, the CLI and the schedule.

Services flush and never commit; the job, request or CLI command commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, scoped_session, selectinload

from ra_workbench.audit.service import record
from ra_workbench.checks import engine
from ra_workbench.checks.facts import DossierFacts
from ra_workbench.checks.gather import build_facts, load_dossier
from ra_workbench.checks.models import CheckResult, CheckRun
from ra_workbench.checks.results import Outcome, RuleResult
from ra_workbench.checks.rules import Rules
from ra_workbench.clock import today_in_paris
from ra_workbench.db import utcnow
from ra_workbench.documents.extraction_service import extractions_for, extractor_version
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import VALIDATED_STATUSES, DossierStatus

# Dossiers still awaiting a decision: their verdict can change with time (an identity
# document expires, a Kbis ages) and is re-evaluated by `check --all-pending`.
UNDECIDED_STATUSES = (
    DossierStatus.PENDING.value,
    DossierStatus.DOCUMENTS_REQUESTED.value,
    DossierStatus.AWAITING_SECOND_APPROVAL.value,
)


class CheckError(Exception):
    """The checks cannot be run (unknown dossier); the message is French."""


def current_rules() -> Rules:
    rules: Rules = current_app.config["RA_RULES"]
    return rules


def inputs_hash(facts: DossierFacts, rules: Rules, on: dt.date, version: str) -> str:
    """Equal fingerprints mean equal inputs, hence equal results. The facts are frozen
    dataclasses of tuples, strings, numbers and dates, whose repr is canonical (and much
    cheaper than a JSON round trip on the re-evaluation path)."""
    canonical = repr((facts, rules.content_hash, on.isoformat(), version))
    return hashlib.sha256(canonical.encode()).hexdigest()


def evaluate_dossier(
    session: Session,
    dossier_id: int,
    *,
    trigger: str,
    at: dt.date | None = None,
    rules: Rules | None = None,
) -> CheckRun:
    """Evaluate every rule on the dossier's current revision, store the run and its
    results, update the dossier's verdict and write the audit entry. Flushes."""
    dossier = load_dossier(session, dossier_id)
    if dossier is None:
        raise CheckError(f"dossier inconnu : {dossier_id}")
    rules = rules or current_rules()
    on = at or today_in_paris()
    version = extractor_version()
    # The extractor reads with the real date (two-digit years, derived expiries): what it
    # reads is cached and must not depend on the date a run is evaluated at.
    read_on = today_in_paris()
    facts = build_facts(
        session,
        dossier,
        today=on,
        extract=lambda s, documents: extractions_for(s, documents, today=read_on),
    )
    evaluation = engine.evaluate(facts, rules, on)
    run = CheckRun(
        dossier_id=dossier.id,
        revision=dossier.revision,
        evaluation_date=on,
        rules_hash=rules.content_hash,
        extractor_version=version,
        verdict=evaluation.verdict,
        trigger=trigger,
        inputs_hash=inputs_hash(facts, rules, on, version),
    )
    session.add(run)
    previous = dossier.verdict
    dossier.verdict = evaluation.verdict
    dossier.verdict_at = utcnow()
    session.flush()
    # One Core executemany (no per-row ORM bookkeeping): ~25 rows per run, and every
    # pending dossier is re-evaluated on schedule. `run.results` loads on first access.
    session.execute(
        sa.insert(cast(sa.Table, CheckResult.__table__)),
        [
            {
                "run_id": run.id,
                "rule": r.rule,
                "outcome": r.outcome,
                "message": r.message,
                "person_role": r.person_role,
                "document_id": r.document_id,
                "evidence": dict(r.evidence),
            }
            for r in evaluation.results
        ],
    )
    counts = Counter(r.outcome for r in evaluation.results)
    # Rule ids and counts only: the results (with identity data) stay in check_results.
    record(
        session,
        "checks.run",
        dossier=dossier,
        payload={
            "run_id": run.id,
            "trigger": trigger,
            "revision": dossier.revision,
            "evaluation_date": on.isoformat(),
            "verdict": evaluation.verdict,
            "previous_verdict": previous,
            "rules_hash": rules.content_hash,
            "extractor_version": version,
            "inputs_hash": run.inputs_hash,
            "outcomes": dict(sorted(counts.items())),
            "failed": sorted({r.rule for r in evaluation.results if r.outcome == Outcome.FAIL}),
        },
    )
    return run


def latest_run(session: Session | scoped_session[Any], dossier_id: int) -> CheckRun | None:
    return session.scalars(
        sa.select(CheckRun)
        .where(CheckRun.dossier_id == dossier_id)
        .options(selectinload(CheckRun.results))
        .order_by(CheckRun.id.desc())
        .limit(1)
    ).first()


def renewed_certificate_id(run: CheckRun | None) -> int | None:
    """The certificate the dossier's order renews, as the run's holder.unique found it
    (its evidence's `renews`), or None."""
    for result in run.results if run is not None else ():
        if result.rule == "holder.unique" and result.outcome == Outcome.PASS:
            renews = (result.evidence or {}).get("renews") or {}
            found = renews.get("certificate_id")
            return found if isinstance(found, int) else None
    return None


def stored_results(run: CheckRun) -> list[RuleResult]:
    return [
        RuleResult(
            rule=r.rule,
            outcome=r.outcome,
            message=r.message,
            person_role=r.person_role,
            document_id=r.document_id,
            evidence=r.evidence or {},
        )
        for r in run.results
    ]


def customer_requests(
    session: Session | scoped_session[Any], dossier: Dossier, *, rules: Rules | None = None
) -> list[str]:
    """What the customer must still send or correct (French), from the latest check run;
    empty once CertEurope has decided."""
    if DossierStatus(dossier.status) in VALIDATED_STATUSES:
        return []
    run = latest_run(session, dossier.id)
    if run is None:
        return []
    return engine.customer_requests(stored_results(run), rules or current_rules())


def find_dossier_id(session: Session, order_number: str) -> int | None:
    return session.scalar(sa.select(Dossier.id).where(Dossier.order_number == order_number))


def run_to_json(order_number: str, run: CheckRun) -> dict[str, Any]:
    """The CLI's (and any API's) view of a run."""
    return {
        "order_number": order_number,
        "evaluated_at": run.evaluation_date.isoformat(),
        "verdict": run.verdict,
        "results": [r.to_json() for r in stored_results(run)],
    }
