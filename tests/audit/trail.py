"""What the audit tests do to a trail: append entries the application's way, tamper with it
the intruder's way (plain SQL, files moved by hand), and run `audit verify` as cron does."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from click.testing import Result
from flask import Flask

from ra_workbench.audit.cli import audit_group
from ra_workbench.audit.service import anchor_store, record
from ra_workbench.extensions import db
from ra_workbench.unit import unit_of_work


def append_entries(count: int, *, order_number: str = "300001") -> None:
    """`count` entries, one commit each (so every anchor moves `count` times)."""
    for i in range(count):
        with unit_of_work() as session:
            record(
                session,
                "test.event",
                actor=f"agent{i}@certeurope.example",
                order_number=order_number,
                payload={"i": i, "note": "événement"},
            )


def intruder_sql(statement: str, **params: object) -> None:
    """Straight to the database, as an intruder would (no ORM, no guard)."""
    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def delete_entries_from(seq: int) -> None:
    intruder_sql("DELETE FROM audit_events WHERE seq >= :seq", seq=seq)


@dataclass
class Snapshot:
    """A copy of the data directory's anchor (head and seal log), to put back later."""

    directory: Path

    @classmethod
    def take(cls, into: Path) -> Snapshot:
        target = into / "anchor-copy"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(anchor_store().directory, target)
        return cls(target)

    def put_back(self, *, head_only: bool = False) -> None:
        live = anchor_store().directory
        if head_only:
            shutil.copy2(self.directory / "head.json", live / "head.json")
            return
        shutil.rmtree(live)
        shutil.copytree(self.directory, live)


def verify_cli(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(audit_group, ["verify", *args])
