"""Failures of inline jobs (no Redis: the demo and single-machine installs), kept as one
JSON file each under the data directory so the failed-jobs screen can list and retry them
as it does rq's FailedJobRegistry."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FailedJob:
    id: str
    task: str
    args: tuple[Any, ...]
    error: str
    failed_at: dt.datetime | None
    backend: str  # rq | inline

    @property
    def error_summary(self) -> str:
        lines = [line for line in self.error.strip().splitlines() if line.strip()]
        return lines[-1] if lines else ""


class InlineFailureStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, failure_id: str) -> Path:
        if not failure_id.startswith("inline-") or not failure_id[7:].isalnum():
            raise ValueError("not an inline failure id")
        return self.directory / f"{failure_id}.json"

    def add(
        self, task: str, args: tuple[Any, ...], job_id: str | None, exc: BaseException, tb: str
    ) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        failure_id = f"inline-{uuid.uuid4().hex}"
        body = {
            "id": failure_id,
            "task": task,
            "args": list(args),
            "job_id": job_id,
            "error": f"{tb}\n{type(exc).__name__}: {exc}",
            "failed_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        tmp = self.directory / f".{failure_id}.tmp"
        tmp.write_text(json.dumps(body, ensure_ascii=False, default=str))
        os.replace(tmp, self._path(failure_id))
        return failure_id

    def _load(self, path: Path) -> FailedJob | None:
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return FailedJob(
            id=str(raw["id"]),
            task=str(raw["task"]),
            args=tuple(raw.get("args") or ()),
            error=str(raw.get("error") or ""),
            failed_at=dt.datetime.fromisoformat(raw["failed_at"]),
            backend="inline",
        )

    def list(self) -> list[FailedJob]:
        if not self.directory.exists():
            return []
        found = (self._load(p) for p in self.directory.glob("inline-*.json"))
        return [f for f in found if f is not None]

    def pop(self, failure_id: str) -> FailedJob | None:
        """Take a failure out of the list (to retry it); None if it is gone already."""
        try:
            path = self._path(failure_id)
        except ValueError:
            return None
        failure = self._load(path) if path.exists() else None
        if failure is not None:
            path.unlink(missing_ok=True)
        return failure
