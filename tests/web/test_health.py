"""The probes the engineer on call and the orchestrator read: /healthz says the process
answers, /readyz that every component answers — and names the one that does not, with real
PostgreSQL and Redis servers of this test's own, stopped for real."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade

from ra_workbench.app import create_app
from ra_workbench.config import Settings
from tests.conftest import REPO_ROOT

SERVICES = REPO_ROOT / "scripts" / "services.sh"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Services:
    """A PostgreSQL and a Redis started by scripts/services.sh for this test only."""

    directory: Path
    pg_port: int
    redis_port: int

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RA_SERVICES_DIR": str(self.directory),
            "RA_PG_PORT": str(self.pg_port),
            "RA_REDIS_PORT": str(self.redis_port),
        }

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.pg_port}/ra_test"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def run(self, *command: str) -> None:
        subprocess.run(command, env=self.env, check=True, capture_output=True, timeout=120)

    def stop_postgresql(self) -> None:
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.directory / "pg"), "-m", "fast", "stop"]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        self.run(*command)

    def stop_redis(self) -> None:
        self.run("redis-cli", "-p", str(self.redis_port), "shutdown", "nosave")


@pytest.fixture
def services() -> Iterator[Services]:
    # Not under pytest's tmp_path: PostgreSQL runs as its own user, who must reach the folder.
    directory = Path(tempfile.mkdtemp(prefix="ra-readyz-"))
    directory.chmod(0o755)
    started = Services(directory, _free_port(), _free_port())
    started.run("bash", str(SERVICES), "start")
    yield started
    subprocess.run(["bash", str(SERVICES), "stop"], env=started.env, check=False, timeout=120)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def production_like(services: Services, tmp_path: Path) -> Flask:
    settings = Settings.from_env(
        {
            "RA_WORKBENCH_DATA": str(tmp_path / "data"),
            "DATABASE_URL": services.database_url,
            "REDIS_URL": services.redis_url,
            "RA_WORKBENCH_CA_PASSPHRASE": "readyz-ca-passphrase",
            "RA_WORKBENCH_SECRET_KEY": "readyz-secret",
        }
    )
    app = create_app(settings, TESTING=True)
    with app.app_context():
        upgrade(directory=str(REPO_ROOT / "migrations"))
    settings.store_dir.mkdir(parents=True, exist_ok=True)
    return app


def test_everything_up_the_workbench_is_ready_and_says_what_it_checked(
    production_like: Flask,
) -> None:
    client = production_like.test_client()
    live = client.get("/healthz")
    assert live.status_code == 200
    assert live.get_json() == {"status": "ok"}

    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert set(body["components"]) == {"database", "redis", "store", "rules", "ca"}
    assert all(c["status"] == "ok" for c in body["components"].values())
    assert body["components"]["database"]["detail"] == "base postgresql joignable, schéma à jour"
    assert body["components"]["ca"]["detail"] == "AC locale : créée à la première émission"
    assert ready.headers["Cache-Control"] == "no-store"
    # Nothing left behind by the store's probe.
    assert list(production_like.config["RA_SETTINGS"].store_dir.iterdir()) == []


def test_redis_stopped_readiness_fails_naming_redis_and_the_process_stays_live(
    production_like: Flask, services: Services
) -> None:
    services.stop_redis()
    client = production_like.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["status"] == "fail"
    assert body["failing"] == ["redis"]
    assert body["components"]["redis"]["detail"].startswith("ConnectionError")
    assert body["components"]["database"]["status"] == "ok"
    assert client.get("/healthz").status_code == 200


def test_postgresql_stopped_readiness_fails_naming_the_database(
    production_like: Flask, services: Services
) -> None:
    client = production_like.test_client()
    assert client.get("/readyz").status_code == 200
    services.stop_postgresql()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["failing"] == ["database"]
    assert body["components"]["database"]["detail"].startswith("OperationalError")
    assert body["components"]["redis"]["status"] == "ok"
    assert client.get("/healthz").status_code == 200


def test_a_database_without_its_schema_is_not_ready_and_says_what_to_run(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env({"RA_WORKBENCH_DATA": str(tmp_path)})
    client = create_app(settings, TESTING=True).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["failing"] == ["database"]
    assert "lancez `ra-workbench db upgrade`" in body["components"]["database"]["detail"]
    assert "redis" not in body["components"]  # no REDIS_URL: jobs run inline
