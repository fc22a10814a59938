"""Supervisors' screens: dashboard, overrides awaiting a second approval, quality review,
failed jobs. Thin: parse the request, call one service, render."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session

from ra_workbench.accounts.models import User
from ra_workbench.accounts.permissions import requires
from ra_workbench.audit.service import record
from ra_workbench.clock import parse_day_fr
from ra_workbench.extensions import db
from ra_workbench.jobs.queue import UnknownFailedJob, dispatch, failed_jobs, retry_failed
from ra_workbench.jobs.rules import load_job_rules
from ra_workbench.jobs.tasks import describe
from ra_workbench.review import claims as review_claims
from ra_workbench.review.common import ReviewError
from ra_workbench.review.reasons import rule_label
from ra_workbench.supervision import charts, dashboard
from ra_workbench.supervision import quality as quality_service
from ra_workbench.supervision.break_glass import break_glass_accesses
from ra_workbench.supervision.rules import current_supervision_rules, load_supervision_rules
from ra_workbench.unit import unit_of_work

bp = Blueprint("supervision", __name__, url_prefix="/supervision")

READ = "supervision:dashboard:read"
RETRY = "jobs:failed:retry"
MAX_PERIOD_DAYS = 366


@bp.record_once
def _validate_rules(state: Any) -> None:
    """rules/supervision.toml and rules/jobs.toml are checked at start-up (web, worker,
    scheduler and CLI all build the app): a malformed file stops it, naming file and key."""

    rules_dir = state.app.config["RA_SETTINGS"].rules_dir
    state.app.config["RA_SUPERVISION_RULES"] = load_supervision_rules(rules_dir)
    state.app.config["RA_JOB_RULES"] = load_job_rules(rules_dir)


def _db() -> Session:
    return cast(Session, db.session)


def _me() -> User:
    user: User = current_user._get_current_object()  # type: ignore[attr-defined]
    return user


def _period() -> dashboard.Period:
    today = dt.datetime.now(dashboard.PARIS).date()
    default = dashboard.Period.last_days(current_supervision_rules().dashboard_days, today)
    try:
        start = parse_day_fr(request.args.get("du") or default.start.isoformat())
        end = parse_day_fr(request.args.get("au") or default.end.isoformat())
    except ValueError:
        flash("Période invalide : format JJ/MM/AAAA.", "danger")
        return default
    if end < start or (end - start).days >= MAX_PERIOD_DAYS:
        flash(f"Période invalide (au plus {MAX_PERIOD_DAYS} jours).", "danger")
        return default
    return dashboard.Period(start, end)


@bp.get("/", endpoint="dashboard")
@requires(READ)
def dashboard_page() -> Any:
    period = _period()
    data = dashboard.summary(_db(), period)
    flow = data["flow"]
    labels = [f"{d.day:%d/%m}" for d in flow]
    figures = {
        "flow": charts.line_chart(
            labels,
            [
                charts.Series("Reçus", [d.received for d in flow]),
                charts.Series("Décidés", [d.decided for d in flow]),
                charts.Series("En attente", [d.pending for d in flow]),
            ],
            title="Dossiers reçus, décidés et en attente par jour",
        ),
        "times": charts.bar_chart(
            [(t.operator, round(t.median_hours, 1)) for t in data["times"]],
            title="Délai médian soumission → décision par opérateur (heures)",
            unit=" h",
        ),
        "rejections": charts.bar_chart(data["reasons"].rejections, title="Motifs de refus"),
        "requests": charts.bar_chart(
            data["reasons"].document_requests, title="Motifs de demande de pièces"
        ),
        "rules": charts.bar_chart(
            [(rule_label(r.rule), r.rate) for r in data["rules"] if r.failed][:25],
            title="Taux d'échec par contrôle",
            percent=True,
        ),
        "overrides": charts.bar_chart(
            data["overrides"].by_rule, title="Dérogations demandées par contrôle"
        ),
    }
    return render_template(
        "supervision/dashboard.html",
        period=period,
        data=data,
        figures=figures,
        agreement=quality_service.disagreement_rates(_db()),
    )


@bp.get("/derogations")
@requires(READ)
def overrides() -> Any:
    return render_template(
        "supervision/overrides.html", rows=dashboard.awaiting_second_approval(_db())
    )


@bp.get("/bris-de-glace")
@requires(READ)
def break_glass() -> Any:
    return render_template("supervision/break_glass.html", rows=break_glass_accesses(_db()))


@bp.get("/revue-qualite")
@requires(READ)
def quality() -> Any:
    session = _db()
    return render_template(
        "supervision/quality.html",
        open_rows=quality_service.review_list(session, open_only=True),
        done_rows=quality_service.review_list(session, open_only=False, limit=50),
        agreement=quality_service.disagreement_rates(session),
        rules=current_supervision_rules(),
    )


@bp.post("/revue-qualite/<int:review_id>")
@requires(READ)
def record_review(review_id: int) -> Any:
    verdict = request.form.get("avis")
    if verdict not in ("accord", "desaccord"):
        abort(400)
    try:
        with unit_of_work() as session:
            quality_service.record_review(
                session,
                review_id,
                _me(),
                agrees=verdict == "accord",
                comment=request.form.get("commentaire", "")[:4000],
            )
    except quality_service.QualityReviewError as exc:
        flash(str(exc), "danger")
    else:
        flash("Revue enregistrée.", "success")
    return redirect(url_for("supervision.quality"))


@bp.post("/revue-qualite/echantillon")
@requires(READ)
def draw_sample() -> Any:
    today = dt.datetime.now(dashboard.PARIS).date().isoformat()
    dispatch(
        "ra_workbench.supervision.tasks:sample_quality_reviews",
        today,
        job_id=f"quality-sample:{today}",
    )
    flash("Tirage de l'échantillon lancé.", "info")
    return redirect(url_for("supervision.quality"))


@bp.get("/taches")
@requires(RETRY)
def jobs() -> Any:
    return render_template(
        "supervision/jobs.html",
        jobs=failed_jobs(),
        describe=describe,
        redis=bool(current_app.config["RA_SETTINGS"].redis_url),
    )


@bp.post("/taches/relancer")
@requires(RETRY)
def retry_job() -> Any:
    job_id = request.form.get("job_id", "")[:200]
    backend = request.form.get("backend", "")
    if not job_id or backend not in ("rq", "inline"):
        abort(400)
    with unit_of_work() as session:
        record(
            session,
            "jobs.retried",
            actor=_me().email,
            actor_id=_me().id,
            payload={"job_id": job_id, "backend": backend},
        )
    try:
        retry_failed(job_id, backend)
    except UnknownFailedJob:
        flash("Cette tâche n'est plus en échec (déjà relancée ou expirée).", "danger")
    else:
        flash("Tâche relancée.", "success")
    return redirect(url_for("supervision.jobs"))


# -- claims: who holds which dossier ----------------------------------------------------------

# Freeing or handing over someone else's claim: the supervisors' permission on claims.
CLAIMS_MANAGE = "review:claim:release"


@bp.get("/prises-en-charge")
@requires(READ)
def claims_page() -> Any:
    session = _db()
    minutes = current_app.config["RA_SETTINGS"].claim_minutes
    return render_template(
        "supervision/claims.html",
        rows=review_claims.held_claims(session, claim_minutes=minutes),
        candidates=review_claims.claim_candidates(session),
        claim_minutes=minutes,
        can_manage=_me().can(CLAIMS_MANAGE),
    )


def _posted_id(name: str) -> int:
    raw = request.form.get(name, "")
    if not raw.isdigit() or len(raw) > 12:
        abort(400)
    return int(raw)


def _claim_action(success: str, action: Callable[[Session, User], Any]) -> Any:
    try:
        with unit_of_work() as session:
            action(session, _me())
    except ReviewError as exc:
        flash(str(exc), "danger")
    else:
        flash(success, "success")
    return redirect(url_for("supervision.claims_page"))


@bp.post("/prises-en-charge/<int:dossier_id>/liberer")
@requires(CLAIMS_MANAGE)
def release_claim(dossier_id: int) -> Any:
    holder_id = _posted_id("titulaire")
    holder = _db().get(User, holder_id)
    name = holder.display_name if holder is not None else "l'opérateur"
    return _claim_action(
        f"Dossier libéré : {name} ne le tient plus.",
        lambda s, u: review_claims.release_held(s, dossier_id, u, expected_holder_id=holder_id),
    )


@bp.post("/prises-en-charge/<int:dossier_id>/reassigner")
@requires(CLAIMS_MANAGE)
def reassign_claim(dossier_id: int) -> Any:
    holder_id = _posted_id("titulaire")
    new_id = _posted_id("operateur")
    minutes = current_app.config["RA_SETTINGS"].claim_minutes
    new_holder = _db().get(User, new_id)
    name = new_holder.display_name if new_holder is not None else "l'opérateur choisi"
    return _claim_action(
        f"Dossier réassigné à {name} pour {minutes} minutes.",
        lambda s, u: review_claims.reassign(
            s,
            dossier_id,
            u,
            expected_holder_id=holder_id,
            new_holder_id=new_id,
            claim_minutes=minutes,
        ),
    )
