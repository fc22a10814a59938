"""The inbox directory: packages dropped there are ingested and moved to done/ or refused/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from ra_workbench.ingest.package import read_package_path
from ra_workbench.ingest.service import IngestOutcome, ingest, package_limits


def pending_packages(inbox: Path) -> list[Path]:
    if not inbox.exists():
        return []
    return sorted(
        p
        for p in inbox.iterdir()
        if p.name not in ("done", "refused", "tmp")
        and not p.name.startswith(".")
        and not p.name.endswith(".error.txt")
        and (p.is_dir() or p.suffix.lower() == ".zip")
    )


def _move(path: Path, target_dir: Path) -> Path:
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    counter = 1
    while target.exists():
        target = target_dir / f"{path.stem}-{counter}{path.suffix}"
        counter += 1
    shutil.move(str(path), target)
    return target


def drain_inbox(inbox: Path) -> Iterator[IngestOutcome]:
    """Ingest every package waiting in the inbox, oldest name first. Idempotent."""
    limits = package_limits()
    for path in pending_packages(inbox):
        outcome = ingest(
            lambda p=path: read_package_path(p, limits),  # type: ignore[misc]
            name=path.name,
            source="inbox",
        )
        if outcome.outcome == "refused":
            moved = _move(path, inbox / "refused")
            moved.with_name(moved.name + ".error.txt").write_text(
                "\n".join(outcome.errors) + "\n", encoding="utf-8"
            )
        else:
            _move(path, inbox / "done")
        yield outcome
