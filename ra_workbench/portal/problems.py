"""The portal API's errors as RFC 9457 problem details (`application/problem+json`).

Every refusal carries a stable code; the HTTP status and the French title come from the
code, in the table below, never from reading the French message. The body keeps the fields
the portal read before (`outcome`, `errors`, and `error` / `message` as web/errors.py
answers under /api), so a client of the earlier shape goes on working.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE = "urn:ra-workbench:problem:"

# code → (HTTP status, French title). A code is a promise to the portal: add, never rename.
PROBLEMS: dict[str, tuple[int, str]] = {
    "invalid_content": (400, "Contenu refusé"),
    "empty_package": (400, "Aucun paquet reçu"),
    "bad_request": (400, "Requête invalide"),
    "unauthorized": (401, "Jeton d'API absent ou invalide"),
    "forbidden": (403, "Accès refusé"),
    "unknown_order": (404, "Commande inconnue"),
    "unknown_certificate": (404, "Certificat inconnu"),
    "not_found": (404, "Adresse inconnue"),
    "method_not_allowed": (405, "Méthode non autorisée"),
    "stale_revision": (409, "Révision antérieure"),
    "dossier_validated": (409, "Dossier déjà validé"),
    "certificate_revoked": (409, "Certificat déjà révoqué"),
    "revocation_open": (409, "Demande de révocation déjà en cours"),
    "conflict": (409, "Conflit"),
    "gone": (410, "Élément supprimé"),
    "payload_too_large": (413, "Envoi trop volumineux"),
    "unsupported_media_type": (415, "Type de contenu non pris en charge"),
    "unprocessable": (422, "Contenu illisible"),
    "too_many_requests": (429, "Trop de tentatives"),
    "internal_error": (500, "Erreur interne"),
    "unavailable": (503, "Service indisponible"),
}

# The code of an HTTP error raised by Flask or Werkzeug (routing, size limit…).
CODE_FOR_STATUS: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def status_of(code: str) -> int:
    return PROBLEMS[code][0]


def problem(
    code: str,
    detail: str,
    *,
    errors: list[str] | None = None,
    headers: dict[str, str] | None = None,
    status: int | None = None,
    **extensions: Any,
) -> Response:
    """One problem details answer. `errors` lists each refusal (French) when there are
    several, the package's or the request's fields; `extensions` adds members such as the
    order number or the open request's id."""
    default_status, title = PROBLEMS[code]
    status = status or default_status
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        # The earlier shape, kept for the portal: {"error", "message"} and the refusals.
        "error": code,
        "message": detail,
    }
    if errors is not None:
        body["outcome"] = "refused"
        body["errors"] = errors
    body |= extensions  # order_number stays, null when unknown, as the portal read it
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def refusal(code: str, errors: list[str], **extensions: Any) -> Response:
    """A refusal listing its reasons: the detail joins them."""
    return problem(code, " ; ".join(errors), errors=errors, **extensions)


def problem_for_status(status: int, detail: str | None = None) -> Response:
    """An HTTP error raised by Flask or Werkzeug, or by `abort()`: its detail is the French
    description the code gave, else the title."""
    code = CODE_FOR_STATUS.get(status, "internal_error" if status >= 500 else "bad_request")
    return problem(code, detail or PROBLEMS[code][1], status=status)
