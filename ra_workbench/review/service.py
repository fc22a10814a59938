"""The validation queue, claims and decisions.

Every function takes the session and flushes; the caller (a view through
`unit_of_work`, a CLI command, a job) commits once. State changes go through
`ra_workbench.dossiers.states.transition`, which writes the audit entry.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session, aliased

from ra_workbench.accounts.models import User
from ra_workbench.audit.service import record
from ra_workbench.checks.models import CheckResult, CheckRun
from ra_workbench.checks.names import fold
from ra_workbench.checks.recheck import recheck
from ra_workbench.checks.service import latest_run
from ra_workbench.clock import today_in_paris
from ra_workbench.db import utcnow
from ra_workbench.dossiers.lifecycle import changed_message, lock, transition
from ra_workbench.dossiers.models import ROLE_LABELS_FR, Dossier, Organisation, Person, PersonRole
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.review.models import Decision, DecisionKind
from ra_workbench.review.reasons import ReviewReasons, current_reasons

log = logging.getLogger(__name__)

S = DossierStatus

# ---------------------------------------------------------------------------------------
# Outcomes and tabs
# ---------------------------------------------------------------------------------------

FAIL, ERROR, WARN, MANUAL, PENDING, PASS = "fail", "error", "warn", "manual", "pending", "pass"
# Failing first, then what needs a human, then what is fine.
OUTCOME_ORDER = {FAIL: 0, ERROR: 1, MANUAL: 2, PENDING: 3, WARN: 4, PASS: 5}
OUTCOME_LABELS_FR = {
    FAIL: "Échec",
    ERROR: "Erreur",
    MANUAL: "À vérifier",
    PENDING: "En attente",
    WARN: "Avertissement",
    PASS: "Conforme",
}

VERDICT_TABS = ("ready", "incomplete", "waiting_signatures", "blocked")
TABS = (*VERDICT_TABS, "unchecked", "overrides", "decided")
TAB_LABELS_FR = {
    "ready": "Prêts pour validation",
    "incomplete": "Incomplets",
    "waiting_signatures": "En attente de signatures",
    "blocked": "Bloqués",
    "unchecked": "Non contrôlés",
    "overrides": "Dérogations à seconder",
    "decided": "Décidés",
}
VERDICT_LABELS_FR = {tab: TAB_LABELS_FR[tab] for tab in VERDICT_TABS}

# A claim is possible while a decision can still be taken on the dossier.
CLAIMABLE_STATUSES = frozenset(
    {S.PENDING.value, S.AWAITING_SECOND_APPROVAL.value, S.DOCUMENTS_REQUESTED.value}
)
OPEN_STATUSES = (S.PENDING.value, S.AWAITING_SECOND_APPROVAL.value)

MIN_JUSTIFICATION_LENGTH = 10
PER_PAGE = 50


class ReviewError(Exception):
    """A claim or decision refused; the message is French, for the operator."""


# ---------------------------------------------------------------------------------------
# The queue
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    tab: str = "ready"
    delivery_mode: str | None = None
    payment_method: str | None = None
    failing_rule: str | None = None
    min_age_days: int | None = None
    max_age_days: int | None = None
    search: str = ""
    newest_first: bool = False
    page: int = 1
    per_page: int = PER_PAGE


@dataclass
class QueueRow:
    id: int
    order_number: str
    submitted_at: dt.datetime
    age_days: int
    overdue: bool
    organisation: str
    siren: str
    holder: str
    delivery_mode: str
    payment_method: str
    status: str
    verdict: str | None
    claimed_by: str | None
    failing_rules: list[str] = field(default_factory=list)


@dataclass
class QueuePage:
    filters: QueueFilters
    rows: list[QueueRow]
    counts: dict[str, int]
    total: int
    sla_days: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filters.per_page))


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _tab_condition(tab: str) -> sa.ColumnElement[bool]:
    if tab in VERDICT_TABS:
        return sa.and_(Dossier.status == S.PENDING.value, Dossier.verdict == tab)
    if tab == "unchecked":
        return sa.and_(Dossier.status == S.PENDING.value, Dossier.verdict.is_(None))
    if tab == "overrides":
        return Dossier.status == S.AWAITING_SECOND_APPROVAL.value
    if tab == "decided":
        return Dossier.status.not_in(OPEN_STATUSES)
    raise ValueError(f"unknown queue tab {tab!r}")


def _tab_of(status: str, verdict: str | None) -> str:
    if status == S.AWAITING_SECOND_APPROVAL.value:
        return "overrides"
    if status != S.PENDING.value:
        return "decided"
    if verdict is None:
        return "unchecked"
    return verdict if verdict in VERDICT_TABS else "blocked"


def _latest_run_ids() -> Any:
    """Runs no later run supersedes (served by the index on check_runs(dossier_id, id))."""
    later = aliased(CheckRun)
    return ~sa.exists().where(later.dossier_id == CheckRun.dossier_id, later.id > CheckRun.id)


def _search_condition(term: str) -> sa.ColumnElement[bool] | None:
    term = " ".join(term.split())
    if not term:
        return None
    compact = term.replace(" ", "")
    conditions: list[sa.ColumnElement[bool]] = []
    if compact.isdigit():
        # Order numbers and SIRENs are digits: exact matches use the unique/plain indexes.
        conditions.append(Dossier.order_number == compact)
        if len(compact) == 9:
            conditions.append(
                Dossier.organisation_id.in_(
                    sa.select(Organisation.id).where(Organisation.siren == compact)
                )
            )
        if len(compact) == 14:  # a SIRET: its first 9 digits are the SIREN
            conditions.append(
                Dossier.organisation_id.in_(
                    sa.select(Organisation.id).where(Organisation.siren == compact[:9])
                )
            )
        return sa.or_(*conditions)
    like = _like(term)
    conditions.append(
        Dossier.organisation_id.in_(
            sa.select(Organisation.id).where(Organisation.name.ilike(like, escape="\\"))
        )
    )
    # A person: every word of the term in the first or the last name ("anne vasseur").
    words = [
        sa.or_(
            Person.last_name.ilike(_like(word), escape="\\"),
            Person.first_name.ilike(_like(word), escape="\\"),
        )
        for word in term.split(" ")[:4]
    ]
    conditions.append(Dossier.id.in_(sa.select(Person.dossier_id).where(*words)))
    return sa.or_(*conditions)


def _filter_conditions(filters: QueueFilters, now: dt.datetime) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.delivery_mode:
        conditions.append(Dossier.delivery_mode == filters.delivery_mode)
    if filters.payment_method:
        conditions.append(Dossier.payment_method == filters.payment_method)
    if filters.min_age_days is not None:
        conditions.append(Dossier.submitted_at <= now - dt.timedelta(days=filters.min_age_days))
    if filters.max_age_days is not None:
        conditions.append(Dossier.submitted_at > now - dt.timedelta(days=filters.max_age_days + 1))
    if filters.failing_rule:
        failing = (
            sa.select(CheckRun.dossier_id)
            .join(CheckResult, CheckResult.run_id == CheckRun.id)
            .where(
                CheckResult.rule == filters.failing_rule,
                CheckResult.outcome.in_((FAIL, ERROR)),
                _latest_run_ids(),
            )
        )
        conditions.append(Dossier.id.in_(failing))
    search = _search_condition(filters.search)
    if search is not None:
        conditions.append(search)
    return conditions


def queue_counts(session: Session, conditions: Sequence[sa.ColumnElement[bool]]) -> dict[str, int]:
    counts = dict.fromkeys(TABS, 0)
    stmt = sa.select(Dossier.status, Dossier.verdict, sa.func.count()).group_by(
        Dossier.status, Dossier.verdict
    )
    if conditions:
        stmt = stmt.where(*conditions)
    for status, verdict, count in session.execute(stmt):
        counts[_tab_of(status, verdict)] += count
    return counts


def failing_rules_by_dossier(session: Session, dossier_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = list(dossier_ids)
    if not ids:
        return {}
    latest = (
        sa.select(sa.func.max(CheckRun.id).label("run_id"))
        .where(CheckRun.dossier_id.in_(ids))
        .group_by(CheckRun.dossier_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(CheckRun.dossier_id, CheckResult.rule)
        .join(CheckResult, CheckResult.run_id == CheckRun.id)
        .where(CheckRun.id.in_(sa.select(latest.c.run_id)), CheckResult.outcome.in_((FAIL, ERROR)))
        .order_by(CheckResult.id)
    )
    out: dict[int, list[str]] = {}
    for dossier_id, rule in rows:
        rules = out.setdefault(dossier_id, [])
        if rule not in rules:
            rules.append(rule)
    return out


def age_days(submitted_at: dt.datetime, now: dt.datetime) -> int:
    return max(0, (now - submitted_at).days)


def queue(
    session: Session,
    filters: QueueFilters,
    *,
    sla_days: int,
    claim_minutes: int,
    now: dt.datetime | None = None,
) -> QueuePage:
    now = now or utcnow()
    if filters.tab not in TABS:
        raise ReviewError(f"onglet inconnu : {filters.tab}")
    conditions = _filter_conditions(filters, now)
    counts = queue_counts(session, conditions)
    order = Dossier.submitted_at.desc() if filters.newest_first else Dossier.submitted_at.asc()
    page = max(1, filters.page)
    stmt = (
        sa.select(
            Dossier.id,
            Dossier.order_number,
            Dossier.submitted_at,
            Dossier.delivery_mode,
            Dossier.payment_method,
            Dossier.status,
            Dossier.verdict,
            Dossier.claimed_by_id,
            Dossier.claimed_at,
            Organisation.name,
            Organisation.siren,
        )
        .join(Organisation, Organisation.id == Dossier.organisation_id)
        .where(_tab_condition(filters.tab), *conditions)
        .order_by(order, Dossier.id)
        .limit(filters.per_page)
        .offset((page - 1) * filters.per_page)
    )
    records = session.execute(stmt).all()
    ids = [r.id for r in records]
    holders: dict[int, str] = {}
    if ids:
        for dossier_id, first, last in session.execute(
            sa.select(Person.dossier_id, Person.first_name, Person.last_name).where(
                Person.dossier_id.in_(ids), Person.role == PersonRole.HOLDER
            )
        ):
            holders[dossier_id] = f"{first} {last}".strip()
    claimers = {r.claimed_by_id for r in records if r.claimed_by_id is not None}
    names: dict[int, str] = {}
    if claimers:
        for user in session.scalars(sa.select(User).where(User.id.in_(claimers))):
            names[user.id] = user.display_name
    failing = failing_rules_by_dossier(session, ids)
    cutoff = now - dt.timedelta(minutes=claim_minutes)
    rows = []
    for r in records:
        age = age_days(r.submitted_at, now)
        claimed = (
            names.get(r.claimed_by_id)
            if r.claimed_by_id is not None and r.claimed_at is not None and r.claimed_at > cutoff
            else None
        )
        rows.append(
            QueueRow(
                id=r.id,
                order_number=r.order_number,
                submitted_at=r.submitted_at,
                age_days=age,
                overdue=r.status in OPEN_STATUSES and age > sla_days,
                organisation=r.name,
                siren=r.siren,
                holder=holders.get(r.id, ""),
                delivery_mode=r.delivery_mode,
                payment_method=r.payment_method,
                status=r.status,
                verdict=r.verdict,
                claimed_by=claimed,
                failing_rules=failing.get(r.id, []),
            )
        )
    return QueuePage(
        filters=filters, rows=rows, counts=counts, total=counts[filters.tab], sla_days=sla_days
    )


def failing_rule_choices(session: Session) -> list[str]:
    """Rule ids known to the catalogue (from the loaded rules when available)."""

    if has_app_context():
        rules = current_app.config.get("RA_RULES")
        ids = getattr(rules, "rule_ids", None)
        if ids:
            return sorted(ids)
        return sorted(current_reasons().request)
    return []


# ---------------------------------------------------------------------------------------
# Conflict of interest
# ---------------------------------------------------------------------------------------


def normalise_name(value: str) -> str:
    """Case-, accent- and punctuation-blind form for comparing names (checks' folding)."""
    return fold(value)


def conflicting_person(dossier: Dossier, user: User) -> Person | None:
    """The holder, legal representative or mandataire the user is (by e-mail or name)."""
    user_email = (user.email or "").strip().lower()
    user_name = normalise_name(f"{user.first_name} {user.last_name}")
    user_name_reversed = normalise_name(f"{user.last_name} {user.first_name}")
    for person in dossier.people:
        if person.role not in PersonRole.ALL:
            continue
        if user_email and (person.email or "").strip().lower() == user_email:
            return person
        person_name = normalise_name(f"{person.first_name} {person.last_name}")
        if user_name and person_name and person_name in (user_name, user_name_reversed):
            return person
    return None


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
        dossier=_get_dossier(session, dossier_id),
        payload={"action": exc.action, "person_role": exc.person_role},
    )


# ---------------------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------------------


def _get_dossier(session: Session, dossier_id: int) -> Dossier:
    dossier = session.get(Dossier, dossier_id)
    if dossier is None:
        raise ReviewError("Dossier introuvable.")
    return dossier


def _locked_dossier(session: Session, dossier_id: int) -> Dossier:
    """Every decision and release starts here: the row lock makes a second, simultaneous
    request wait, then read the outcome of the first."""
    dossier = lock(session, dossier_id)
    if dossier is None:
        raise ReviewError("Dossier introuvable.")
    return dossier


def claim_is_active(
    dossier: Dossier, *, claim_minutes: int, now: dt.datetime | None = None
) -> bool:
    now = now or utcnow()
    return (
        dossier.claimed_by_id is not None
        and dossier.claimed_at is not None
        and dossier.claimed_at > now - dt.timedelta(minutes=claim_minutes)
    )


def holds_claim(
    dossier: Dossier, user: User, *, claim_minutes: int, now: dt.datetime | None = None
) -> bool:
    return dossier.claimed_by_id == user.id and claim_is_active(
        dossier, claim_minutes=claim_minutes, now=now
    )


def claim(
    session: Session,
    dossier_id: int,
    user: User,
    *,
    claim_minutes: int,
    now: dt.datetime | None = None,
) -> Dossier:
    """Take the dossier for `claim_minutes`. Two operators racing: exactly one wins, because
    the UPDATE only matches a free (or expired, or own) claim and PostgreSQL re-checks the
    condition on the locked row after the other transaction commits."""
    now = now or utcnow()
    if not user.can("review:dossier:claim"):
        raise ReviewError("Vous n'avez pas le droit de prendre en charge un dossier.")
    dossier = _get_dossier(session, dossier_id)
    if dossier.status not in CLAIMABLE_STATUSES:
        raise ReviewError("Ce dossier est déjà décidé : il ne peut plus être pris en charge.")
    if dossier.status == S.AWAITING_SECOND_APPROVAL.value and not user.can(
        "review:override:second"
    ):
        raise ReviewError("Seul un superviseur peut prendre en charge une dérogation à seconder.")
    ensure_no_conflict(dossier, user, "claim")
    cutoff = now - dt.timedelta(minutes=claim_minutes)
    result = session.execute(
        sa.update(Dossier)
        .where(
            Dossier.id == dossier_id,
            Dossier.status.in_(CLAIMABLE_STATUSES),
            sa.or_(
                Dossier.claimed_by_id.is_(None),
                Dossier.claimed_by_id == user.id,
                Dossier.claimed_at.is_(None),
                Dossier.claimed_at < cutoff,
            ),
        )
        .values(claimed_by_id=user.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(dossier)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        holder = dossier.claimed_by.display_name if dossier.claimed_by else "un autre opérateur"
        raise ReviewError(f"Dossier déjà pris en charge par {holder}.")
    record(
        session,
        "review.claimed",
        actor=user.email,
        actor_id=user.id,
        dossier=dossier,
        payload={"until": (now + dt.timedelta(minutes=claim_minutes)).isoformat()},
    )
    return dossier


def release(session: Session, dossier_id: int, user: User) -> Dossier:
    """The holder of a claim gives it back; a supervisor can release anyone's."""
    dossier = _locked_dossier(session, dossier_id)
    if dossier.claimed_by_id is None:
        raise ReviewError("Ce dossier n'est pris en charge par personne.")
    previous = dossier.claimed_by_id
    if previous != user.id and not user.can("review:claim:release"):
        raise ReviewError("Seul un superviseur peut libérer le dossier d'un autre opérateur.")
    dossier.claimed_by_id = None
    dossier.claimed_at = None
    session.flush()
    record(
        session,
        "review.claim_released",
        actor=user.email,
        actor_id=user.id,
        dossier=dossier,
        payload={"claimed_by_id": previous, "by_supervisor": previous != user.id},
    )
    return dossier


def _end_claim(dossier: Dossier) -> None:
    dossier.claimed_by_id = None
    dossier.claimed_at = None


# ---------------------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------------------


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
    dossier = _locked_dossier(session, dossier_id)
    if dossier.status not in set(statuses):
        raise ReviewError(changed_message(session, dossier, verb="décidé"))
    ensure_no_conflict(dossier, actor, action)
    if not holds_claim(dossier, actor, claim_minutes=claim_minutes):
        raise ReviewError("Prenez d'abord le dossier en charge avant de décider.")
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
        if result.outcome != MANUAL:
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
    failing = _outcomes(results, FAIL)
    if failing:
        raise ReviewError(
            "Des contrôles sont en échec ("
            + ", ".join(sorted({r.rule for r in failing}))
            + ") : demandez des pièces, refusez, ou dérogez avec justification."
        )
    if _outcomes(results, ERROR):
        raise ReviewError("Un contrôle n'a pas pu s'exécuter : relancez les contrôles.")
    pending = _outcomes(results, PENDING)
    if pending:
        raise ReviewError(
            "Des contrôles sont en attente ("
            + ", ".join(sorted({r.rule for r in pending}))
            + ") : le dossier ne peut pas encore être validé."
        )
    stored = _check_confirmations(results, confirmations or {})
    decision = _save(
        session,
        ctx.dossier,
        DecisionKind.APPROVE,
        actor,
        run=ctx.run,
        comment=comment.strip(),
        confirmations=stored,
    )
    _end_claim(ctx.dossier)
    _transition(session, ctx.dossier, "approve", actor, decision)
    return decision


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
) -> Decision:
    """Approve despite failing results: takes effect only once a supervisor seconds it."""
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
    if _outcomes(results, ERROR):
        raise ReviewError(
            "Un contrôle en erreur ne peut pas faire l'objet d'une dérogation : relancez-le."
        )
    if _outcomes(results, PENDING):
        raise ReviewError("Des contrôles sont en attente : pas de dérogation possible.")
    failing = _outcomes(results, FAIL)
    if not failing:
        raise ReviewError("Aucun contrôle en échec : validez simplement le dossier.")
    stored = _check_confirmations(results, confirmations or {})
    overridden = [
        {"result_id": r.id, "rule": r.rule, "person_role": r.person_role, "message": r.message}
        for r in failing
    ]
    decision = _save(
        session,
        ctx.dossier,
        DecisionKind.OVERRIDE_REQUEST,
        actor,
        run=ctx.run,
        comment=justification,
        confirmations=stored,
        overridden_rules=overridden,
    )
    _end_claim(ctx.dossier)
    _transition(session, ctx.dossier, "request_override", actor, decision)
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
) -> Decision:
    """A supervisor seconds another person's override (four eyes): the dossier is approved."""
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
    overridden = {item["rule"] for item in override.overridden_rules}
    new_failures = {r.rule for r in _outcomes(ctx.checked.results, FAIL)} - overridden
    if new_failures or _outcomes(ctx.checked.results, ERROR):
        raise ReviewError(
            "Les contrôles ont changé depuis la demande de dérogation : refusez-la pour que "
            "le dossier soit revu."
        )
    decision = _save(
        session,
        ctx.dossier,
        DecisionKind.SECOND_APPROVAL,
        actor,
        run=ctx.run,
        comment=comment.strip(),
        overridden_rules=list(override.overridden_rules),
        seconds_decision_id=override.id,
    )
    _end_claim(ctx.dossier)
    _transition(session, ctx.dossier, "second_approval", actor, decision)
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
    decision = _save(
        session,
        ctx.dossier,
        DecisionKind.OVERRIDE_REFUSED,
        actor,
        run=ctx.run,
        comment=comment.strip(),
        seconds_decision_id=override.id if override else None,
    )
    _end_claim(ctx.dossier)
    _transition(session, ctx.dossier, "refuse_override", actor, decision)
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
    decision = _save(
        session,
        ctx.dossier,
        DecisionKind.REQUEST_DOCUMENTS,
        actor,
        run=ctx.run,
        comment=comment.strip(),
        reasons=[{"rule": code, "label": reasons.request[code]} for code in codes],
    )
    _end_claim(ctx.dossier)
    _transition(session, ctx.dossier, "request_documents", actor, decision)
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
    decision = _save(
        session,
        ctx.dossier,
        DecisionKind.REJECT,
        actor,
        run=ctx.run,
        comment=comment.strip(),
        reasons=[{"code": reason, "label": reasons.reject[reason]}],
    )
    _end_claim(ctx.dossier)
    _transition(session, ctx.dossier, "reject", actor, decision)
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
    dossier = _get_dossier(session, dossier_id)
    record(
        session, "review.checks_requested", actor=actor.email, actor_id=actor.id, dossier=dossier
    )
    recheck(session, dossier_id, today=today_in_paris(), trigger="manual", force=True)
    run = latest_run(session, dossier_id)
    if run is None:
        raise ReviewError("Les contrôles n'ont pas pu être lancés.")
    return run
