"""The inbox directory: packages dropped there are ingested and moved to done/ or refused/.

No package can block the inbox: a refusal, and even an unexpected error, moves the package
to refused/ with the reason beside it (`<name>.error.txt`), and the next one is read.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

from ra_workbench.ingest.package import Limits, Package, PackageRefused, read_package_path
from ra_workbench.ingest.service import IngestOutcome, ingest_or_set_aside, package_limits

log = logging.getLogger(__name__)

SYMLINK_REFUSED = (
    "lien symbolique refusé dans le répertoire d'entrée : seuls un vrai répertoire ou un "
    "vrai fichier .zip sont lus"
)


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
    while target.exists() or target.is_symlink():
        target = target_dir / f"{path.stem}-{counter}{path.suffix}"
        counter += 1
    shutil.move(str(path), target)
    return target


def _read(path: Path, limits: Limits) -> Package:
    if path.is_symlink():
        # Followed, a link would make the inbox read (and later move) what lies elsewhere.
        raise PackageRefused([SYMLINK_REFUSED])
    return read_package_path(path, limits)


def _set_aside(path: Path, inbox: Path, outcome: IngestOutcome) -> None:
    moved = _move(path, inbox / "refused")
    moved.with_name(moved.name + ".error.txt").write_text(
        "\n".join(outcome.errors) + "\n", encoding="utf-8"
    )


def drain_inbox(inbox: Path) -> Iterator[IngestOutcome]:
    """Ingest every package waiting in the inbox, oldest name first. Idempotent."""
    limits = package_limits()
    for path in pending_packages(inbox):
        outcome = ingest_or_set_aside(
            lambda p=path: _read(p, limits),  # type: ignore[misc]
            name=path.name,
            source="inbox",
        )
        try:
            if outcome.outcome in ("refused", "error"):
                _set_aside(path, inbox, outcome)
            else:
                _move(path, inbox / "done")
        except OSError as exc:
            # The package stays where it is and is read again next time: nothing was lost.
            log.error("boîte de dépôt : déplacement impossible (%s)", type(exc).__name__)
        yield outcome
