"""Staff screens: « Révocations » (the queue), a request's page (certificate, dossier,
requester and the check of their link, the trail; claim, decide, check afterwards), and the
form that opens a request from a certificate.

Thin: parse, call one service inside a unit of work, flash the French outcome, redirect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import BooleanField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from ra_workbench.accounts.models import User
from ra_workbench.accounts.permissions import requires
from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.models import Certificate
from ra_workbench.dossiers.labels import ROLE_LABELS_FR
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.revocation import service
from ra_workbench.revocation.models import RevocationRequest, RevocationState
from ra_workbench.unit import unit_of_work

bp = Blueprint("revocation", __name__, url_prefix="/revocations")

EVENT_LABELS_FR = {
    "revocation.requested": "Demande ouverte",
    "revocation.claimed": "Prise en charge",
    "revocation.released": "Libérée",
    "revocation.decided": "Décision",
    "revocation.revoked_at_once": "Révocation immédiate",
    "revocation.immediate_failed": "Révocation immédiate refusée par l'AC",
    "revocation.checked_afterwards": "Contrôle a posteriori",
    "issuance.certificate_revoked": "Certificat révoqué par l'AC",
}


@bp.app_template_filter("revocation_reason")
def revocation_reason(reason: str | None) -> str:
    """« Compromission de la clé » for `keyCompromise` (RFC 5280 code, on any page)."""
    return service.reason_label(reason)


class ActionForm(FlaskForm):
    """A button carrying only the CSRF token (claim, release)."""


class DecisionForm(FlaskForm):
    decision = RadioField(
        "Décision",
        choices=[(service.Decision.REVOKE, "Révoquer"), (service.Decision.REFUSE, "Refuser")],
        validators=[DataRequired("Choisissez « Révoquer » ou « Refuser ».")],
    )
    comment = TextAreaField(
        "Motif de la décision",
        validators=[Length(max=service.MAX_COMMENT)],
    )
    link_confirmed = BooleanField(
        "J'ai vérifié autrement le lien du demandeur avec l'organisation (dites comment dans "
        "le motif)"
    )


class AfterCheckForm(FlaskForm):
    comment = TextAreaField(
        "Ce que vous avez contrôlé", validators=[Length(max=service.MAX_COMMENT)]
    )


class OpenForm(FlaskForm):
    ground = SelectField(
        "Motif",
        choices=[("", "— choisir —")]
        + [(key, label) for key, (label, _reason) in service.STAFF_GROUNDS.items()],
    )
    comment = TextAreaField(
        "Circonstances (qui a signalé, quand, comment)",
        validators=[Length(max=service.MAX_COMMENT)],
    )


def _session() -> Session:
    return cast(Session, db.session)


def _me() -> User:
    user: User = current_user._get_current_object()  # type: ignore[attr-defined]
    return user


def _claim_minutes() -> int:
    return int(current_app.config["RA_SETTINGS"].claim_minutes)


def _act(request_id: int, success: str, action: Callable[[Session, User], Any]) -> Any:
    user = _me()
    try:
        with unit_of_work() as session:
            action(session, user)
    except service.RevocationError as exc:
        flash(str(exc), "danger")
    else:
        flash(success, "success")
    return redirect(url_for(".request_page", request_id=request_id))


@bp.get("/")
@requires("revocation:request:read")
def queue_page() -> Any:
    session = _session()
    decided = session.execute(
        sa.select(RevocationRequest, Dossier.order_number)
        .join(Dossier, Dossier.id == RevocationRequest.dossier_id)
        .where(RevocationRequest.state.in_((RevocationState.REVOKED, RevocationState.REFUSED)))
        .order_by(RevocationRequest.decided_at.desc(), RevocationRequest.id.desc())
        .limit(50)
    ).all()
    return render_template(
        "revocation/queue.html",
        rows=service.queue(session),
        decided=decided,
        state_labels=service.STATE_LABELS_FR,
        source_labels=service.SOURCE_LABELS_FR,
        requester_labels=service.REQUESTER_LABELS_FR,
        reason_label=service.reason_label,
    )


def _request(request_id: int) -> RevocationRequest:
    request = _session().get(RevocationRequest, request_id)
    if request is None:
        abort(404)
    return request


@bp.get("/<int:request_id>")
@requires("revocation:request:read")
def request_page(request_id: int) -> Any:
    session = _session()
    revocation = _request(request_id)
    certificate = session.get(Certificate, revocation.certificate_id)
    dossier = session.get(Dossier, revocation.dossier_id)
    trail = [
        event
        for event in session.scalars(
            sa.select(AuditEvent)
            .where(
                AuditEvent.dossier_id == revocation.dossier_id,
                AuditEvent.event_type.in_(EVENT_LABELS_FR),
            )
            .order_by(AuditEvent.seq)
        )
        if (event.payload or {}).get("request_id") == revocation.id
        or (
            event.event_type == "issuance.certificate_revoked"
            and revocation.state == RevocationState.REVOKED
            and (event.payload or {}).get("certificate_id") == revocation.certificate_id
        )
    ]
    me = _me()
    return render_template(
        "revocation/request.html",
        revocation=revocation,
        certificate=certificate,
        dossier=dossier,
        trail=trail,
        event_labels=EVENT_LABELS_FR,
        people={u.id: u.display_name for u in session.scalars(sa.select(User))},
        state_labels=service.STATE_LABELS_FR,
        source_labels=service.SOURCE_LABELS_FR,
        requester_labels=service.REQUESTER_LABELS_FR,
        role_labels=ROLE_LABELS_FR,
        ground_labels={k: label for k, (label, _r) in service.STAFF_GROUNDS.items()},
        reason_label=service.reason_label,
        claimed_by_me=revocation.state == RevocationState.CLAIMED
        and revocation.claimed_by_id == me.id,
        opened_by_me=revocation.opened_by_id is not None and revocation.opened_by_id == me.id,
        undecided=revocation.state in RevocationState.UNDECIDED,
        action_form=ActionForm(),
        decision_form=DecisionForm(),
        after_check_form=AfterCheckForm(),
    )


@bp.post("/<int:request_id>/prendre")
@requires("revocation:request:decide")
def claim(request_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    minutes = _claim_minutes()
    return _act(
        request_id,
        f"Demande prise en charge pour {minutes} minutes.",
        lambda s, u: service.claim(s, request_id, u, claim_minutes=minutes),
    )


@bp.post("/<int:request_id>/liberer")
@requires("revocation:request:decide")
def release(request_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(request_id, "Demande libérée.", lambda s, u: service.release(s, request_id, u))


@bp.post("/<int:request_id>/decider")
@requires("revocation:request:decide")
def decide(request_id: int) -> Any:
    form = DecisionForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "danger")
        return redirect(url_for(".request_page", request_id=request_id))
    decision = str(form.decision.data)
    return _act(
        request_id,
        "Certificat révoqué ; le client et le porteur sont prévenus."
        if decision == service.Decision.REVOKE
        else "Demande de révocation refusée ; le certificat reste valide.",
        lambda s, u: service.decide(
            s,
            request_id,
            u,
            decision=decision,
            comment=form.comment.data or "",
            link_confirmed=bool(form.link_confirmed.data),
            claim_minutes=_claim_minutes(),
        ),
    )


@bp.post("/<int:request_id>/controler")
@requires("revocation:request:decide")
def check_afterwards(request_id: int) -> Any:
    form = AfterCheckForm()
    if not form.validate_on_submit():
        abort(400)
    return _act(
        request_id,
        "Contrôle a posteriori enregistré.",
        lambda s, u: service.check_afterwards(s, request_id, u, comment=form.comment.data or ""),
    )


@bp.route("/certificats/<int:certificate_id>/demander", methods=["GET", "POST"])
@requires("revocation:request:open")
def open_request(certificate_id: int) -> Any:
    session = _session()
    certificate = session.get(Certificate, certificate_id)
    if certificate is None:
        abort(404)
    form = OpenForm()
    if form.validate_on_submit():
        user = _me()
        try:
            with unit_of_work() as work:
                opened = service.open_by_staff(
                    work,
                    certificate_id,
                    user,
                    ground=str(form.ground.data or ""),
                    comment=form.comment.data or "",
                )
                opened_id, state = opened.id, opened.state
        except service.RevocationError as exc:
            flash(str(exc), "danger")
        else:
            flash(
                "Certificat révoqué immédiatement ; un second membre de l'équipe doit "
                "contrôler la demande."
                if state == RevocationState.REVOKED
                else "Demande de révocation ouverte : un autre membre de l'équipe doit la "
                "décider (double contrôle).",
                "success",
            )
            return redirect(url_for(".request_page", request_id=opened_id))
    return render_template(
        "revocation/open.html",
        certificate=certificate,
        dossier=session.get(Dossier, certificate.dossier_id),
        pending=service.undecided_request(session, certificate.id),
        form=form,
        immediate_grounds=[
            label
            for label, reason in service.STAFF_GROUNDS.values()
            if reason in service.IMMEDIATE_REASONS
        ],
    )
