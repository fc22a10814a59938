"""The validation queue: dossiers by tab (their verdict, or where the review stands), the
counts on each tab, filters, search, age and the SLA.

Read-only: the queue never changes a dossier, so it stays apart from the claims and the
decisions that do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session, aliased

from ra_workbench.accounts.models import User
from ra_workbench.audit.models import AuditEvent
from ra_workbench.checks.models import CheckResult, CheckRun
from ra_workbench.checks.results import Outcome, Verdict
from ra_workbench.db import utcnow
from ra_workbench.dossiers.labels import PersonRole
from ra_workbench.dossiers.models import Dossier, Organisation, Person
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extraction.names import fold
from ra_workbench.notify.reminders import REMINDER_SENT
from ra_workbench.review.common import ReviewError
from ra_workbench.review.models import DECISION_LABELS_FR, Decision, DecisionKind
from ra_workbench.review.reasons import current_reasons

S = DossierStatus

# What the queue calls failing: a rule that failed, or one that could not run.
FAILING = (Outcome.FAIL, Outcome.ERROR)

# The first tabs are the verdicts themselves (a pending dossier sits in its verdict's tab).
VERDICT_TABS = Verdict.ALL
TABS = (*VERDICT_TABS, "unchecked", "overrides", "waiting_customer", "decided")
TAB_LABELS_FR = {
    Verdict.READY: "Prêts pour validation",
    Verdict.INCOMPLETE: "Incomplets",
    Verdict.WAITING_SIGNATURES: "En attente de signatures",
    Verdict.BLOCKED: "Bloqués",
    "unchecked": "Non contrôlés",
    "overrides": "Dérogations à seconder",
    "waiting_customer": "En attente du client",
    "decided": "Décidés",
}
# A dossier's own verdict, on its badge: singular, and said to be the checks' (a decided
# dossier shows « Refusé · Contrôles : incomplet », not the tab's « Incomplets »).
VERDICT_LABELS_FR = {
    Verdict.READY: "Contrôles : prêt pour validation",
    Verdict.INCOMPLETE: "Contrôles : incomplet",
    Verdict.WAITING_SIGNATURES: "Contrôles : en attente de signatures",
    Verdict.BLOCKED: "Contrôles : bloqué",
}

OPEN_STATUSES = (S.PENDING.value, S.AWAITING_SECOND_APPROVAL.value)
# Asked for documents, not yet re-submitted: the customer has the next move.
WAITING_STATUSES = (S.DOCUMENTS_REQUESTED.value,)
PER_PAGE = 50

# What later domains know a dossier by (delivery's tracking numbers…), supplied by the shell:
# the queue may not import them. A match takes the searched term and returns a query of the
# ids of the dossiers it finds, or None when the term is not of its kind.
SearchMatch = Callable[[str], sa.Select[int] | None]
_search_matches: list[SearchMatch] = []


def also_search(match: SearchMatch) -> None:
    """Let the queue's search find dossiers by `match` too (once, however often called)."""
    if match not in _search_matches:
        _search_matches.append(match)


@dataclass(frozen=True)
class QueueFilters:
    tab: str = Verdict.READY
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
    # « Je souhaite passer en saisie manuelle »: the SIREN was typed, not looked up.
    manual_entry: bool
    delivery_mode: str
    payment_method: str
    status: str
    verdict: str | None
    claimed_by: str | None
    failing_rules: list[str] = field(default_factory=list)
    # The customer sent a new version since the first export (« nouvelle version »).
    revision: int = 1
    # The last decision (label, Paris time) for dossiers no longer waiting for review; their
    # age stops there.
    decision: str | None = None
    decided_at: dt.datetime | None = None
    # Waiting for the customer: since the request, in days, and the reminders sent since.
    waited_days: int | None = None
    reminders: int | None = None


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
    if tab == "waiting_customer":
        return Dossier.status.in_(WAITING_STATUSES)
    if tab == "decided":
        return Dossier.status.not_in((*OPEN_STATUSES, *WAITING_STATUSES))
    raise ValueError(f"unknown queue tab {tab!r}")


def _tab_of(status: str, verdict: str | None) -> str:
    if status == S.AWAITING_SECOND_APPROVAL.value:
        return "overrides"
    if status in WAITING_STATUSES:
        return "waiting_customer"
    if status != S.PENDING.value:
        return "decided"
    if verdict is None:
        return "unchecked"
    return verdict if verdict in VERDICT_TABS else Verdict.BLOCKED


def _latest_run_ids() -> Any:
    """Runs no later run supersedes (served by the index on check_runs(dossier_id, id))."""
    later = aliased(CheckRun)
    return ~sa.exists().where(later.dossier_id == CheckRun.dossier_id, later.id > CheckRun.id)


def _search_condition(term: str) -> sa.ColumnElement[bool] | None:
    term = " ".join(term.split())
    if not term:
        return None
    compact = term.replace(" ", "")
    conditions: list[sa.ColumnElement[bool]] = [
        Dossier.id.in_(ids) for ids in (match(term) for match in _search_matches) if ids is not None
    ]
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
    # Names are stored as typed on the portal, mostly in capitals without accents (the guide
    # asks for it): « Hervé » is looked for as typed and folded (HERVE), in any case.
    spellings = list(dict.fromkeys((term, fold(term))))
    conditions.append(
        Dossier.organisation_id.in_(
            sa.select(Organisation.id).where(
                sa.or_(*(Organisation.name.ilike(_like(s), escape="\\") for s in spellings))
            )
        )
    )
    # A person: every word of the term in the first or the last name ("anne vasseur").
    words = [
        sa.or_(
            *(
                column.ilike(_like(spelling), escape="\\")
                for spelling in dict.fromkeys((word, fold(word)))
                for column in (Person.last_name, Person.first_name)
            )
        )
        for word in term.split(" ")[:4]
    ]
    conditions.append(Dossier.id.in_(sa.select(Person.dossier_id).where(*words)))
    return sa.or_(*conditions)


def search_condition(term: str) -> sa.ColumnElement[bool] | None:
    """The queue's search as a condition on `Dossier`, for the lists of later steps
    (« Envois », « Retraits »): one search everywhere — order number, SIREN, organisation
    and people's names in any case and with or without accents, and whatever the shell
    taught it (tracking numbers). None for an empty term."""
    return _search_condition(term)


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
                CheckResult.outcome.in_(FAILING),
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
        .where(CheckRun.id.in_(sa.select(latest.c.run_id)), CheckResult.outcome.in_(FAILING))
        .order_by(CheckResult.id)
    )
    out: dict[int, list[str]] = {}
    for dossier_id, rule in rows:
        rules = out.setdefault(dossier_id, [])
        if rule not in rules:
            rules.append(rule)
    return out


def _last_decisions(session: Session, ids: list[int]) -> dict[int, tuple[str, dt.datetime]]:
    """Each dossier's latest decision: kind and time."""
    if not ids:
        return {}
    latest = (
        sa.select(sa.func.max(Decision.id))
        .where(Decision.dossier_id.in_(ids))
        .group_by(Decision.dossier_id)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(Decision.dossier_id, Decision.kind, Decision.at).where(Decision.id.in_(latest))
    )
    return {dossier_id: (kind, at) for dossier_id, kind, at in rows}


def _reminders_since(
    session: Session, decisions: dict[int, tuple[str, dt.datetime]]
) -> dict[int, int]:
    """Reminders sent to the customer (the nightly job's `jobs.reminder_sent` entries) since
    each dossier's last decision."""
    waiting = {
        d: at for d, (kind, at) in decisions.items() if kind == DecisionKind.REQUEST_DOCUMENTS
    }
    if not waiting:
        return {}
    counts: dict[int, int] = {}
    for dossier_id, at in session.execute(
        sa.select(AuditEvent.dossier_id, AuditEvent.at).where(
            AuditEvent.event_type == REMINDER_SENT,
            AuditEvent.dossier_id.in_(list(waiting)),
        )
    ):
        if dossier_id is not None and at >= waiting[dossier_id]:
            counts[dossier_id] = counts.get(dossier_id, 0) + 1
    return counts


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
            Dossier.revision,
            Dossier.submitted_at,
            Dossier.delivery_mode,
            Dossier.payment_method,
            Dossier.status,
            Dossier.verdict,
            Dossier.claimed_by_id,
            Dossier.claimed_at,
            Organisation.name,
            Organisation.siren,
            Organisation.manual_entry,
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
    last_decisions = _last_decisions(session, ids)
    reminders = _reminders_since(session, last_decisions)
    cutoff = now - dt.timedelta(minutes=claim_minutes)
    rows = []
    for r in records:
        decided = last_decisions.get(r.id) if r.status not in OPEN_STATUSES else None
        waiting = r.status in WAITING_STATUSES and decided is not None
        age = age_days(r.submitted_at, decided[1] if decided else now)
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
                manual_entry=bool(r.manual_entry),
                delivery_mode=r.delivery_mode,
                payment_method=r.payment_method,
                status=r.status,
                verdict=r.verdict,
                claimed_by=claimed,
                failing_rules=failing.get(r.id, []),
                revision=r.revision,
                decision=DECISION_LABELS_FR.get(decided[0]) if decided else None,
                decided_at=decided[1] if decided else None,
                waited_days=age_days(decided[1], now) if waiting and decided else None,
                reminders=reminders.get(r.id, 0) if waiting else None,
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
