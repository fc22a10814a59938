"""The scheduler enqueues each occurrence once, however many schedulers run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask
from redis import Redis

from ra_workbench.jobs.queue import dispatch, rq_queue
from ra_workbench.jobs.rules import ScheduleEntry, current_job_rules
from ra_workbench.jobs.scheduler import FileClaims, RedisClaims, occurrence, tick

PARIS = ZoneInfo("Europe/Paris")


def test_a_daily_entry_is_due_from_its_time_until_midnight() -> None:
    entry = ScheduleEntry("nightly", "x:y", daily_at=dt.time(2, 30))
    day = dt.date(2026, 11, 21)
    assert occurrence(entry, dt.datetime.combine(day, dt.time(2, 29), tzinfo=PARIS)) is None
    at_time = occurrence(entry, dt.datetime.combine(day, dt.time(2, 30), tzinfo=PARIS))
    late = occurrence(entry, dt.datetime.combine(day, dt.time(23, 59), tzinfo=PARIS))
    assert at_time == late == "nightly:2026-11-21"


def test_an_interval_entry_has_one_occurrence_per_slot() -> None:
    entry = ScheduleEntry("inbox", "x:y", every_seconds=60)
    start = dt.datetime(2026, 11, 21, 10, 0, 5, tzinfo=dt.UTC)
    assert occurrence(entry, start) == occurrence(entry, start + dt.timedelta(seconds=50))
    assert occurrence(entry, start) != occurrence(entry, start + dt.timedelta(seconds=60))


def test_two_schedulers_sharing_redis_enqueue_each_occurrence_once(
    app: Flask, with_redis: Redis
) -> None:
    now = dt.datetime(2026, 11, 21, 3, 45, tzinfo=PARIS)
    schedule = current_job_rules().schedule
    first = tick(schedule, now, RedisClaims(with_redis).claim, dispatch)
    second = tick(schedule, now, RedisClaims(with_redis).claim, dispatch)
    ts = int(now.timestamp())
    assert {d.entry for d in first} == {
        "inbox",
        "recovery",
        "outbox_sweep",
        "appointment_reminders",
        "nightly_recheck",
        "retention_purge",
        "crl_refresh",
    }
    assert second == []
    queue = rq_queue(with_redis)
    assert sorted(queue.job_ids) == sorted(
        [
            f"sched_inbox_{ts // 60}",
            f"sched_recovery_{ts // 600}",
            f"sched_outbox_sweep_{ts // 300}",
            f"sched_appointment_reminders_{ts // 3600}",
            f"sched_crl_refresh_{ts // 3600}",
            "sched_nightly_recheck_2026-11-21",
            "sched_retention_purge_2026-11-21",
        ]
    )
    job = queue.fetch_job("sched_nightly_recheck_2026-11-21")
    assert job is not None
    assert job.args == ("ra_workbench.checks.tasks:nightly_recheck", "2026-11-21")
    assert job.retries_left == len(current_job_rules().retry.intervals)


def test_without_redis_claims_survive_a_restart(tmp_path: Path) -> None:
    assert FileClaims(tmp_path / "s.json").claim("nightly:2026-11-21")
    assert not FileClaims(tmp_path / "s.json").claim("nightly:2026-11-21")
    assert FileClaims(tmp_path / "s.json").claim("nightly:2026-11-22")
