"""A fresh data directory (no schema yet): every command and every request says what to run,
« Base non initialisée : lancez `ra-workbench db upgrade` », instead of a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask_migrate import upgrade

from ra_workbench.app import create_app
from ra_workbench.config import Settings
from ra_workbench.schema import SCHEMA_BEHIND_FR, SCHEMA_MISSING_FR
from tests.conftest import REPO_ROOT

CLI = str(Path(sys.executable).with_name("ra-workbench"))


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["RA_WORKBENCH_DATA"] = str(data_dir)  # no DATABASE_URL: SQLite in the data directory
    return subprocess.run(
        [CLI, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_a_command_on_a_fresh_data_directory_says_to_run_db_upgrade(tmp_path: Path) -> None:
    fresh = _cli(tmp_path, "check", "--all-pending")
    assert fresh.returncode == 1
    assert fresh.stderr.strip() == SCHEMA_MISSING_FR
    assert "Traceback" not in fresh.stdout + fresh.stderr

    assert _cli(tmp_path, "check", "--help").returncode == 0  # help needs no database
    assert _cli(tmp_path, "db", "upgrade").returncode == 0
    ready = _cli(tmp_path, "check", "--all-pending")
    assert ready.returncode == 0, ready.stderr
    assert "0 dossier(s) contrôlé(s)" in ready.stdout


def test_a_request_on_a_database_without_its_schema_answers_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.from_env({"RA_WORKBENCH_DATA": str(tmp_path)})
    app = create_app(settings, TESTING=True)
    client = app.test_client()

    page = client.get("/connexion")
    assert page.status_code == 503
    assert page.get_data(as_text=True) == SCHEMA_MISSING_FR
    api = client.get("/api/v1/dossiers/500001/status")
    assert api.status_code == 503
    assert api.get_json() == {"error": SCHEMA_MISSING_FR}

    with app.app_context():
        upgrade(directory=str(REPO_ROOT / "migrations"))
    # A release whose migration has not run yet.
    monkeypatch.setattr("alembic.script.ScriptDirectory.get_heads", lambda _self: ["f00d"])
    behind = client.get("/connexion")
    assert behind.status_code == 503
    assert behind.get_data(as_text=True) == SCHEMA_BEHIND_FR
    monkeypatch.undo()
    assert client.get("/connexion").status_code == 200
