"""The operators' screens: the queue, the dossier page and the decision buttons.

Thin: parse the form, call one service function inside a unit of work, flash the French
outcome, redirect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy.orm import Session

from ra_workbench.accounts.models import User
from ra_workbench.accounts.permissions import requires
from ra_workbench.audit.service import record
from ra_workbench.checks.overrides import HARD_RULE_LABEL_FR
from ra_workbench.checks.results import OUTCOME_LABELS_FR, Verdict
from ra_workbench.checks.service import latest_run
from ra_workbench.config import Settings
from ra_workbench.db import utcnow
from ra_workbench.dossiers.labels import ROLE_LABELS_FR
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import STATUS_LABELS_FR, TransitionError
from ra_workbench.extensions import db
from ra_workbench.jobs.rules import current_job_rules
from ra_workbench.review import (
    casefile,
    claims,
    conflicts,
    decisions,
    evidence,
    forms,
    queue,
    waiting,
)
from ra_workbench.review.common import ReviewError
from ra_workbench.review.freshness import load_freshness, returned_explanation
from ra_workbench.review.page import (
    DECISION_LABELS_FR,
    IDENTITY_CHECK_LABELS_FR,
    SIGNATURE_LABELS_FR,
    build_page,
)
from ra_workbench.review.reasons import current_reasons, load_reasons, rule_label
from ra_workbench.unit import unit_of_work

bp = Blueprint("review", __name__, url_prefix="/validation")

DELIVERY_LABELS_FR = {"shipping": "En livraison", "pickup": "À retirer en personne"}
PAYMENT_LABELS_FR = {"card": "Carte bancaire", "transfer": "Virement"}


@bp.record_once
def _validate_reasons(state: Any) -> None:
    """rules/review.toml is checked at start-up: a malformed file stops the app."""

    load_reasons(state.app.config["RA_SETTINGS"].rules_dir)
    state.app.config["RA_FRESHNESS"] = load_freshness(state.app.config["RA_SETTINGS"].rules_dir)


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {
        "delivery_labels": DELIVERY_LABELS_FR,
        "payment_labels": PAYMENT_LABELS_FR,
        "outcome_labels": OUTCOME_LABELS_FR,
        "tab_labels": queue.TAB_LABELS_FR,
        "role_labels": ROLE_LABELS_FR,
        "status_labels": {s.value: label for s, label in STATUS_LABELS_FR.items()},
    }


def _db() -> Session:
    return cast(Session, db.session)


def _settings() -> Settings:
    settings: Settings = current_app.config["RA_SETTINGS"]
    return settings


def _me() -> User:
    user: User = current_user._get_current_object()  # type: ignore[attr-defined]
    return user


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 6 else None


def _filters() -> tuple[queue.QueueFilters, forms.QueueFilterForm]:
    form = forms.QueueFilterForm(request.args)
    rules = queue.failing_rule_choices(_db())
    form.regle.choices = [("", "Tous"), *((r, rule_label(r)) for r in rules)]
    tab = request.args.get("onglet", Verdict.READY)
    if tab not in queue.TABS:
        tab = Verdict.READY
    delivery = request.args.get("livraison") or None
    payment = request.args.get("paiement") or None
    rule = request.args.get("regle") or None
    filters = queue.QueueFilters(
        tab=tab,
        delivery_mode=delivery if delivery in DELIVERY_LABELS_FR else None,
        payment_method=payment if payment in PAYMENT_LABELS_FR else None,
        failing_rule=rule if rule in rules else None,
        min_age_days=_int_arg("age_min"),
        max_age_days=_int_arg("age_max"),
        search=request.args.get("q", "")[:200],
        newest_first=request.args.get("tri") == "recents",
        page=_int_arg("page") or 1,
    )
    return filters, form


@bp.get("/")
@requires("review:dossier:read")
def queue_page() -> Any:
    filters, form = _filters()
    settings = _settings()
    page = queue.queue(
        _db(), filters, sla_days=settings.sla_days, claim_minutes=settings.claim_minutes
    )
    if filters.search and "onglet" not in request.args and page.total == 0:
        # A search from the top bar looks in every tab: open the first one that has a match.
        found = next((tab for tab in queue.TABS if page.counts[tab]), None)
        if found is not None:
            filters = replace(filters, tab=found)
            page = queue.queue(
                _db(), filters, sla_days=settings.sla_days, claim_minutes=settings.claim_minutes
            )
    args = {k: v for k, v in request.args.items() if v and k != "page"}
    args["onglet"] = filters.tab

    def queue_url(**changes: Any) -> str:
        merged = {**args, **changes}
        return url_for(".queue_page", **{k: v for k, v in merged.items() if v not in (None, "")})

    return render_template(
        "review/queue.html", page=page, form=form, tabs=queue.TABS, queue_url=queue_url
    )


@bp.get("/api/file")
@requires("review:dossier:read")
def queue_api() -> Any:
    """The same queue as JSON (counts and the page of rows), for tooling and tests."""
    filters, _ = _filters()
    settings = _settings()
    page = queue.queue(
        _db(), filters, sla_days=settings.sla_days, claim_minutes=settings.claim_minutes
    )
    return jsonify(
        {
            "tab": filters.tab,
            "counts": page.counts,
            "total": page.total,
            "rows": [
                {
                    "order_number": r.order_number,
                    "submitted_at": r.submitted_at.isoformat(),
                    "age_days": r.age_days,
                    "overdue": r.overdue,
                    "organisation": r.organisation,
                    "holder": r.holder,
                    "verdict": r.verdict,
                    "status": r.status,
                    "claimed_by": r.claimed_by,
                    "failing_rules": r.failing_rules,
                    "url": url_for(".dossier_page", dossier_id=r.id),
                }
                for r in page.rows
            ],
        }
    )


def _dossier(dossier_id: int) -> Dossier:
    dossier = _db().get(Dossier, dossier_id)
    if dossier is None:
        abort(404)
    return dossier


@bp.get("/dossiers/<int:dossier_id>")
@requires("review:dossier:read")
def dossier_page(dossier_id: int) -> Any:
    dossier = _dossier(dossier_id)
    settings = _settings()
    page = build_page(
        _db(),
        dossier,
        _me(),
        sla_days=settings.sla_days,
        claim_minutes=settings.claim_minutes,
        max_pdf_pages=current_app.config["RA_RULES"].files.max_pdf_pages,
        now=utcnow(),
    )
    reasons = current_reasons()
    failing = [r.rule for r in page.results if r.outcome in queue.FAILING]
    approve = forms.approve_form(page.results)
    override = forms.override_form(page.results)
    hard = decisions.hard_failures(page.results, current_app.config["RA_RULES"])
    request_form = forms.request_documents_form(reasons, failing)
    for form in (approve, override, request_form):
        form.check_run_id.data = str(page.run.id) if page.run else ""
    return render_template(
        "review/dossier.html",
        page=page,
        approve_form=approve,
        override_form=override,
        hard_result_ids={r.id for r in hard},
        hard_rule_label=HARD_RULE_LABEL_FR,
        request_form=request_form,
        reject_form=forms.reject_form(reasons),
        second_form=forms.SecondApprovalForm(prefix="second"),
        refuse_override_form=forms.RefuseOverrideForm(prefix="refuse"),
        action_form=forms.ActionForm(),
        reasons=reasons,
        decision_labels=DECISION_LABELS_FR,
        signature_labels=SIGNATURE_LABELS_FR,
        identity_check_labels=IDENTITY_CHECK_LABELS_FR,
        can_second=_me().can("review:override:second"),
        returned=returned_explanation(_db(), dossier),
        reminders=waiting.reminder_schedule(_db(), dossier, rules=current_job_rules().reminders),
        evidence=evidence.evidence_for(_db(), dossier.id),
        evidence_type_labels=evidence.DOCUMENT_TYPE_LABELS_FR,
        can_export_evidence=_me().can(EVIDENCE_EXPORT_PERMISSION),
        can_release=_me().can("review:claim:release"),
        sections=casefile.case_sections(_db(), dossier),
        note_form=forms.NoteForm(prefix="note"),
    )


# The auditors' export of the registration evidence: for supervisors (and admins).
EVIDENCE_EXPORT_PERMISSION = "audit:trail:read"


@bp.get("/dossiers/<int:dossier_id>/preuves.zip")
@requires(EVIDENCE_EXPORT_PERMISSION)
def evidence_export(dossier_id: int) -> Any:
    """The dossier's evidence records, signed by the RA's evidence seal (a zip: the JSON, its
    detached CMS signature, the chain); the download is audited."""
    _dossier(dossier_id)
    user = _me()
    with unit_of_work() as session:
        dossier = session.get(Dossier, dossier_id)
        if dossier is None:  # deleted since the check above
            abort(404)
        signed = evidence.export(
            session,
            dossier,
            seal=evidence.export_seal(),
            exported_by=user.email,
            now=utcnow(),
        )
        record(
            session,
            "review.evidence_exported",
            actor=user.email,
            actor_id=user.id,
            dossier=dossier,
            payload={"records": signed.records, "sha256": signed.sha256},
        )
    response = current_app.response_class(signed.zip(), mimetype="application/zip")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="preuves-{signed.order_number}.zip"'
    )
    return response


def _act(
    dossier_id: int,
    success: str,
    action: Callable[[Session, User], Any],
    *,
    then_next: bool = False,
) -> Any:
    """Run one service call in a unit of work; flash its French outcome; back to the page,
    or, after a success with `then_next` (« Valider et dossier suivant »), on to the next
    dossier, claimed."""
    user = _me()
    try:
        with unit_of_work() as session:
            outcome = action(session, user)
    except conflicts.ConflictOfInterest as exc:
        with unit_of_work() as session:
            conflicts.record_conflict(session, dossier_id, user, exc)
        flash(str(exc), "danger")
        return _typed_again(dossier_id)
    except decisions.HardRuleOverride as exc:
        with unit_of_work() as session:
            decisions.record_hard_rule_override(session, dossier_id, user, exc)
        flash(str(exc), "danger")
        return _typed_again(dossier_id)
    except (ReviewError, TransitionError) as exc:
        flash(str(exc), "danger")
        return _typed_again(dossier_id)
    else:
        if isinstance(outcome, decisions.Stopped):  # committed: the dossier went back
            flash(outcome.message, "danger")
        else:
            flash(success, "success")
            if then_next:
                return _open_next(skip=dossier_id)
    return redirect(url_for(".dossier_page", dossier_id=dossier_id))


def _open_next(*, skip: int | None) -> Any:
    minutes = _settings().claim_minutes
    with unit_of_work() as session:
        nxt = claims.claim_next(session, _me(), claim_minutes=minutes, skip=skip)
        next_id = nxt.id if nxt is not None else None
        order = nxt.order_number if nxt is not None else ""
    if next_id is None:
        flash("Aucun autre dossier à traiter pour le moment.", "success")
        return redirect(url_for(".queue_page"))
    flash(f"Dossier {order} pris en charge pour {minutes} minutes.", "success")
    return redirect(url_for(".dossier_page", dossier_id=next_id))


@bp.post("/dossiers/<int:dossier_id>/notes")
@requires("review:dossier:read")
def add_note(dossier_id: int) -> Any:
    form = forms.NoteForm(prefix="note")
    if not form.validate_on_submit():
        return _invalid(form, dossier_id)
    body = form.body.data or ""
    return _act(dossier_id, "Note ajoutée.", lambda s, u: casefile.add_note(s, dossier_id, u, body))


@bp.post("/suivant")
@requires("review:dossier:claim")
def next_dossier() -> Any:
    """« Traiter le dossier suivant » (queue) and « Dossier suivant » (dossier page, which
    gives back the dossier left without a decision): claim the next pending dossier, open it."""
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    left = request.form.get("laisser", type=int)
    if left is not None:
        with unit_of_work() as session:
            dossier = session.get(Dossier, left)
            if dossier is not None and dossier.claimed_by_id == _me().id:
                claims.release(session, left, _me())
    return _open_next(skip=left)


def _invalid(form: Any, dossier_id: int) -> Any:
    messages = [f"{form[name].label.text} : {' '.join(errs)}" for name, errs in form.errors.items()]
    flash("Formulaire incomplet — " + " ; ".join(messages), "danger")
    return _typed_again(dossier_id)


def _typed_again(dossier_id: int) -> Any:
    """After a refused form: the dossier page again, in this request, so that its forms
    (bound to what was posted) still hold what was typed; a redirect would lose it."""
    return dossier_page(dossier_id)


@bp.post("/dossiers/<int:dossier_id>/prendre")
@requires("review:dossier:claim")
def claim(dossier_id: int) -> Any:
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    minutes = _settings().claim_minutes
    return _act(
        dossier_id,
        f"Dossier pris en charge pour {minutes} minutes.",
        lambda s, u: claims.claim(s, dossier_id, u, claim_minutes=minutes),
    )


@bp.post("/dossiers/<int:dossier_id>/liberer")
@requires("review:dossier:claim")
def release(dossier_id: int) -> Any:
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    return _act(dossier_id, "Dossier libéré.", lambda s, u: claims.release(s, dossier_id, u))


@bp.post("/dossiers/<int:dossier_id>/controler")
@requires("review:dossier:decide")
def rerun(dossier_id: int) -> Any:
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    return _act(
        dossier_id, "Contrôles relancés.", lambda s, u: decisions.rerun_checks(s, dossier_id, u)
    )


def _results(dossier_id: int) -> list[Any]:
    return decisions.sorted_results(latest_run(_db(), dossier_id))


@bp.post("/dossiers/<int:dossier_id>/valider")
@requires("review:dossier:decide")
def approve(dossier_id: int) -> Any:
    form = forms.approve_form(_results(dossier_id))
    if not form.validate_on_submit():
        return _invalid(form, dossier_id)
    minutes = _settings().claim_minutes
    return _act(
        dossier_id,
        "Dossier validé : la génération du certificat est lancée.",
        lambda s, u: decisions.approve(
            s,
            dossier_id,
            u,
            check_run_id=form.run_id(),
            confirmations=form.confirmations(),
            comment=form.comment.data or "",
            claim_minutes=minutes,
        ),
        then_next=bool(request.form.get("suivant")),
    )


@bp.post("/dossiers/<int:dossier_id>/deroger")
@requires("review:dossier:decide")
def override(dossier_id: int) -> Any:
    form = forms.override_form(_results(dossier_id))
    if not form.validate_on_submit():
        return _invalid(form, dossier_id)
    minutes = _settings().claim_minutes
    return _act(
        dossier_id,
        "Dérogation enregistrée : elle attend la validation d'un superviseur.",
        lambda s, u: decisions.request_override(
            s,
            dossier_id,
            u,
            check_run_id=form.run_id(),
            justification=form.justification.data or "",
            confirmations=form.confirmations(),
            claim_minutes=minutes,
        ),
    )


@bp.post("/dossiers/<int:dossier_id>/seconder")
@requires("review:override:second")
def second(dossier_id: int) -> Any:
    form = forms.SecondApprovalForm(prefix="second")
    if not form.validate_on_submit():
        return _invalid(form, dossier_id)
    minutes = _settings().claim_minutes
    return _act(
        dossier_id,
        "Dérogation secondée : le dossier est validé.",
        lambda s, u: decisions.second_approval(
            s, dossier_id, u, comment=form.comment.data or "", claim_minutes=minutes
        ),
    )


@bp.post("/dossiers/<int:dossier_id>/refuser-derogation")
@requires("review:override:second")
def refuse_override(dossier_id: int) -> Any:
    form = forms.RefuseOverrideForm(prefix="refuse")
    if not form.validate_on_submit():
        return _invalid(form, dossier_id)
    minutes = _settings().claim_minutes
    return _act(
        dossier_id,
        "Dérogation refusée : le dossier revient dans la file.",
        lambda s, u: decisions.refuse_override(
            s, dossier_id, u, comment=form.comment.data or "", claim_minutes=minutes
        ),
    )


@bp.post("/dossiers/<int:dossier_id>/demander-pieces")
@requires("review:dossier:decide")
def request_documents(dossier_id: int) -> Any:
    reasons = current_reasons()
    form = forms.request_documents_form(reasons)
    if not form.validate_on_submit():
        return _invalid(form, dossier_id)
    run_id = int(form.check_run_id.data) if (form.check_run_id.data or "").isdigit() else None
    minutes = _settings().claim_minutes
    return _act(
        dossier_id,
        "Pièces demandées au client : le dossier sort de la file jusqu'à sa nouvelle version.",
        lambda s, u: decisions.request_documents(
            s,
            dossier_id,
            u,
            reasons=reasons,
            codes=list(form.reasons.data or []),
            comment=form.comment.data or "",
            check_run_id=run_id,
            claim_minutes=minutes,
        ),
        then_next=bool(request.form.get("suivant")),
    )


@bp.post("/dossiers/<int:dossier_id>/refuser")
@requires("review:dossier:decide")
def reject(dossier_id: int) -> Any:
    reasons = current_reasons()
    form = forms.reject_form(reasons)
    if not form.validate_on_submit():
        return _invalid(form, dossier_id)
    minutes = _settings().claim_minutes
    return _act(
        dossier_id,
        "Dossier refusé.",
        lambda s, u: decisions.reject(
            s,
            dossier_id,
            u,
            reasons=reasons,
            reason=form.reason.data or "",
            comment=form.comment.data or "",
            claim_minutes=minutes,
        ),
    )


@bp.context_processor
def _claimable() -> dict[str, Any]:
    """The queue offers « Prendre et ouvrir » on the rows a claim is possible on."""
    return {"claimable_statuses": claims.CLAIMABLE_STATUSES}


def _back_to_queue() -> str:
    """Where « Prendre et ouvrir » came from (the queue, with its tab and filters)."""
    target = request.form.get("next", "")
    queue_root = url_for(".queue_page")
    return target if target.startswith(queue_root) else queue_root


@bp.post("/dossiers/<int:dossier_id>/prendre-et-ouvrir")
@requires("review:dossier:claim")
def claim_and_open(dossier_id: int) -> Any:
    """From the queue, in one action: take the dossier (the same compare-and-set claim as the
    dossier page's button) and open it; taken by someone else, back to the queue, told who."""
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    user = _me()
    minutes = _settings().claim_minutes
    try:
        with unit_of_work() as session:
            claims.claim(session, dossier_id, user, claim_minutes=minutes)
    except conflicts.ConflictOfInterest as exc:
        with unit_of_work() as session:
            conflicts.record_conflict(session, dossier_id, user, exc)
        flash(str(exc), "danger")
    except ReviewError as exc:
        flash(str(exc), "danger")
    else:
        flash(f"Dossier pris en charge pour {minutes} minutes.", "success")
        return redirect(url_for(".dossier_page", dossier_id=dossier_id))
    return redirect(_back_to_queue())
