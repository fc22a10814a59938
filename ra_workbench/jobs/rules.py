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


# EN 319 411-1 OVR-6.4.6-01: registration evidence is kept at least 7 years after the
# certificate it supports stops being valid (7 × 365 days and two leap days).
REGISTRATION_EVIDENCE_MIN_DAYS = 2557
LEGAL_MINIMUM_FR = (
    "au moins {minimum} jours : la preuve d'enregistrement est conservée 7 ans après la fin "
    "de validité du certificat (EN 319 411-1 OVR-6.4.6-01), lu {value!r}"
)


@dataclass(frozen=True)
class IdentityCopyRetention:
    after_certificate_end_days: int
    after_rejection_days: int
    document_types: tuple[str, ...]


@dataclass(frozen=True)
class RetentionRules:
    """rules/jobs.toml [retention.*]: one period per category of personal data."""

    identity_copies: IdentityCopyRetention
    registration_evidence_days: int
    abandoned_after_days: int
    outbox_bodies_after_days: int

    # The identity copies' periods, under the names the purge has always read.
    @property
    def after_certificate_end_days(self) -> int:
        return self.identity_copies.after_certificate_end_days

    @property
    def after_rejection_days(self) -> int:
        return self.identity_copies.after_rejection_days

    @property
    def document_types(self) -> tuple[str, ...]:
        return self.identity_copies.document_types


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
        retention=_retention(root.table("retention")),
    )


def _legal_minimum(table: TomlReader, name: str) -> int:
    value = table.data.get(name)
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value < (REGISTRATION_EVIDENCE_MIN_DAYS)
    ):
        raise table.error(
            name, LEGAL_MINIMUM_FR.format(minimum=REGISTRATION_EVIDENCE_MIN_DAYS, value=value)
        )
    return table.integer(name, minimum=REGISTRATION_EVIDENCE_MIN_DAYS)


def _retention(retention: TomlReader) -> RetentionRules:
    retention.unknown_keys(
        {"identity_copies", "registration_evidence", "abandoned_dossiers", "outbox"}
    )
    copies = retention.table("identity_copies")
    copies.unknown_keys({"after_certificate_end_days", "after_rejection_days", "document_types"})
    evidence = retention.table("registration_evidence")
    evidence.unknown_keys({"after_certificate_end_days"})
    abandoned = retention.table("abandoned_dossiers")
    abandoned.unknown_keys({"after_days"})
    outbox = retention.table("outbox")
    outbox.unknown_keys({"bodies_after_days"})
    return RetentionRules(
        identity_copies=IdentityCopyRetention(
            after_certificate_end_days=_legal_minimum(copies, "after_certificate_end_days"),
            after_rejection_days=copies.integer("after_rejection_days"),
            document_types=copies.strings("document_types"),
        ),
        registration_evidence_days=_legal_minimum(evidence, "after_certificate_end_days"),
        # A customer may take weeks to send a missing document: never less than a month.
        abandoned_after_days=abandoned.integer("after_days", minimum=30),
        outbox_bodies_after_days=outbox.integer("bodies_after_days", minimum=1),
    )


def current_job_rules() -> JobRules:
    rules = current_app.config.get("RA_JOB_RULES")
    if rules is None:
        rules = load_job_rules(current_app.config["RA_SETTINGS"].rules_dir)
        current_app.config["RA_JOB_RULES"] = rules
    return rules  # type: ignore[no-any-return]
