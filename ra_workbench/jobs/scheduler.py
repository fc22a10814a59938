"""The scheduler: turns rules/jobs.toml's schedule into jobs, each occurrence exactly once.

Each occurrence of an entry has a name — « nightly_recheck:2026-11-21 », « inbox:29419817 »
(the minute-slot number) — and is claimed before it is dispatched: with Redis by
`SET NX` on that name (shared by every scheduler on every machine), without Redis in a
small JSON file in the data directory. Running two schedulers, restarting one, or running
`--once` by hand next to the service never enqueues an occurrence twice; and the rq job
id is the same name, so a job still waiting or running is not duplicated either.

A daily entry is due from its time (Europe/Paris) until the end of the day: a scheduler
started at 08:00 still runs the 02:30 job of that day. Missed earlier days are not caught
up: every daily task covers everything still due on the day it runs.

Why not `rq cron`: the same unique-id idea, but this loop also runs without Redis (the
demo) and takes a fake clock, which is how the tests drive it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ra_workbench.clock import PARIS
from ra_workbench.jobs.rules import ScheduleEntry

log = logging.getLogger(__name__)

CLAIM_TTL_SECONDS = 8 * 24 * 3600
CLAIM_PREFIX = "ra-workbench:schedule:"


def occurrence(entry: ScheduleEntry, now: dt.datetime) -> str | None:
    """The name of the entry's occurrence due at `now`, or None if none is due yet today."""
    if entry.every_seconds:
        slot = int(now.timestamp()) // entry.every_seconds
        return f"{entry.name}:{slot}"
    local = now.astimezone(PARIS)
    if entry.daily_at is None or local.time() < entry.daily_at:
        return None
    return f"{entry.name}:{local.date().isoformat()}"


def task_arguments(entry: ScheduleEntry, now: dt.datetime) -> tuple[str, ...]:
    """Daily tasks work for the day of their occurrence (the fake clock flows through)."""
    if entry.daily_at is not None:
        return (now.astimezone(PARIS).date().isoformat(),)
    return ()


class RedisClaims:
    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def claim(self, name: str) -> bool:
        return bool(self.connection.set(CLAIM_PREFIX + name, "1", nx=True, ex=CLAIM_TTL_SECONDS))


class FileClaims:
    """Single-machine claims (no Redis): the last occurrence run per entry."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def claim(self, name: str) -> bool:
        entry, _, slot = name.rpartition(":")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state: dict[str, str] = {}
            if self.path.exists():
                try:
                    state = json.loads(self.path.read_text())
                except ValueError:
                    state = {}
            if state.get(entry) == slot:
                return False
            state[entry] = slot
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state, sort_keys=True))
            tmp.replace(self.path)
            return True


@dataclass(frozen=True)
class Dispatched:
    entry: str
    occurrence: str
    task: str
    args: tuple[str, ...]


def tick(
    entries: Iterable[ScheduleEntry],
    now: dt.datetime,
    claim: Callable[[str], bool],
    dispatch: Callable[..., None],
) -> list[Dispatched]:
    """One pass: dispatch every due occurrence not claimed yet."""
    done: list[Dispatched] = []
    for entry in entries:
        name = occurrence(entry, now)
        if name is None or not claim(name):
            continue
        args = task_arguments(entry, now)
        try:
            dispatch(entry.task, *args, job_id=f"sched:{name}")
        except Exception:
            # Inline dispatch records its own failures; an enqueue error (Redis away) must
            # not stop the other entries. The claim stands: the next occurrence retries.
            log.exception("scheduler: could not dispatch %s", name)
        done.append(Dispatched(entry.name, name, entry.task, args))
        log.info("scheduler: %s dispatched", name)
    return done


def run_forever(
    step: Callable[[dt.datetime], list[Dispatched]],
    *,
    interval_seconds: float,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    while not should_stop():
        step(clock())
        time.sleep(interval_seconds)
