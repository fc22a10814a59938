"""The portal-facing JSON API: packages, signature events and revocation requests in, order
status out."""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ra_workbench.extensions import csrf
from ra_workbench.ingest.package import PackageRefused, read_package_bytes
from ra_workbench.ingest.service import (
    ingest,
    ingest_signature,
    log_internal_error,
    package_limits,
)
from ra_workbench.portal.openapi import openapi_document
from ra_workbench.portal.problems import problem, problem_for_status, refusal
from ra_workbench.portal.status import order_status
from ra_workbench.revocation.service import (
    RevocationError,
    parse_portal_request,
    request_from_portal,
    request_summary,
)
from ra_workbench.unit import unit_of_work

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _client_for(token: str) -> str | None:
    for known, name in current_app.config["RA_SETTINGS"].api_tokens.items():
        if hmac.compare_digest(known.encode(), token.encode()):
            return name
    return None


def require_token(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        client = _client_for(token.strip()) if scheme.lower() == "bearer" and token else None
        if client is None:
            return problem(
                "unauthorized",
                "jeton d'API absent ou invalide",
                headers={"WWW-Authenticate": 'Bearer realm="ra-workbench"'},
            )
        g.api_client = client
        return view(*args, **kwargs)

    return wrapper


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> Any:
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    return problem("payload_too_large", f"envoi trop volumineux (maximum {limit} octets)")


@bp.errorhandler(Exception)
def _internal_error(exc: Exception) -> Any:
    """The portal reads JSON: an unexpected failure answers it too, not Flask's HTML page.
    Handled here, it is logged by its kind only (Flask's own log would print its message,
    which may quote a package's names or content)."""
    if isinstance(exc, HTTPException):
        if exc.code is None or exc.response is not None:
            return exc  # a redirect, or a response of its own
        # The description the code gave (French); Werkzeug's own (English) is not shown.
        own = exc.description if exc.description != type(exc).description else None
        return problem_for_status(exc.code, str(own) if own else None)
    log_internal_error(log, f"API portail ({request.endpoint})", exc)
    return problem("internal_error", "erreur interne")


@bp.get("/openapi.json")
def openapi() -> Any:
    """The API's contract, readable without a token (it holds no data)."""
    return jsonify(openapi_document())


@bp.post("/dossiers")
@require_token
def upload_dossier() -> Any:
    upload = request.files.get("package")
    if upload is None:
        data = request.get_data(cache=False)
        name = request.headers.get("X-Package-Name", "package.zip")
    else:
        data = upload.read()
        name = upload.filename or "package.zip"
    if not data:
        return refusal("empty_package", ["aucun paquet reçu (zip attendu dans le champ 'package')"])
    limits = package_limits()
    outcome = ingest(
        lambda: read_package_bytes(data, name, limits),
        name=name,
        source="api",
        actor=f"api:{g.api_client}",
    )
    if outcome.outcome == "refused":
        return refusal(
            outcome.refusal_code or "invalid_content",
            outcome.errors,
            path=outcome.path,
            order_number=outcome.order_number,
        )
    return jsonify(outcome.to_json()), 201 if outcome.outcome == "created" else 200


@bp.post("/signatures")
@require_token
def upload_signature() -> Any:
    outcome = ingest_signature(
        request.get_data(cache=False), source="api", actor=f"api:{g.api_client}"
    )
    if outcome.outcome == "refused":
        return refusal(
            outcome.refusal_code or "invalid_content",
            outcome.errors,
            order_number=outcome.order_number,
        )
    return jsonify(outcome.to_json()), 200


@bp.get("/dossiers/<order_number>/status")
@require_token
def dossier_status(order_number: str) -> Any:
    status = order_status(order_number)
    if status is None:
        return problem("unknown_order", f"commande inconnue : {order_number}")
    return jsonify(status), 200


@bp.post("/revocations")
@require_token
def request_revocation() -> Any:
    """A revocation request from the holder, the legal representative or the mandataire:
    recorded (revoked at once for a key compromise whose requester's link holds), answered
    with its id and state."""
    try:
        sent = parse_portal_request(request.get_data(cache=False))
    except PackageRefused as exc:
        return refusal(exc.code, exc.errors)
    requester = sent["requester"]
    try:
        with unit_of_work() as session:
            revocation = request_from_portal(
                session,
                order_number=sent["order_number"],
                certificate_serial=sent["certificate_serial"],
                role=requester["role"],
                first_name=requester["first_name"],
                last_name=requester["last_name"],
                email=requester["email"],
                reason=sent["reason"],
                comment=sent.get("comment", ""),
                actor=f"api:{g.api_client}",
            )
            body = {"outcome": "recorded"} | request_summary(session, revocation)
    except RevocationError as exc:
        known = {} if exc.request_id is None else {"request_id": exc.request_id}
        return refusal(exc.code, [str(exc)], **known)
    return jsonify(body), 201
