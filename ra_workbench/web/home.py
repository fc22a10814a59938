"""The landing page once signed in: the validation queue."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, url_for

from ra_workbench.accounts.permissions import requires

bp = Blueprint("home", __name__)


@bp.get("/")
@requires("review:dossier:read")
def index() -> Any:
    return redirect(url_for("review.queue_page"))
