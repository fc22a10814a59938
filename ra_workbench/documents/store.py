"""Content-addressed document store under the data directory.

Files are named by their sha256, written to a temporary file then renamed, never modified
afterwards; identical content is stored once. The directory is outside anything the web
server serves: documents reach a browser only through an authorised view.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy.orm import Session

from ra_workbench import unit


class DocumentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store bytes; returns (sha256, created) — created is False when already present."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        if target.exists():
            return digest, False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, 0o440)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return digest, True

    def read(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()

    def delete(self, sha256: str) -> bool:
        """Only the retention purge and the rollback of a failed ingestion delete files."""
        path = self.path_for(sha256)
        if path.exists():
            path.unlink()
            return True
        return False

    def all_digests(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.glob("??/??/*") if not p.name.startswith("."))


NEW_BLOBS = "ra_new_blobs"  # what a unit of work stored, removed again if it fails


def store() -> DocumentStore:
    return DocumentStore(current_app.config["RA_SETTINGS"].store_dir)


def put_blob(session: Session, data: bytes) -> tuple[str, bool]:
    """Store bytes as part of the current unit (removed again if the unit fails)."""
    digest, created = store().put(data)
    if created:
        unit.remember(session, NEW_BLOBS, digest)
    return digest, created


def _remove_new_blobs(collected: dict[str, Any]) -> None:
    doc_store = store()
    for digest in collected.get(NEW_BLOBS, []):
        doc_store.delete(digest)


def init_app(app: Flask) -> None:
    """A unit that fails leaves no file behind."""
    unit.after_discard(_remove_new_blobs)
