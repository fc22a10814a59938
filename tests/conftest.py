"""Shared fixtures: one app per test session on the configured backend, a clean slate per test.

The backend comes from RA_TEST_DATABASE_URL (PostgreSQL in CI's second pass); SQLite in a
temporary directory otherwise. Every test starts with empty tables and an empty store.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, sync_playwright

from ra_workbench.config import Settings
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"
API_TOKEN = "test-portal-token-0123456789abcdef"


def _backend_url(data_dir: Path) -> str:
    return os.environ.get("RA_TEST_DATABASE_URL") or f"sqlite:///{data_dir / 'test.sqlite3'}"


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get("RA_TEST_DATABASE_URL", "")
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    redis = os.environ.get("RA_TEST_REDIS_URL") or "none (jobs inline)"
    return f"ra-workbench test database backend: {backend}; redis: {redis}"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ra-data")


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    env = {
        "RA_WORKBENCH_DATA": str(data_dir),
        "DATABASE_URL": _backend_url(data_dir),
        "RA_WORKBENCH_API_TOKENS": f"portal={API_TOKEN}",
        "RA_WORKBENCH_CA_PASSPHRASE": "test-ca-passphrase",
        "RA_WORKBENCH_SECRET_KEY": "test-secret-key",
    }
    return Settings.from_env(env)


@pytest.fixture(scope="session")
def _app(settings: Settings) -> Iterator[Flask]:
    from flask_migrate import upgrade

    from ra_workbench.app import create_app
    from ra_workbench.extensions import db

    app = create_app(settings, TESTING=True, WTF_CSRF_ENABLED=False)
    with app.app_context():
        if settings.database_url.startswith("postgresql"):
            # A clean schema for this run, built by the migrations like production.
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        upgrade(directory=str(REPO_ROOT / "migrations"))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def clean_database() -> None:
    from ra_workbench.extensions import db

    db.session.remove()
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # A lock some stray session still holds fails this test after a while (SQLite:
            # busy_timeout, set by the app) instead of hanging the run.
            conn.execute(sa.text("SET LOCAL lock_timeout = '30s'"))
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(sa.text(f"DELETE FROM {name}"))  # noqa: S608 - our own table names


@pytest.fixture
def app(_app: Flask, settings: Settings) -> Iterator[Flask]:
    """The app inside an application context, with empty tables, store, inbox and token
    directory."""
    with _app.app_context():
        clean_database()
        # The SoftHSM2 tokens earlier tests' issuances prepared (one each) go too: each new
        # one is initialised by a tool that reads every token there (token.initialise_token).
        for directory in (settings.store_dir, settings.inbox_dir, settings.data_dir / "softhsm"):
            shutil.rmtree(directory, ignore_errors=True)
        settings.store_dir.mkdir(parents=True, exist_ok=True)
        # The local CA keeps its keys (made once per run) but forgets what it issued and
        # revoked, like the database: its own database and the CRL signed from it.
        for name in ("index.jsonl", "issuing.crl"):
            (settings.ca_dir / name).unlink(missing_ok=True)
        from ra_workbench.extensions import limiter

        limiter.reset()  # refused sign-ins of earlier tests do not count towards this one's
        yield _app
        from ra_workbench.extensions import db

        db.session.remove()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def is_postgres(settings: Settings) -> bool:
    return settings.database_url.startswith("postgresql")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Row-lock races only exist on PostgreSQL: on the SQLite pass they are deselected
    (and counted in the summary), never skipped; the PostgreSQL pass runs them."""
    url = os.environ.get("RA_TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        return
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("postgres_only") else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture
def redis_url() -> str:
    """The real Redis that CI starts (scripts/services.sh); its absence is an error."""
    url = os.environ.get("RA_TEST_REDIS_URL")
    if not url:
        raise RuntimeError(
            "RA_TEST_REDIS_URL is not set: run the suite through `make test`, "
            "which starts Redis (scripts/services.sh)"
        )
    return url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One Chromium for the whole run, shared by the browser tests and the production run:
    Playwright's sync API cannot start a second time while the first one runs."""
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
