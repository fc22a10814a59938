"""A live server in a thread (the real app, CSRF on) and Debian's Chromium via Playwright.

The server shares the test database with the `app` fixture: tests build their data with
the factories, commit, then drive the browser. Screenshots go to
test-artifacts/screenshots/ (kept by CI as artefacts).

A test that fails (a browser wait timed out on a loaded machine) may leave the server still
working on its last request. Before the next test cleans the database, the teardown waits
for every request in flight to finish and then checks that no write transaction is left
open: a failure stays the failing test's own and never cascades into `database is locked`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Page
from werkzeug.serving import make_server

from ra_workbench.config import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# The operators' screens: a 1366×768 laptop, in French.
SCREEN = {"width": 1366, "height": 768}


@pytest.fixture(scope="session")
def live_app(_app: Flask, settings: Settings) -> Iterator[Flask]:
    """A second app on the same database and store, as production runs it (CSRF on)."""
    from ra_workbench.app import create_app
    from ra_workbench.extensions import db

    app = create_app(settings, TESTING=True)
    yield app
    with app.app_context():
        db.engine.dispose()


# How long a teardown waits for the requests of a failed test: far beyond any request of
# ours (each bounded by poppler and tesseract timeouts), so it only trips on a hung server.
SETTLE_SECONDS = 180


class InFlight:
    """WSGI middleware counting the requests whose work the live server has not finished:
    until the app returns its response, i.e. its context (and database session) is gone.
    Writing the body is not counted: a closed browser context may leave a socket that
    nobody reads, and nothing of ours happens there."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.paths: list[str] = []
        self.changed = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
        with self.changed:
            self.paths.append(path)
        try:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        finally:
            with self.changed:
                self.paths.remove(path)
                self.changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: not self.paths, timeout=timeout)


def open_write_transactions(live_app: Flask) -> list[str]:
    """Transactions other than ours still open on the test database: on SQLite, whoever
    holds the write lock; on PostgreSQL, sessions idle in a transaction."""
    from ra_workbench.extensions import db

    with live_app.app_context():
        url = db.engine.url
        if url.get_backend_name() == "sqlite":
            probe = sqlite3.connect(str(url.database), timeout=0, isolation_level=None)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                return [f"SQLite : {exc}"]
            finally:
                probe.close()
            return []
        with db.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT pid, state, left(query, 80) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND state LIKE 'idle in transaction%'"
                )
            )
            return [f"PostgreSQL pid {pid} ({state}) : {query}" for pid, state, query in rows]


@pytest.fixture(scope="session")
def in_flight(live_app: Flask) -> InFlight:
    counter = InFlight(live_app.wsgi_app)
    live_app.wsgi_app = counter  # type: ignore[method-assign]
    return counter


@pytest.fixture(autouse=True)
def _live_server_settles(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that drove the live server (and after its own session is gone: a live
    request may be waiting for it): its requests finished, no write transaction open."""
    yield
    if "live_server" not in request.fixturenames:
        return
    counter: InFlight = request.getfixturevalue("in_flight")
    live_app: Flask = request.getfixturevalue("live_app")
    settled = counter.wait_idle(SETTLE_SECONDS)
    left_open = open_write_transactions(live_app)
    if settled and not left_open:
        return
    from ra_workbench.extensions import db

    with live_app.app_context():
        db.engine.dispose()  # whatever the pool holds goes, so that the next test can run
    pytest.fail(
        f"le serveur de test n'a pas fini ses requêtes : {', '.join(counter.paths)}"
        if not settled
        else "transaction d'écriture restée ouverte : " + "; ".join(left_open)
    )


@pytest.fixture(scope="session")
def live_server(live_app: Flask, in_flight: InFlight) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def staff_page(browser: Browser) -> Page:
    """A fresh browser context (its own cookies) and page at the operators' screen size."""
    page = browser.new_context(locale="fr-FR", viewport=SCREEN).new_page()  # type: ignore[arg-type]
    page.set_default_timeout(15_000)
    return page


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = staff_page(browser)
    yield page
    page.context.close()


@pytest.fixture
def shot() -> Callable[[Page, str], Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
