"""Issuance screens: failed issuances with their retry button, certificates and PEM download.

Thin: parse, call one service inside a unit of work, flash the French outcome, redirect.
"""

from __future__ import annotations

from typing import Any, cast

from cryptography import x509
from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from ra_workbench.accounts.permissions import requires
from ra_workbench.certificates.models import Certificate
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.issuance import service
from ra_workbench.issuance.ca import QC_STATEMENTS_OID, decode_qc_statements
from ra_workbench.issuance.config import init_app
from ra_workbench.unit import unit_of_work

bp = Blueprint("issuance", __name__, url_prefix="/emission")


@bp.record_once
def _load_config(state: Any) -> None:
    """rules/issuance.toml is validated at start-up: a bad OID stops the app."""

    init_app(state.app)


class ActionForm(FlaskForm):
    """A button carrying only the CSRF token."""


def _session() -> Session:
    return cast(Session, db.session)


@bp.get("/")
@requires("issuance:certificate:read")
def index() -> Any:
    session = _session()
    return render_template(
        "issuance/index.html",
        attention=service.requests_needing_attention(session),
        certificates=service.recent_certificates(session),
        state_labels=service.REQUEST_STATE_LABELS_FR,
        form=ActionForm(),
        can_retry=current_user.can("issuance:request:retry"),
    )


@bp.post("/demandes/<int:request_id>/relancer")
@requires("issuance:request:retry")
def retry(request_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work() as session:
            service.retry_issuance(
                session, request_id, actor=current_user.email, actor_id=current_user.id
            )
    except service.IssuanceError as exc:
        flash(str(exc), "danger")
    else:
        flash("Émission relancée.", "success")
    return redirect(url_for(".index"))


def _certificate(certificate_id: int) -> Certificate:
    certificate = _session().get(Certificate, certificate_id)
    if certificate is None:
        abort(404)
    return certificate


@bp.get("/certificats/<int:certificate_id>")
@requires("issuance:certificate:read")
def certificate_page(certificate_id: int) -> Any:
    certificate = _certificate(certificate_id)
    parsed = x509.load_pem_x509_certificate(certificate.pem.encode())
    qc = parsed.extensions.get_extension_for_oid(x509.ObjectIdentifier(QC_STATEMENTS_OID))
    policies = parsed.extensions.get_extension_for_class(x509.CertificatePolicies).value
    return render_template(
        "issuance/certificate.html",
        certificate=certificate,
        dossier=_session().get(Dossier, certificate.dossier_id),
        renews=(
            _session().get(Certificate, certificate.renews_certificate_id)
            if certificate.renews_certificate_id
            else None
        ),
        parsed=parsed,
        qc_statements=decode_qc_statements(qc.value.value),  # type: ignore[attr-defined]
        policies=[p.policy_identifier.dotted_string for p in policies],
    )


@bp.get("/certificats/<int:certificate_id>.pem")
@requires("issuance:certificate:read")
def certificate_pem(certificate_id: int) -> Any:
    certificate = _certificate(certificate_id)
    filename = f"certificat-{certificate.serial_number}.pem"
    return Response(
        certificate.pem,
        mimetype="application/x-pem-file",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
