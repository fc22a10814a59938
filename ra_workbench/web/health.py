"""Probes for whoever runs the workbench (an orchestrator, a load balancer, the engineer on
call), without sign-in and without personal data:

- `GET /healthz`: the process answers (liveness). Touches nothing else, so a database
  outage never gets a healthy web process killed.
- `GET /readyz`: every component a request may need answers now (readiness): the database
  (reachable, schema at the migrations' head), Redis when REDIS_URL is set, the document
  store writable, the rules of rules/ still valid on disk, the CA backend. 200 when all
  are ready, 503 naming the failing components; each component with its state, a French
  detail and how long it took.

Each component is bounded: short connect and socket timeouts for Redis, a connect timeout
for PostgreSQL set on the probe's own connection attempt, one small file for the store.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from ra_workbench.checks.rules import load_rules
from ra_workbench.extensions import db
from ra_workbench.issuance.backends import get_backend
from ra_workbench.schema import schema_problem

bp = Blueprint("health", __name__)

PROBE_TIMEOUT_SECONDS = 3
HEALTH_PATHS = ("/healthz", "/readyz")


def _database() -> str:
    with db.engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
    problem = schema_problem()
    if problem is not None:
        raise RuntimeError(problem)
    return f"base {db.engine.dialect.name} joignable, schéma à jour"


def _redis() -> str | None:
    url = current_app.config["RA_SETTINGS"].redis_url
    if not url:
        return None  # inline jobs: nothing to probe
    from redis import Redis  # noqa: PLC0415 - the client only when a queue is configured

    client = Redis.from_url(
        url,
        socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
        socket_timeout=PROBE_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    finally:
        client.close()
    return "Redis joignable"


def _store() -> str:
    directory = current_app.config["RA_SETTINGS"].store_dir
    probe = directory / f".readyz-{os.getpid()}-{uuid.uuid4().hex}"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, b"readyz")
        os.fsync(fd)
    finally:
        os.close(fd)
        probe.unlink(missing_ok=True)
    return "magasin des pièces accessible en écriture"


def _rules() -> str:
    load_rules(current_app.config["RA_SETTINGS"].rules_dir)
    return "règles de rules/ valides"


def _ca() -> str:
    return get_backend().ready()


COMPONENTS: tuple[tuple[str, Callable[[], str | None]], ...] = (
    ("database", _database),
    ("redis", _redis),
    ("store", _store),
    ("rules", _rules),
    ("ca", _ca),
)


def _probe(check: Callable[[], str | None]) -> dict[str, Any] | None:
    started = time.perf_counter()
    try:
        detail = check()
    except Exception as exc:  # a probe reports, it never raises
        db.session.rollback()
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return {
            "status": "fail",
            "detail": f"{type(exc).__name__}: {text}"[:300],
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }
    if detail is None:
        return None
    return {
        "status": "ok",
        "detail": detail,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }


@bp.get("/healthz")
def healthz() -> Any:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Any:
    components = {}
    for name, check in COMPONENTS:
        result = _probe(check)
        if result is not None:
            components[name] = result
    failing = sorted(name for name, result in components.items() if result["status"] != "ok")
    body = {"status": "fail" if failing else "ok", "failing": failing, "components": components}
    response = jsonify(body)
    response.status_code = 503 if failing else 200
    response.headers["Cache-Control"] = "no-store"
    return response
