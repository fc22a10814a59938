"""The supervisors' figures, read-only: flow per day, decision times per operator, reasons,
failure rate per rule, overrides. Days are Europe/Paris days; a period is [start, end].

Everything is computed over the period's rows only (and the latest check run per dossier
for the failure rates), with indexed range queries, so the page stays fast as the history
grows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.accounts.models import User
from ra_workbench.checks.models import CheckResult, CheckRun
from ra_workbench.checks.results import Outcome
from ra_workbench.clock import PARIS
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.review.models import Decision, DecisionKind

# The decisions that end the wait: the dossier is approved (or the override seconded), or
# refused. A request for documents hands the dossier back to the customer.
FINAL_KINDS = (DecisionKind.APPROVE, DecisionKind.SECOND_APPROVAL, DecisionKind.REJECT)
# An operator's own decisions, timed from the customer's submission.
OPERATOR_KINDS = (
    DecisionKind.APPROVE,
    DecisionKind.REJECT,
    DecisionKind.REQUEST_DOCUMENTS,
    DecisionKind.OVERRIDE_REQUEST,
)


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date

    @classmethod
    def last_days(cls, days: int, today: dt.date) -> Period:
        return cls(today - dt.timedelta(days=days - 1), today)

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min, tzinfo=PARIS).astimezone(dt.UTC)

    @property
    def end_at(self) -> dt.datetime:
        """Exclusive: midnight after the last day."""
        next_day = self.end + dt.timedelta(days=1)
        return dt.datetime.combine(next_day, dt.time.min, tzinfo=PARIS).astimezone(dt.UTC)

    def days(self) -> list[dt.date]:
        count = (self.end - self.start).days + 1
        return [self.start + dt.timedelta(days=i) for i in range(count)]


def _paris_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(PARIS).date()


@dataclass(frozen=True)
class DayFlow:
    day: dt.date
    received: int
    decided: int
    pending: int  # received by the end of the day and not yet finally decided


def daily_flow(session: Session, period: Period) -> list[DayFlow]:
    first_final = (
        sa.select(Decision.dossier_id, sa.func.min(Decision.at).label("at"))
        .where(Decision.kind.in_(FINAL_KINDS))
        .group_by(Decision.dossier_id)
        .subquery()
    )
    received_before = session.scalar(
        sa.select(sa.func.count()).select_from(Dossier).where(Dossier.received_at < period.start_at)
    )
    decided_before = session.scalar(
        sa.select(sa.func.count())
        .select_from(first_final)
        .join(Dossier, Dossier.id == first_final.c.dossier_id)
        .where(first_final.c.at < period.start_at, Dossier.received_at < period.start_at)
    )
    received = Counter(
        _paris_day(at)
        for at in session.scalars(
            sa.select(Dossier.received_at).where(
                Dossier.received_at >= period.start_at, Dossier.received_at < period.end_at
            )
        )
    )
    decided = Counter(
        _paris_day(at)
        for at in session.scalars(
            sa.select(Decision.at).where(
                Decision.kind.in_(FINAL_KINDS),
                Decision.at >= period.start_at,
                Decision.at < period.end_at,
            )
        )
    )
    # Backlog: a dossier counts once, until its first final decision.
    closed = Counter(
        _paris_day(at)
        for at in session.scalars(
            sa.select(first_final.c.at).where(
                first_final.c.at >= period.start_at, first_final.c.at < period.end_at
            )
        )
    )
    backlog = int(received_before or 0) - int(decided_before or 0)
    flow = []
    for day in period.days():
        backlog += received[day] - closed[day]
        flow.append(DayFlow(day, received[day], decided[day], max(backlog, 0)))
    return flow


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class OperatorTimes:
    operator: str
    decisions: int
    median_hours: float
    p90_hours: float


def decision_times(session: Session, period: Period) -> list[OperatorTimes]:
    rows = session.execute(
        sa.select(User, Decision.at, Dossier.submitted_at)
        .join(Decision, Decision.actor_id == User.id)
        .join(Dossier, Dossier.id == Decision.dossier_id)
        .where(
            Decision.kind.in_(OPERATOR_KINDS),
            Decision.at >= period.start_at,
            Decision.at < period.end_at,
        )
    )
    hours: dict[str, list[float]] = defaultdict(list)
    for user, at, submitted in rows:
        hours[user.display_name].append(max((at - submitted).total_seconds(), 0) / 3600)
    return sorted(
        (
            OperatorTimes(name, len(values), percentile(values, 50), percentile(values, 90))
            for name, values in hours.items()
        ),
        key=lambda t: t.operator,
    )


@dataclass(frozen=True)
class ReasonCounts:
    rejections: list[tuple[str, int]]
    document_requests: list[tuple[str, int]]


def reasons(session: Session, period: Period) -> ReasonCounts:
    rejections: Counter[str] = Counter()
    requests: Counter[str] = Counter()
    rows = session.execute(
        sa.select(Decision.kind, Decision.reasons).where(
            Decision.kind.in_((DecisionKind.REJECT, DecisionKind.REQUEST_DOCUMENTS)),
            Decision.at >= period.start_at,
            Decision.at < period.end_at,
        )
    )
    for kind, items in rows:
        target = rejections if kind == DecisionKind.REJECT else requests
        for item in items or []:
            if isinstance(item, dict):
                target[str(item.get("label") or item.get("code") or item.get("rule") or "?")] += 1
    return ReasonCounts(rejections.most_common(), requests.most_common())


@dataclass(frozen=True)
class RuleRate:
    rule: str
    failed: int
    evaluated: int

    @property
    def rate(self) -> float:
        return self.failed / self.evaluated if self.evaluated else 0.0


def rule_failure_rates(session: Session, period: Period) -> list[RuleRate]:
    """Per rule, the share of dossiers received in the period whose latest check run
    fails it."""
    latest = (
        sa.select(sa.func.max(CheckRun.id).label("run_id"))
        .join(Dossier, Dossier.id == CheckRun.dossier_id)
        .where(Dossier.received_at >= period.start_at, Dossier.received_at < period.end_at)
        .group_by(CheckRun.dossier_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(
            CheckResult.rule,
            sa.func.count(sa.distinct(CheckResult.run_id)),
            sa.func.count(
                sa.distinct(sa.case((CheckResult.outcome == Outcome.FAIL, CheckResult.run_id)))
            ),
        )
        .join(latest, latest.c.run_id == CheckResult.run_id)
        .group_by(CheckResult.rule)
    )
    rates = [RuleRate(rule, int(failed), int(total)) for rule, total, failed in rows]
    return sorted(rates, key=lambda r: (-r.rate, r.rule))


@dataclass(frozen=True)
class OverrideSummary:
    requested: int
    seconded: int
    refused: int
    awaiting: int
    by_rule: list[tuple[str, int]]
    by_operator: list[tuple[str, int]]


def overrides(session: Session, period: Period) -> OverrideSummary:
    kinds = Counter(
        session.scalars(
            sa.select(Decision.kind).where(
                Decision.kind.in_(
                    (
                        DecisionKind.OVERRIDE_REQUEST,
                        DecisionKind.SECOND_APPROVAL,
                        DecisionKind.OVERRIDE_REFUSED,
                    )
                ),
                Decision.at >= period.start_at,
                Decision.at < period.end_at,
            )
        )
    )
    by_rule: Counter[str] = Counter()
    by_operator: Counter[str] = Counter()
    for user, overridden in session.execute(
        sa.select(User, Decision.overridden_rules)
        .join(User, User.id == Decision.actor_id)
        .where(
            Decision.kind == DecisionKind.OVERRIDE_REQUEST,
            Decision.at >= period.start_at,
            Decision.at < period.end_at,
        )
    ):
        by_operator[user.display_name] += 1
        for item in overridden or []:
            if isinstance(item, dict) and item.get("rule"):
                by_rule[str(item["rule"])] += 1
    awaiting = session.scalar(
        sa.select(sa.func.count())
        .select_from(Dossier)
        .where(Dossier.status == DossierStatus.AWAITING_SECOND_APPROVAL.value)
    )
    return OverrideSummary(
        requested=kinds[DecisionKind.OVERRIDE_REQUEST],
        seconded=kinds[DecisionKind.SECOND_APPROVAL],
        refused=kinds[DecisionKind.OVERRIDE_REFUSED],
        awaiting=int(awaiting or 0),
        by_rule=by_rule.most_common(),
        by_operator=by_operator.most_common(),
    )


@dataclass(frozen=True)
class AwaitingOverride:
    dossier_id: int
    order_number: str
    organisation: str
    requested_by: str
    requested_at: dt.datetime
    justification: str
    rules: list[str]


def awaiting_second_approval(session: Session) -> list[AwaitingOverride]:
    """Dossiers whose override waits for a supervisor, oldest request first."""
    latest_request = (
        sa.select(sa.func.max(Decision.id))
        .where(
            Decision.dossier_id == Dossier.id,
            Decision.kind == DecisionKind.OVERRIDE_REQUEST,
        )
        .correlate(Dossier)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(Dossier, Decision, User)
        .join(Decision, Decision.id == latest_request)
        .join(User, User.id == Decision.actor_id)
        .where(Dossier.status == DossierStatus.AWAITING_SECOND_APPROVAL.value)
        .order_by(Decision.at)
    )
    result = []
    for dossier, decision, user in rows:
        rules = [str(i.get("rule")) for i in decision.overridden_rules or [] if isinstance(i, dict)]
        result.append(
            AwaitingOverride(
                dossier.id,
                dossier.order_number,
                dossier.organisation.name,
                user.display_name,
                decision.at,
                decision.comment,
                sorted(set(rules)),
            )
        )
    return result


def summary(session: Session, period: Period) -> dict[str, Any]:
    """Everything the dashboard shows, for one period."""
    return {
        "period": period,
        "flow": daily_flow(session, period),
        "times": decision_times(session, period),
        "reasons": reasons(session, period),
        "rules": rule_failure_rates(session, period),
        "overrides": overrides(session, period),
    }
