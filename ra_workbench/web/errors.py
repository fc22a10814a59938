"""Error answers in French: a page for people (templates/errors.html), problem details
(RFC 9457, portal/problems.py) under /api.

Werkzeug's own pages (« Not Found », « The requested URL was not found… ») are English; every
HTTP error the application raises is answered here instead. A description the code gave
(`abort(410, "Pièce supprimée…")`) is French and shown; Werkzeug's default one is not. Pages
that render their own error (429, the document access refusals) keep theirs.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from ra_workbench.portal.problems import problem_for_status

# code → (title, what the person reads); under /api, the problem's code is portal/problems.py's
ERRORS_FR: dict[int, tuple[str, str]] = {
    400: (
        "Requête invalide",
        "La demande n'a pas pu être traitée : le formulaire a peut-être expiré. "
        "Rechargez la page et recommencez.",
    ),
    401: ("Authentification requise", "Connectez-vous pour accéder à cette page."),
    403: (
        "Accès refusé",
        "Votre rôle ne donne pas accès à cette page. Demandez à un superviseur si vous pensez "
        "devoir y accéder.",
    ),
    404: (
        "Page introuvable",
        "Cette adresse ne correspond à aucune page, ou l'élément demandé n'existe plus.",
    ),
    405: (
        "Méthode non autorisée",
        "Cette adresse ne s'utilise pas ainsi : revenez à la page précédente.",
    ),
    409: (
        "Conflit",
        "L'opération entre en conflit avec l'état actuel : rechargez la page.",
    ),
    410: ("Élément supprimé", "L'élément demandé n'existe plus."),
    413: (
        "Envoi trop volumineux",
        "Le fichier envoyé dépasse la taille autorisée.",
    ),
    422: ("Contenu illisible", "Le contenu envoyé n'a pas pu être lu."),
    429: (
        "Trop de tentatives",
        "Patientez quelques minutes avant de réessayer.",
    ),
    500: (
        "Erreur interne",
        "Une erreur inattendue s'est produite ; elle a été enregistrée. Réessayez dans un "
        "instant, ou signalez-la au support en indiquant l'heure.",
    ),
}
OTHER_FR = ("Erreur", "La demande n'a pas pu être traitée.")


def _is_api() -> bool:
    return request.path == "/api" or "/api/" in request.path


def _own_description(error: HTTPException) -> str | None:
    """The description the code passed to abort() (French), not Werkzeug's default."""
    description = error.description
    if not description or description == type(error).description:
        return None
    return str(description)


def error_response(error: HTTPException) -> Any:
    code = error.code or 500
    title, message = ERRORS_FR.get(code, OTHER_FR)
    detail = _own_description(error)
    if _is_api():
        return problem_for_status(code, detail or message), code
    page = render_template("errors.html", code=code, title=title, message=detail or message)
    return page, code


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        if error.code is None or error.response is not None:
            return error  # a redirect, or a view's own page (abort(Response(…)))
        # An unexpected exception arrives as an InternalServerError (code 500); 429 has
        # its own page (app.configure_security), found first by its code.
        return error_response(error)
