"""rules/jobs.toml: retries, the schedule, reminders and retention, validated at start-up.

A malformed file stops the application with a `RulesError` naming the file and the key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from ra_workbench.jobs.runner import resolve
from ra_workbench.rulesfile import TomlReader, read_toml

JOBS_FILE = "jobs.toml"


@dataclass(frozen=True)
class ScheduleEntry:
    name: str
    task: str
    every_seconds: int | None = None
    daily_at: dt.time | None = None


@dataclass(frozen=True)
class RetryRules:
    intervals: tuple[int, ...]
    job_timeout_seconds: int


@dataclass(frozen=True)
class ReminderRules:
    incomplete_after_days: int
    repeat_every_days: int
    max_reminders: int


@dataclass(frozen=True)
class RetentionRules:
    after_certificate_end_days: int
    after_rejection_days: int
    document_types: tuple[str, ...]


@dataclass(frozen=True)
class JobRules:
    retry: RetryRules
    schedule: tuple[ScheduleEntry, ...]
    reminders: ReminderRules
    retention: RetentionRules


def _schedule(root: TomlReader) -> tuple[ScheduleEntry, ...]:
    table = root.table("schedule")
    entries: list[ScheduleEntry] = []
    for name in table.data:
        item = table.table(name)
        item.unknown_keys({"task", "every_seconds", "daily_at"})
        task = item.string("task")
        try:
            resolve(task)
        except (ValueError, ImportError, AttributeError) as exc:
            raise item.error("task", f"tâche introuvable : {task!r}") from exc
        if ("every_seconds" in item.data) == ("daily_at" in item.data):
            raise item.error("every_seconds", "indiquer every_seconds ou daily_at (un seul)")
        if "every_seconds" in item.data:
            entries.append(
                ScheduleEntry(name, task, every_seconds=item.integer("every_seconds", minimum=10))
            )
            continue
        raw = item.string("daily_at")
        try:
            at = dt.time.fromisoformat(raw)
        except ValueError as exc:
            raise item.error("daily_at", f"heure HH:MM attendue, lu {raw!r}") from exc
        entries.append(ScheduleEntry(name, task, daily_at=at))
    return tuple(entries)


def load_job_rules(rules_dir: Path) -> JobRules:
    path = rules_dir / JOBS_FILE
    root = TomlReader(str(path), read_toml(path))
    root.unknown_keys({"retry", "schedule", "reminders", "retention"})
    retry = root.table("retry")
    reminders = root.table("reminders")
    retention = root.table("retention")
    return JobRules(
        retry=RetryRules(
            intervals=retry.integers("intervals"),
            job_timeout_seconds=retry.integer("job_timeout_seconds", minimum=10),
        ),
        schedule=_schedule(root),
        reminders=ReminderRules(
            incomplete_after_days=reminders.integer("incomplete_after_days", minimum=1),
            repeat_every_days=reminders.integer("repeat_every_days", minimum=1),
            max_reminders=reminders.integer("max_reminders", minimum=0),
        ),
        retention=RetentionRules(
            after_certificate_end_days=retention.integer("after_certificate_end_days"),
            after_rejection_days=retention.integer("after_rejection_days"),
            document_types=retention.strings("document_types"),
        ),
    )


def current_job_rules() -> JobRules:
    rules = current_app.config.get("RA_JOB_RULES")
    if rules is None:
        rules = load_job_rules(current_app.config["RA_SETTINGS"].rules_dir)
        current_app.config["RA_JOB_RULES"] = rules
    return rules  # type: ignore[no-any-return]
