"""The application factory: a list of configure_* steps."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from flask import (
    Flask,
    Response,
    g,
    has_request_context,
    jsonify,
    render_template,
    request,
)
from limits import parse_many
from sqlalchemy import event

import ra_workbench.models  # noqa: F401 - registers every table on the metadata
from ra_workbench import journey, logs
from ra_workbench.accounts.models import User
from ra_workbench.audit.cli import outbox_mailer
from ra_workbench.audit.service import send_seals_with
from ra_workbench.checks.rules import load_rules
from ra_workbench.cli import register_commands
from ra_workbench.clock import PARIS
from ra_workbench.config import Settings
from ra_workbench.db import write_intent
from ra_workbench.delivery.service import handover_need_to_know
from ra_workbench.documents import access as document_access
from ra_workbench.documents import store as document_store
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import babel, csrf, db, limiter, login_manager, migrate
from ra_workbench.issuance.seal import local_evidence_seal
from ra_workbench.jobs import queue as jobs_queue
from ra_workbench.review import evidence
from ra_workbench.review.access import need_to_know
from ra_workbench.schema import MIGRATIONS, schema_problem
from ra_workbench.web import register_blueprints
from ra_workbench.web.health import HEALTH_PATHS

ROOT = Path(__file__).resolve().parent.parent
LOCALE = "fr"  # the only one: staff and customers read French
access = logging.getLogger("ra_workbench.access")


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(Path(__file__).resolve().parent / "web" / "static"),
    )
    configure_settings(app, settings, overrides)
    configure_i18n(app)
    configure_database(app)
    configure_request_logging(app)
    configure_schema_guard(app)
    configure_rules(app)
    configure_journey(app)
    configure_unit_of_work(app)
    configure_audit(app)
    configure_evidence(app)
    configure_security(app)
    configure_blueprints(app)
    configure_cli(app)
    return app


def configure_settings(app: Flask, settings: Settings, overrides: dict[str, Any]) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.store_dir.mkdir(parents=True, exist_ok=True)
    app.config.update(
        RA_SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=settings.session_minutes * 60,
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.config.update(overrides)
    logs.configure(settings.log_format, settings.log_level)


def configure_i18n(app: Flask) -> None:
    """Everything staff read is French, in Paris time: our own pages are written so, and
    Flask-Babel makes the libraries' own words follow (Flask-Admin's screens, WTForms'
    built-in messages through Flask-WTF)."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", PARIS.key)
    babel.init_app(app)


def configure_database(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            engine = db.engine

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.close()

            @event.listens_for(engine, "begin")
            def _sqlite_begin(connection: Any) -> None:
                dbapi_connection = connection.connection.dbapi_connection
                if _writer():
                    # A writer takes the write lock first: a second, simultaneous writer
                    # waits (busy_timeout) and then reads what the first committed —
                    # SQLite's equivalent of the row lock lifecycle.lock() takes on
                    # PostgreSQL.
                    dbapi_connection.isolation_level = None
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                else:
                    # A reader holds no snapshot: pysqlite's own mode reads outside a
                    # transaction and begins one just before a write (a page view's audit
                    # entry), so parallel image requests never conflict on a stale snapshot.
                    dbapi_connection.isolation_level = ""


def configure_request_logging(app: Flask) -> None:
    """Every log event of a request carries its id (the proxy's X-Request-ID when plausible,
    else a new one; echoed in the response), the dossier in its URL and, once known, the
    signed-in staff member (web/auth.py); with JSON logs, one access event per request
    (endpoint, URL rule, status, duration), never the query string or the filled-in path,
    which may name someone."""

    @app.before_request
    def _bind_request() -> None:
        logs.clear()
        g.ra_request_started = time.perf_counter()
        logs.bind(
            request_id=logs.request_id_from(request.headers.get("X-Request-ID")),
            dossier_id=(request.view_args or {}).get("dossier_id"),
        )

    @app.after_request
    def _log_request(response: Response) -> Response:
        context = logs.current_context()
        if "request_id" in context:
            response.headers["X-Request-ID"] = context["request_id"]
        if app.config["RA_SETTINGS"].log_format == "json":
            started = g.get("ra_request_started")
            access.info(
                "requête traitée",
                extra={
                    "method": request.method,
                    "endpoint": request.endpoint,
                    "rule": request.url_rule.rule if request.url_rule else None,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1)
                    if started is not None
                    else None,
                },
            )
        return response

    @app.teardown_request
    def _unbind_request(_exc: BaseException | None) -> None:
        logs.clear()


def configure_schema_guard(app: Flask) -> None:
    """A request on a database without its schema answers what to run, not a traceback
    (the console does the same for its commands: ra_workbench/console.py)."""

    @app.before_request
    def _schema_ready() -> Any:
        if request.path in HEALTH_PATHS:
            return None  # the probes say it themselves, as JSON
        problem = schema_problem()
        if problem is None:
            return None
        if request.path.startswith("/api/"):
            return jsonify({"error": problem}), 503
        return problem, 503, {"Content-Type": "text/plain; charset=utf-8"}


def _writer() -> bool:
    if has_request_context():
        return request.method not in {"GET", "HEAD", "OPTIONS"}
    return write_intent.get()


def configure_rules(app: Flask) -> None:
    """Load and validate rules/ at start-up: a malformed file stops the app with its name."""

    rules = load_rules(app.config["RA_SETTINGS"].rules_dir)
    app.config["RA_RULES"] = rules
    # documents/ sits below checks/: it is told how many pages of a PDF it may render.
    app.config["RA_MAX_PDF_PAGES"] = rules.files.max_pdf_pages
    # … and who has a need to know for identity copies (review/ and the hand-over desk in
    # delivery/ decide, above documents/).
    with app.app_context():
        document_access.decide_need_to_know_with(_need_to_know)


def _need_to_know(dossier: Dossier, user: User) -> str | None:
    """The review's (claimant, supervisor), then the desk's on the day of the hand-over."""
    return need_to_know(dossier, user) or handover_need_to_know(dossier, user)


def configure_journey(app: Flask) -> None:
    """What follows each transition: one table, ra_workbench/journey.py."""
    journey.wire()


def configure_unit_of_work(app: Flask) -> None:
    """After a unit commits, its deferred jobs are dispatched; after it fails, the files it
    stored are removed."""
    jobs_queue.init_app(app)
    document_store.init_app(app)


def configure_audit(app: Flask) -> None:
    """Seal notices reach the supervisors through the notify outbox: the trail sits below
    notify, so the shell tells it how (web, worker and CLI alike)."""
    send_seals_with(outbox_mailer)


def configure_evidence(app: Flask) -> None:
    """The auditors' exports are signed by the RA's evidence seal, a certificate of the local
    CA: issuance sits after review, so the shell hands the seal over."""
    with app.app_context():
        evidence.seal_exports_with(local_evidence_seal)


def configure_security(app: Flask) -> None:
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Veuillez vous connecter pour accéder à cette page."
    configure_login_limits(app)

    @app.after_request
    def _no_store(response: Any) -> Any:
        # Pages, documents and API answers carry personal data: no browser or proxy keeps a
        # copy (the back button after logout shows nothing). Only static assets are cached.
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'self'",
        )
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


def configure_login_limits(app: Flask) -> None:
    """Refused sign-ins are throttled per client and per account (web/auth.py), counted in
    Redis when there is one, so that every process sees the same counts."""
    settings = app.config["RA_SETTINGS"]
    for name, value in (
        ("RA_WORKBENCH_LOGIN_LIMIT_CLIENT", settings.login_limit_client),
        ("RA_WORKBENCH_LOGIN_LIMIT_ACCOUNT", settings.login_limit_account),
    ):
        try:
            parse_many(value)
        except ValueError as exc:
            raise RuntimeError(
                f"{name} : limite illisible {value!r} (ex. « 20 per 10 minutes »)"
            ) from exc
    app.config.setdefault("RA_LOGIN_LIMIT_CLIENT", settings.login_limit_client)
    app.config.setdefault("RA_LOGIN_LIMIT_ACCOUNT", settings.login_limit_account)
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.redis_url or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "ra-workbench-limits")
    limiter.init_app(app)

    @app.errorhandler(429)
    def _too_many(error: Any) -> Any:
        message = getattr(error, "description", None) or "Trop de tentatives."
        return render_template("auth/too_many.html", message=message), 429


def configure_blueprints(app: Flask) -> None:
    register_blueprints(app)


def configure_cli(app: Flask) -> None:
    register_commands(app)
