"""The outbox for staff: every message with its state; a failed one can be sent again."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from ra_workbench.accounts.permissions import requires
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.notify import service
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.unit import unit_of_work

bp = Blueprint("notify", __name__, url_prefix="/messages")
PAGE_SIZE = 200


class ActionForm(FlaskForm):
    """A button carrying only the CSRF token."""


def _session() -> Session:
    return cast(Session, db.session)


@bp.get("/")
@requires("notify:outbox:read")
def outbox() -> Any:
    state = request.args.get("etat") or ""
    order = (request.args.get("commande") or "").strip()
    query = (
        sa.select(OutboxMessage, Dossier.order_number)
        .outerjoin(Dossier, Dossier.id == OutboxMessage.dossier_id)
        .order_by(OutboxMessage.id.desc())
        .limit(PAGE_SIZE)
    )
    if state in service.STATE_LABELS_FR:
        query = query.where(OutboxMessage.state == state)
    if order:
        query = query.where(Dossier.order_number == order)
    return render_template(
        "notify/outbox.html",
        rows=_session().execute(query).all(),
        state=state,
        order=order,
        state_labels=service.STATE_LABELS_FR,
        channel_labels=service.CHANNEL_LABELS_FR,
        template_labels=service.TEMPLATE_LABELS_FR,
    )


@bp.get("/<int:message_id>")
@requires("notify:outbox:read")
def message_page(message_id: int) -> Any:
    message = _session().get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    dossier = _session().get(Dossier, message.dossier_id) if message.dossier_id else None
    return render_template(
        "notify/message.html",
        message=message,
        dossier=dossier,
        state_labels=service.STATE_LABELS_FR,
        channel_labels=service.CHANNEL_LABELS_FR,
        template_labels=service.TEMPLATE_LABELS_FR,
        form=ActionForm(),
        can_retry=current_user.can("notify:outbox:retry"),
    )


@bp.post("/<int:message_id>/renvoyer")
@requires("notify:outbox:retry")
def retry(message_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work() as session:
            service.retry_message(
                session, message_id, actor=current_user.email, actor_id=current_user.id
            )
    except service.NotifyError as exc:
        flash(str(exc), "danger")
    else:
        flash("Message remis dans la file d'envoi.", "success")
    return redirect(url_for(".message_page", message_id=message_id))
