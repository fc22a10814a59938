"""Whether the database is at the migrations' head: what the web shell, the console and the
readiness probe tell whoever uses a database the migrations have not built or not brought up
to date."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app

from ra_workbench.extensions import db

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SCHEMA_MISSING_FR = "Base non initialisée : lancez `ra-workbench db upgrade`"
SCHEMA_BEHIND_FR = "Base à mettre à jour : lancez `ra-workbench db upgrade`"
_SCHEMA_READY = "ra_schema_ready"
VERSION_TABLE = "alembic_version"


def schema_problem() -> str | None:
    """What to tell whoever uses a database the migrations have not built (a fresh data
    directory) or not brought up to date, in French; None once it is at the migrations' head
    (then remembered for the life of the process). A database newer than this code (a rolling
    upgrade) is not our call."""
    if current_app.extensions.get(_SCHEMA_READY):
        return None
    with db.engine.connect() as connection:
        current = (
            set(connection.scalars(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")))  # noqa: S608 - alembic's own table name
            if sa.inspect(connection).has_table(VERSION_TABLE)
            else set()
        )
    script = ScriptDirectory(str(MIGRATIONS))
    if not current:
        return SCHEMA_MISSING_FR
    known = {revision.revision for revision in script.walk_revisions()}
    if current != set(script.get_heads()) and current <= known:
        return SCHEMA_BEHIND_FR
    current_app.extensions[_SCHEMA_READY] = True
    return None
