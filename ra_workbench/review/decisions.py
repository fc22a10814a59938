"""Decisions on a dossier: approve, override (and its second approval or refusal), ask for
documents, reject; and re-running the checks before deciding.

Every decision starts from the locked dossier, the actor's claim and the latest check run
on the current revision, saves a `Decision` and moves the dossier through its named
transition, which writes the audit entry. Functions flush; the caller commits once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.accounts.models import User
from ra_workbench.audit.service import record
from ra_workbench.checks.models import CheckResult, CheckRun
from ra_workbench.checks.overrides import HARD_RULE_LABEL_FR, is_hard_failure
from ra_workbench.checks.recheck import recheck
from ra_workbench.checks.results import OUTCOME_ORDER, Outcome
from ra_workbench.checks.rules import Rules
from ra_workbench.checks.service import current_rules, latest_run
from ra_workbench.clock import PARIS, today_in_paris
from ra_workbench.db import utcnow
from ra_workbench.dossiers.lifecycle import changed_message, transition
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.review.claims import claim_is_active, end_claim, holds_claim
from ra_workbench.review.common import ReviewError, get_dossier, locked_dossier
from ra_workbench.review.conflicts import ensure_no_conflict
from ra_workbench.review.evidence import write_evidence
from ra_workbench.review.freshness import (
    changed_explanation,
    coverage_of,
    current_freshness,
    reassess,
    return_to_queue,
)
from ra_workbench.review.models import Decision, DecisionKind
from ra_workbench.review.reasons import ReviewReasons, rule_labels

S = DossierStatus

MIN_JUSTIFICATION_LENGTH = 10


def sorted_results(run: CheckRun | None) -> list[CheckResult]:
    if run is None:
        return []
    return sorted(run.results, key=lambda r: (OUTCOME_ORDER.get(r.outcome, 9), r.rule, r.id))


@dataclass(frozen=True)
class DecisionContext:
    dossier: Dossier
    run: CheckRun | None

    @property
    def checked(self) -> CheckRun:
        if self.run is None:  # _prepare(require_run=True) already refused this
            raise ReviewError("Le dossier n'a pas encore été contrôlé : lancez les contrôles.")
        return self.run


@dataclass(frozen=True)
class Stopped:
    """A step that commits the RA did not happen: the dossier went back to the queue (the
    re-check and the return are kept); `message` is the French explanation to show."""

    message: str


def _claim_needed(dossier: Dossier, actor: User, *, claim_minutes: int) -> str:
    """Why the actor may not decide yet: nobody holds the dossier, or someone else does
    (named, with the Paris time they took it)."""
    holder = dossier.claimed_by
    if (
        holder is None
        or holder.id == actor.id
        or not claim_is_active(dossier, claim_minutes=claim_minutes)
    ):
        return "Prenez d'abord le dossier en charge avant de décider."
    since = (
        f" depuis {dossier.claimed_at.astimezone(PARIS):%H:%M} (heure de Paris)"
        if dossier.claimed_at
        else ""
    )
    return (
        f"{holder.display_name} traite ce dossier{since} : la décision lui revient tant "
        "qu'il le garde."
    )


def _prepare(
    session: Session,
    dossier_id: int,
    actor: User,
    *,
    action: str,
    statuses: Iterable[str],
    claim_minutes: int,
    check_run_id: int | None,
    today: dt.date | None = None,
    permission: str = "review:dossier:decide",
    require_run: bool = True,
) -> DecisionContext:
    if not actor.can(permission):
        raise ReviewError("Vous n'avez pas le droit de prendre cette décision.")
    dossier = locked_dossier(session, dossier_id)
    if dossier.status not in set(statuses):
        raise ReviewError(changed_message(session, dossier, verb="décidé"))
    ensure_no_conflict(dossier, actor, action)
    if not holds_claim(dossier, actor, claim_minutes=claim_minutes):
        raise ReviewError(_claim_needed(dossier, actor, claim_minutes=claim_minutes))
    run = latest_run(session, dossier.id)
    if run is None:
        if require_run:
            raise ReviewError("Le dossier n'a pas encore été contrôlé : lancez les contrôles.")
        return DecisionContext(dossier=dossier, run=None)
    if check_run_id is not None and run.id != check_run_id:
        raise ReviewError(
            "Les contrôles ont été relancés depuis l'affichage de la page : relisez-les."
        )
    if run.revision != dossier.revision:
        raise ReviewError("Les contrôles portent sur une révision antérieure : relancez-les.")
    if today is not None and run.evaluation_date < today:
        raise ReviewError(
            f"Les contrôles datent du {run.evaluation_date:%d/%m/%Y} : relancez-les "
            "avant de valider (les pièces doivent être valables au jour de la décision)."
        )
    return DecisionContext(dossier=dossier, run=run)


def _check_confirmations(
    results: Sequence[CheckResult], confirmations: dict[int, str]
) -> dict[str, Any]:
    stored: dict[str, Any] = {}
    missing = []
    for result in results:
        if result.outcome != Outcome.MANUAL:
            continue
        comment = (confirmations.get(result.id) or "").strip()
        if not comment:
            missing.append(result.rule)
            continue
        stored[str(result.id)] = {
            "rule": result.rule,
            "person_role": result.person_role,
            "comment": comment,
        }
    if missing:
        raise ReviewError(
            "Chaque vérification manuelle doit être confirmée avec un commentaire : "
            + ", ".join(sorted(set(missing)))
        )
    return stored


def _outcomes(results: Sequence[CheckResult], *outcomes: str) -> list[CheckResult]:
    return [r for r in results if r.outcome in outcomes]


def _save(
    session: Session,
    dossier: Dossier,
    kind: str,
    actor: User,
    *,
    run: CheckRun | None,
    comment: str = "",
    reasons: list[Any] | None = None,
    confirmations: dict[str, Any] | None = None,
    overridden_rules: list[Any] | None = None,
    seconds_decision_id: int | None = None,
) -> Decision:
    decision = Decision(
        dossier_id=dossier.id,
        kind=kind,
        actor_id=actor.id,
        at=utcnow(),
        check_run_id=run.id if run is not None else None,
        comment=comment,
        reasons=reasons or [],
        confirmations=confirmations or {},
        overridden_rules=overridden_rules or [],
        seconds_decision_id=seconds_decision_id,
    )
    session.add(decision)
    session.flush()
    return decision


def _decide(
    session: Session,
    ctx: DecisionContext,
    kind: str,
    actor: User,
    *,
    transition_name: str,
    **fields: Any,
) -> Decision:
    """Every decision the same way: stored with the check run it was taken on, the claim
    ended, the dossier moved (compare-and-set; a race's loser stores nothing)."""
    decision = _save(session, ctx.dossier, kind, actor, run=ctx.run, **fields)
    end_claim(ctx.dossier)
    _transition(session, ctx.dossier, transition_name, actor, decision)
    return decision


def _transition(
    session: Session, dossier: Dossier, name: str, actor: User, decision: Decision
) -> None:
    transition(
        session,
        dossier,
        name,
        actor=actor.email,
        actor_id=actor.id,
        payload={
            "decision_id": decision.id,
            "kind": decision.kind,
            "check_run_id": decision.check_run_id,
        },
    )


def approve(
    session: Session,
    dossier_id: int,
    actor: User,
    *,
    check_run_id: int | None,
    confirmations: dict[int, str] | None = None,
    comment: str = "",
    claim_minutes: int,
    today: dt.date | None = None,
) -> Decision:
    """Approve: no `fail`, `error` or `pending` result, every `manual` one confirmed."""
    ctx = _prepare(
        session,
        dossier_id,
        actor,
        action="approve",
        statuses=(S.PENDING.value,),
        claim_minutes=claim_minutes,
        check_run_id=check_run_id,
        today=today or utcnow().date(),
    )
    results = ctx.checked.results
    failing = _outcomes(results, Outcome.FAIL)
    if failing:
        raise ReviewError(
            "Des contrôles sont en échec ("
            + rule_labels(sorted({r.rule for r in failing}))
            + ") : demandez des pièces, refusez, ou dérogez avec justification."
        )
    if _outcomes(results, Outcome.ERROR):
        raise ReviewError("Un contrôle n'a pas pu s'exécuter : relancez les contrôles.")
    pending = _outcomes(results, Outcome.PENDING)
    if pending:
        raise ReviewError(
            "Des contrôles sont en attente ("
            + rule_labels(sorted({r.rule for r in pending}))
            + ") : le dossier ne peut pas encore être validé."
        )
    stored = _check_confirmations(results, confirmations or {})
    decision = _decide(
        session,
        ctx,
        DecisionKind.APPROVE,
        actor,
        transition_name="approve",
        comment=comment.strip(),
        confirmations=stored,
    )
    write_evidence(
        session,
        ctx.dossier,
        decision,
        run=ctx.run,
        decided_by=actor.email,
        decided_at=decision.at,
        seconded_by=None,
        confirmations=stored,
    )
    return decision


def hard_failures(results: Iterable[CheckResult], rules: Rules) -> list[CheckResult]:
    """The failing results no override may set aside (rules/checks.toml, [overrides])."""
    return [r for r in results if is_hard_failure(r.rule, r.outcome, r.evidence, rules)]


class HardRuleOverride(ReviewError):
    """A request to override a hard rule (a forged form: the page offers none)."""

    def __init__(self, results: Sequence[CheckResult], *, check_run_id: int) -> None:
        self.rules = sorted({r.rule for r in results})
        self.result_ids = sorted(r.id for r in results)
        self.check_run_id = check_run_id
        super().__init__(f"{HARD_RULE_LABEL_FR} ({rule_labels(self.rules)}).")


def record_hard_rule_override(
    session: Session, dossier_id: int, actor: User, exc: HardRuleOverride
) -> None:
    """Written in its own unit of work: the refused request itself was rolled back."""
    record(
        session,
        "review.override_refused_hard_rule",
        actor=actor.email,
        actor_id=actor.id,
        dossier=get_dossier(session, dossier_id),
        payload={
            "rules": exc.rules,
            "result_ids": exc.result_ids,
            "check_run_id": exc.check_run_id,
        },
    )


def request_override(
    session: Session,
    dossier_id: int,
    actor: User,
    *,
    check_run_id: int | None,
    justification: str,
    confirmations: dict[int, str] | None = None,
    claim_minutes: int,
    today: dt.date | None = None,
    rules: Rules | None = None,
) -> Decision:
    """Approve despite failing results: takes effect only once a supervisor seconds it.
    Never for a hard rule (`HardRuleOverride`, which the caller audits)."""
    ctx = _prepare(
        session,
        dossier_id,
        actor,
        action="request_override",
        statuses=(S.PENDING.value,),
        claim_minutes=claim_minutes,
        check_run_id=check_run_id,
        today=today or utcnow().date(),
    )
    justification = justification.strip()
    if len(justification) < MIN_JUSTIFICATION_LENGTH:
        raise ReviewError(
            "Une dérogation exige une justification écrite "
            f"(au moins {MIN_JUSTIFICATION_LENGTH} caractères)."
        )
    results = ctx.checked.results
    if _outcomes(results, Outcome.ERROR):
        raise ReviewError(
            "Un contrôle en erreur ne peut pas faire l'objet d'une dérogation : relancez-le."
        )
    if _outcomes(results, Outcome.PENDING):
        raise ReviewError("Des contrôles sont en attente : pas de dérogation possible.")
    failing = _outcomes(results, Outcome.FAIL)
    if not failing:
        raise ReviewError("Aucun contrôle en échec : validez simplement le dossier.")
    hard = hard_failures(failing, rules or current_rules())
    if hard:
        raise HardRuleOverride(hard, check_run_id=ctx.checked.id)
    stored = _check_confirmations(results, confirmations or {})
    overridden = [
        {"result_id": r.id, "rule": r.rule, "person_role": r.person_role, "message": r.message}
        for r in failing
    ]
    decision = _decide(
        session,
        ctx,
        DecisionKind.OVERRIDE_REQUEST,
        actor,
        transition_name="request_override",
        comment=justification,
        confirmations=stored,
        overridden_rules=overridden,
    )
    return decision


def pending_override(session: Session, dossier_id: int) -> Decision | None:
    return session.scalars(
        sa.select(Decision)
        .where(Decision.dossier_id == dossier_id, Decision.kind == DecisionKind.OVERRIDE_REQUEST)
        .order_by(Decision.id.desc())
        .limit(1)
    ).first()


def second_approval(
    session: Session,
    dossier_id: int,
    actor: User,
    *,
    comment: str = "",
    claim_minutes: int,
    now: dt.datetime | None = None,
    today: dt.date | None = None,
) -> Decision | Stopped:
    """A supervisor seconds another person's override (four eyes): the dossier is approved,
    unless the checks, run again when their basis is old or something arrived since, no
    longer confirm it: then the dossier goes back to the queue and `Stopped` says why."""
    ctx = _prepare(
        session,
        dossier_id,
        actor,
        action="second_approval",
        statuses=(S.AWAITING_SECOND_APPROVAL.value,),
        claim_minutes=claim_minutes,
        check_run_id=None,
        permission="review:override:second",
    )
    override = pending_override(session, dossier_id)
    if override is None:
        raise ReviewError("Aucune demande de dérogation à seconder.")
    if override.actor_id == actor.id:
        raise ReviewError("Vous ne pouvez pas seconder votre propre dérogation.")
    # REG-6.3.1-00B: a late second approval does not stand on old results.
    now = now or utcnow()
    today = today or now.astimezone(PARIS).date()
    fresh = reassess(
        session,
        ctx.dossier,
        coverage_of([override]),
        now=now,
        today=today,
        max_age_hours=current_freshness().recheck_after_hours,
        trigger="second_approval",
    )
    if not fresh.stands:
        explanation = changed_explanation("Seconde validation", fresh, today)
        return_to_queue(
            session,
            ctx.dossier,
            step="second_approval",
            explanation=explanation,
            actor=actor.email,
            actor_id=actor.id,
            check_run_id=fresh.run.id,
            rules=[r.rule for r in fresh.changed],
        )
        return Stopped(explanation)
    decision = _decide(
        session,
        DecisionContext(dossier=ctx.dossier, run=fresh.run),
        DecisionKind.SECOND_APPROVAL,
        actor,
        transition_name="second_approval",
        comment=comment.strip(),
        overridden_rules=list(override.overridden_rules),
        seconds_decision_id=override.id,
    )
    write_evidence(
        session,
        ctx.dossier,
        decision,
        run=fresh.run,
        decided_by=override.actor.email,
        decided_at=decision.at,
        seconded_by=actor.email,
        confirmations=override.confirmations or {},
        overridden_rules=override.overridden_rules or [],
    )
    return decision


def refuse_override(
    session: Session,
    dossier_id: int,
    actor: User,
    *,
    comment: str,
    claim_minutes: int,
) -> Decision:
    """A supervisor turns down an override: the dossier goes back to the queue."""
    ctx = _prepare(
        session,
        dossier_id,
        actor,
        action="refuse_override",
        statuses=(S.AWAITING_SECOND_APPROVAL.value,),
        claim_minutes=claim_minutes,
        check_run_id=None,
        permission="review:override:second",
    )
    if not comment.strip():
        raise ReviewError("Expliquez pourquoi la dérogation est refusée.")
    override = pending_override(session, dossier_id)
    decision = _decide(
        session,
        ctx,
        DecisionKind.OVERRIDE_REFUSED,
        actor,
        transition_name="refuse_override",
        comment=comment.strip(),
        seconds_decision_id=override.id if override else None,
    )
    return decision


def request_documents(
    session: Session,
    dossier_id: int,
    actor: User,
    *,
    reasons: ReviewReasons,
    codes: Sequence[str],
    comment: str = "",
    check_run_id: int | None = None,
    claim_minutes: int,
) -> Decision:
    """Ask the customer for documents: the dossier leaves the queue until a new revision."""
    ctx = _prepare(
        session,
        dossier_id,
        actor,
        action="request_documents",
        statuses=(S.PENDING.value,),
        claim_minutes=claim_minutes,
        check_run_id=check_run_id,
    )
    unknown = [c for c in codes if c not in reasons.request]
    if unknown:
        raise ReviewError("Motif inconnu : " + ", ".join(unknown))
    if not codes and not comment.strip():
        raise ReviewError("Choisissez au moins un motif ou précisez la demande.")
    codes = list(dict.fromkeys(codes))
    decision = _decide(
        session,
        ctx,
        DecisionKind.REQUEST_DOCUMENTS,
        actor,
        transition_name="request_documents",
        comment=comment.strip(),
        reasons=[{"rule": code, "label": reasons.request[code]} for code in codes],
    )
    return decision


def documents_requested(session: Session, dossier: Dossier) -> list[str]:
    """What the operator asked the customer to send (French), while the request stands.
    For the portal status API."""
    if dossier.status != S.DOCUMENTS_REQUESTED.value:
        return []
    decision = session.scalars(
        sa.select(Decision)
        .where(Decision.dossier_id == dossier.id, Decision.kind == DecisionKind.REQUEST_DOCUMENTS)
        .order_by(Decision.id.desc())
        .limit(1)
    ).first()
    if decision is None:
        return []
    items = [str(item["label"]) for item in decision.reasons if isinstance(item, dict)]
    if decision.comment:
        items.append(decision.comment)
    return items


def rejection_reason(session: Session, dossier: Dossier) -> str | None:
    """Why the order was refused, in the words the customer reads (the reason chosen; the
    operator's text when the reason is « autre »). None unless the dossier is rejected."""
    if dossier.status != S.REJECTED.value:
        return None
    decision = session.scalars(
        sa.select(Decision)
        .where(Decision.dossier_id == dossier.id, Decision.kind == DecisionKind.REJECT)
        .order_by(Decision.id.desc())
        .limit(1)
    ).first()
    if decision is None:
        return None
    [chosen] = decision.reasons[:1] or [{}]
    if chosen.get("code") == "other" and decision.comment:
        return decision.comment
    return str(chosen.get("label") or decision.comment or "")


def reject(
    session: Session,
    dossier_id: int,
    actor: User,
    *,
    reasons: ReviewReasons,
    reason: str,
    comment: str = "",
    claim_minutes: int,
) -> Decision:
    """Refuse the order: final."""
    if reason not in reasons.reject:
        raise ReviewError("Choisissez un motif de refus dans la liste.")
    if reason == "other" and not comment.strip():
        raise ReviewError("Précisez le motif du refus.")
    ctx = _prepare(
        session,
        dossier_id,
        actor,
        action="reject",
        statuses=(
            S.PENDING.value,
            S.DOCUMENTS_REQUESTED.value,
            S.AWAITING_SECOND_APPROVAL.value,
        ),
        claim_minutes=claim_minutes,
        check_run_id=None,
        require_run=False,
    )
    decision = _decide(
        session,
        ctx,
        DecisionKind.REJECT,
        actor,
        transition_name="reject",
        comment=comment.strip(),
        reasons=[{"code": reason, "label": reasons.reject[reason]}],
    )
    return decision


def decisions_for(session: Session, dossier_id: int) -> list[Decision]:
    return list(
        session.scalars(
            sa.select(Decision).where(Decision.dossier_id == dossier_id).order_by(Decision.id)
        )
    )


def rerun_checks(session: Session, dossier_id: int, actor: User) -> CheckRun:
    """Re-evaluate now (the operator's "Relancer les contrôles" button): the same path as
    the nightly re-check, forced."""
    dossier = get_dossier(session, dossier_id)
    record(
        session, "review.checks_requested", actor=actor.email, actor_id=actor.id, dossier=dossier
    )
    recheck(session, dossier_id, today=today_in_paris(), trigger="manual", force=True)
    run = latest_run(session, dossier_id)
    if run is None:
        raise ReviewError("Les contrôles n'ont pas pu être lancés.")
    return run
