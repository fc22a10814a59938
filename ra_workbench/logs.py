"""Logs: readable text in the demo, JSON for production (RA_WORKBENCH_LOG_FORMAT=json), one
event per line, each carrying what lets the engineer on call follow one request or one job
across machines — `request_id`, `user_id`, `dossier_id`, `job_id`, `task` — and never what
a document says or what its file is called (those never reach a log message: the modules
that read documents log kinds and ids only).

The context lives in context variables: the web shell sets it for each request
(`bind_request`), the worker for each job (`bind_job`); a filter copies it onto every record,
so a log call anywhere below needs no argument for it.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pythonjsonlogger.json import JsonFormatter

LOG_FORMATS = ("text", "json")
CONTEXT_FIELDS = ("request_id", "user_id", "dossier_id", "job_id", "task")
# A request id sent by the proxy is kept when it looks like one (no spaces, no markup).
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "ra_log_context", default=None
)


def current_context() -> dict[str, Any]:
    return dict(_context.get() or {})


def bind(**fields: Any) -> None:
    """Add fields to the current context (None values are left out)."""
    merged = current_context()
    merged.update({key: value for key, value in fields.items() if value is not None})
    _context.set(merged)


def clear() -> None:
    _context.set(None)


def request_id_from(header: str | None) -> str:
    """The proxy's X-Request-ID when it is a plausible id, else a new one."""
    if header and REQUEST_ID_PATTERN.match(header):
        return header
    return uuid.uuid4().hex


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """The fields for the duration of a block (a job), then the context as it was."""
    token = _context.set({**current_context(), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Copies the bound context onto each record (absent fields stay absent)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in current_context().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class _Formatter(JsonFormatter):
    def add_fields(
        self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record["time"] = dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
            timespec="milliseconds"
        )
        log_record["level"] = record.levelname
        log_record["logger"] = record.name


def json_formatter() -> logging.Formatter:
    return _Formatter(
        "%(message)s",
        rename_fields={"exc_info": "exception"},
        json_ensure_ascii=False,
    )


def configure(log_format: str = "text", level: str = "INFO") -> None:
    """One handler on the root logger, to stderr, in the chosen format; idempotent (the app
    factory, the worker and the console all call it)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"format de journal inconnu : {log_format!r} (text ou json)")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_ra_workbench", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._ra_workbench = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root.addHandler(handler)
    root.setLevel(level.upper())
