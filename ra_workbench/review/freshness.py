"""Fresh at every step that commits the RA (EN 319 411-1 REG-6.3.1-00B).

An operator's decision stands on one check run. Before a later step acts on it — a
supervisor seconding an override, the issuance job asking the CA — the checks are run
again when that run is older than `[freshness] recheck_after_hours` (rules/review.toml) or
when something arrived after it (a signature event, a revision), through the function
beneath the one re-check path (`checks.service.evaluate_dossier`). When a rule that
passed, or that the override set aside, now fails in a way the decision did not cover, the
step stops: the dossier goes back to the validation queue through the `return_to_queue`
transition (compare-and-set, audited), and the caller shows the French explanation.

Services flush; the request or job commits (the re-check and the return are kept even
though the step did not happen).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from ra_workbench.audit.models import AuditEvent
from ra_workbench.checks.models import CheckResult, CheckRun
from ra_workbench.checks.overrides import is_hard_failure
from ra_workbench.checks.results import Outcome
from ra_workbench.checks.rules import Rules
from ra_workbench.checks.service import current_rules, evaluate_dossier, latest_run
from ra_workbench.clock import PARIS
from ra_workbench.dossiers.labels import ROLE_LABELS_FR
from ra_workbench.dossiers.lifecycle import transition
from ra_workbench.dossiers.models import Dossier, DossierRevision, SignatureEvent
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.review.claims import end_claim
from ra_workbench.review.models import Decision
from ra_workbench.review.reasons import rule_label

REVIEW_RULES_FILE = "review.toml"
MAX_RECHECK_HOURS = 24 * 7

# (rule, person_role): what a decision covered, per person.
Key = tuple[str, str | None]


class FreshnessRulesError(RuntimeError):
    """`[freshness]` of rules/review.toml is malformed (message in French, names the key)."""


@dataclass(frozen=True)
class FreshnessRules:
    recheck_after_hours: int


def parse_freshness(path: Path, data: dict[str, object]) -> FreshnessRules:
    table = data.get("freshness")
    if not isinstance(table, dict):
        raise FreshnessRulesError(f"{path}: table [freshness] absente")
    hours = table.get("recheck_after_hours")
    if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= MAX_RECHECK_HOURS:
        raise FreshnessRulesError(
            f"{path}: [freshness] recheck_after_hours : entier de 1 à {MAX_RECHECK_HOURS} "
            f"heures attendu, lu {hours!r}"
        )
    return FreshnessRules(recheck_after_hours=hours)


def load_freshness(rules_dir: Path) -> FreshnessRules:
    path = rules_dir / REVIEW_RULES_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FreshnessRulesError(f"{path}: fichier introuvable") from exc
    except tomllib.TOMLDecodeError as exc:
        raise FreshnessRulesError(f"{path}: TOML invalide ({exc})") from exc
    return parse_freshness(path, data)


def current_freshness() -> FreshnessRules:
    rules = current_app.config.get("RA_FRESHNESS")
    if rules is None:
        rules = load_freshness(current_app.config["RA_SETTINGS"].rules_dir)
        current_app.config["RA_FRESHNESS"] = rules
    return rules  # type: ignore[no-any-return]


# -- what a decision covered -----------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """What the decision accepted besides passing results: failures an override set
    aside, manual checks an operator confirmed, each for one person."""

    overridden: frozenset[Key] = frozenset()
    confirmed: frozenset[Key] = frozenset()


def coverage_of(decisions: Iterable[Decision]) -> Coverage:
    overridden: set[Key] = set()
    confirmed: set[Key] = set()
    for decision in decisions:
        for item in decision.overridden_rules or []:
            overridden.add((str(item["rule"]), item.get("person_role")))
        for item in (decision.confirmations or {}).values():
            confirmed.add((str(item["rule"]), item.get("person_role")))
    return Coverage(frozenset(overridden), frozenset(confirmed))


def uncovered(
    results: Sequence[CheckResult], coverage: Coverage, rules: Rules | None = None
) -> list[CheckResult]:
    """Results that the decision did not accept: a failure not overridden for that person
    (or one no override may set aside, a hard rule), an error or a pending check, a manual
    check nobody confirmed."""
    out = []
    for result in results:
        key = (result.rule, result.person_role)
        hard = rules is not None and is_hard_failure(
            result.rule, result.outcome, result.evidence, rules
        )
        if (
            (result.outcome == Outcome.FAIL and (hard or key not in coverage.overridden))
            or result.outcome in {Outcome.ERROR, Outcome.PENDING}
            or (
                result.outcome == Outcome.MANUAL
                and key not in coverage.confirmed
                and key not in coverage.overridden
            )
        ):
            out.append(result)
    return sorted(out, key=lambda r: (r.rule, r.person_role or ""))


# -- is the basis still fresh? ---------------------------------------------------------------


def staleness(
    session: Session, dossier: Dossier, run: CheckRun, *, now: dt.datetime, max_age_hours: int
) -> str | None:
    """Why `run` can no longer be relied on (French), or None."""
    if run.revision != dossier.revision:
        return "une nouvelle révision du dossier est arrivée depuis"
    if run.created_at < now - dt.timedelta(hours=max_age_hours):
        at = run.created_at.astimezone(PARIS)
        return f"les contrôles dataient du {at:%d/%m/%Y à %H:%M} (plus de {max_age_hours} h)"
    signed = session.scalar(
        sa.select(sa.func.max(SignatureEvent.received_at)).where(
            SignatureEvent.dossier_id == dossier.id
        )
    )
    if signed is not None and signed > run.created_at:
        return "un événement de signature est arrivé depuis"
    revised = session.scalar(
        sa.select(sa.func.max(DossierRevision.received_at)).where(
            DossierRevision.dossier_id == dossier.id
        )
    )
    if revised is not None and revised > run.created_at:
        return "de nouvelles pièces sont arrivées depuis"
    return None


@dataclass(frozen=True)
class Reassessment:
    run: CheckRun  # the run the step now stands on
    rechecked: bool
    reason: str  # why the checks were run again ("" when they were not)
    changed: tuple[CheckResult, ...]  # what the decision did not cover

    @property
    def stands(self) -> bool:
        return not self.changed

    def changed_fr(self) -> str:
        def named(result: CheckResult) -> str:
            role = result.person_role
            who = f" ({ROLE_LABELS_FR.get(role, role)})" if role else ""
            return rule_label(result.rule) + who

        return ", ".join(named(r) for r in self.changed)


def reassess(
    session: Session,
    dossier: Dossier,
    coverage: Coverage,
    *,
    now: dt.datetime,
    today: dt.date,
    max_age_hours: int,
    trigger: str,
) -> Reassessment:
    """The latest run if it is still fresh, else a new one as of `today`; and what in it
    the decision did not cover."""
    run = latest_run(session, dossier.id)
    reason = (
        "aucun contrôle enregistré"
        if run is None
        else staleness(session, dossier, run, now=now, max_age_hours=max_age_hours)
    )
    rechecked = reason is not None
    if run is None or reason is not None:
        run = evaluate_dossier(session, dossier.id, trigger=trigger, at=today)
    return Reassessment(
        run=run,
        rechecked=rechecked,
        reason=reason or "",
        changed=tuple(uncovered(run.results, coverage, current_rules())),
    )


def return_to_queue(
    session: Session,
    dossier: Dossier,
    *,
    step: str,
    explanation: str,
    actor: str,
    actor_id: int | None = None,
    check_run_id: int | None = None,
    rules: Sequence[str] = (),
) -> None:
    """Send the dossier back to the validation queue (audited with the French explanation:
    rule ids and dates only, no identity data)."""
    end_claim(dossier)
    transition(
        session,
        dossier,
        "return_to_queue",
        actor=actor,
        actor_id=actor_id,
        payload={
            "step": step,
            "explanation": explanation,
            "check_run_id": check_run_id,
            "rules": sorted(set(rules)),
        },
    )


def changed_explanation(step_fr: str, reassessment: Reassessment, today: dt.date) -> str:
    when = (
        f"Les contrôles relancés le {today:%d/%m/%Y} ({reassessment.reason})"
        if reassessment.rechecked
        else "Les contrôles les plus récents"
    )
    return (
        f"{step_fr} arrêtée : {when} ne confirment plus la décision — "
        f"{reassessment.changed_fr()}. Le dossier revient dans la file de validation."
    )


def returned_explanation(session: Session, dossier: Dossier) -> str | None:
    """Why the dossier is back in the queue (French), while it waits for a new decision:
    the explanation of its latest transition when that was a return to the queue (an
    issuance stopped by the job has nobody to tell but the next operator)."""
    if dossier.status != DossierStatus.PENDING.value:
        return None
    entry = session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.dossier_id == dossier.id, AuditEvent.event_type == "dossier.transition")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    if entry is None or (entry.payload or {}).get("transition") != "return_to_queue":
        return None
    return str(entry.payload.get("explanation") or "")
