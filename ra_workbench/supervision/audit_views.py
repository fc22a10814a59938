"""Supervisors' view of the audit trail: search, filter, verify, export as CSV."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy.orm import Session

from ra_workbench.accounts.permissions import requires
from ra_workbench.audit import service
from ra_workbench.clock import parse_day_fr
from ra_workbench.extensions import db
from ra_workbench.unit import unit_of_work

bp = Blueprint("audit", __name__, url_prefix="/audit")

PERMISSION = "audit:trail:read"


def _date_arg(name: str) -> dt.date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return parse_day_fr(raw)
    except ValueError:
        flash(f"Date invalide ignorée : {raw} (format JJ/MM/AAAA).", "danger")
        return None


def _filters() -> service.AuditFilters:
    return service.AuditFilters(
        order_number=(request.args.get("commande") or "")[:32],
        actor=(request.args.get("acteur") or "")[:320],
        event_type=(request.args.get("type") or "")[:64],
        since=_date_arg("du"),
        until=_date_arg("au"),
    )


@bp.get("/")
@requires(PERMISSION)
def trail() -> Any:
    filters = _filters()
    session = cast(Session, db.session)
    try:
        page_number = int(request.args.get("page") or 1)
    except ValueError:
        page_number = 1
    page = service.search(session, filters, page=page_number)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "audit/trail.html",
        page=page,
        filters=filters,
        event_types=service.event_types(session),
        args=args,
    )


@bp.get("/export.csv")
@requires(PERMISSION)
def export_csv() -> Any:
    filters = _filters()
    with unit_of_work() as session:
        service.record(
            session,
            "audit.exported",
            actor=current_user.email,
            actor_id=current_user.id,
            payload={"filters": filters.to_json()},
        )
    # Streamed: the trail can hold millions of rows; the request context (and its
    # session) stays open while the generator runs.
    chunks = service.csv_chunks(service.export_rows(cast(Session, db.session), filters))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="journal-audit-{stamp}.csv"'},
    )


@bp.post("/verifier")
@requires(PERMISSION)
def verify() -> Any:
    with unit_of_work() as session:
        report = service.verify(session)
        service.record(
            session,
            "audit.verified",
            actor=current_user.email,
            actor_id=current_user.id,
            payload={"ok": report.ok, "entries": report.entries}
            | ({"problem": report.problem.to_json()} if report.problem else {}),
        )
    if report.ok:
        flash(f"Journal intact : {report.entries} entrée(s) vérifiée(s).", "success")
    elif report.problem is not None:
        flash(f"Journal altéré : {report.problem.message}", "danger")
    return redirect(url_for("audit.trail"))
