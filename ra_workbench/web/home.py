"""The landing page once signed in."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, render_template

from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.web.auth import requires

bp = Blueprint("home", __name__)


@bp.get("/")
@requires("review:dossier:read")
def index() -> Any:
    dossiers = (
        db.session.scalars(sa.select(Dossier).order_by(Dossier.submitted_at).limit(200))
        .unique()
        .all()
    )
    return render_template("home/index.html", dossiers=dossiers)
