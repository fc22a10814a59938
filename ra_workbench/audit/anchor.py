"""The head anchor: the last entry's position and hash, kept outside the database.

A hash chain cannot show that its most recent entries were removed: the chain simply
ends earlier. So, after every commit that appended entries, the application writes
`<data_dir>/audit/head.json` — {genesis, seq, hash} plus a MAC under the audit key — and
`audit verify` requires the chain to reach that entry with that hash.

Choices, and why:
- A file beside the document store rather than a column or a table: whoever can rewrite
  the database cannot move the anchor back. It lives in the data directory, which a
  multi-machine deployment shares anyway (the document store is there).
- Written after the commit (a `Session.after_commit` hook), so the anchor never attests
  an entry that was rolled back. A crash between the commit and the write leaves the
  anchor one unit behind: it lags, never leads. It only moves forward (`flock` + compare
  under the lock), so processes committing out of order cannot move it back.
- Keyed by the chain's genesis (hash of entry n°1): a freshly created database starts a
  new chain; the previous anchor is kept as `head-<genesis>.json` rather than overwritten,
  so a wiped-and-restarted trail leaves evidence behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ANCHOR_FILE = "head.json"


@dataclass(frozen=True)
class Anchor:
    genesis: str
    seq: int
    hash: str
    mac: str

    @staticmethod
    def sign(key: str, genesis: str, seq: int, digest: str) -> str:
        message = f"audit-anchor:{genesis}:{seq}:{digest}".encode()
        return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()

    def valid(self, key: str) -> bool:
        return hmac.compare_digest(self.sign(key, self.genesis, self.seq, self.hash), self.mac)


class AnchorError(Exception):
    """The anchor file exists but cannot be trusted (unreadable or bad MAC)."""


class AnchorStore:
    def __init__(self, directory: Path, key: str) -> None:
        self.directory = directory
        self.key = key

    @property
    def path(self) -> Path:
        return self.directory / ANCHOR_FILE

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.directory / "head.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def read(self) -> Anchor | None:
        if not self.path.exists():
            return None
        try:
            raw = json.loads(self.path.read_text())
            anchor = Anchor(
                genesis=str(raw["genesis"]),
                seq=int(raw["seq"]),
                hash=str(raw["hash"]),
                mac=str(raw["mac"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AnchorError(f"ancre illisible ({self.path}) : {exc}") from exc
        if not anchor.valid(self.key):
            raise AnchorError(f"ancre falsifiée ({self.path}) : MAC invalide")
        return anchor

    def advance(self, genesis: str, seq: int, digest: str) -> bool:
        """Move the anchor to (seq, digest) if that is further along this chain."""
        with self._locked():
            try:
                current = self.read()
            except AnchorError:
                log.exception("audit head anchor unreadable: keeping it aside")
                self._archive("invalid")
                current = None
            if current is not None and current.genesis == genesis and current.seq >= seq:
                return False
            if current is not None and current.genesis != genesis:
                log.warning(
                    "audit trail: a new chain (genesis %s) replaces the anchored one "
                    "(genesis %s, %d entries); the old anchor is kept",
                    genesis[:12],
                    current.genesis[:12],
                    current.seq,
                )
                self._archive(current.genesis[:16])
            body = {
                "genesis": genesis,
                "seq": seq,
                "hash": digest,
                "mac": Anchor.sign(self.key, genesis, seq, digest),
            }
            tmp = self.path.with_suffix(f".tmp-{os.getpid()}")
            tmp.write_text(json.dumps(body, sort_keys=True))
            os.chmod(tmp, 0o600)
            tmp.replace(self.path)
            return True

    def _archive(self, label: str) -> None:
        if self.path.exists():
            self.path.replace(self.directory / f"head-{label}.json")

    def archived(self) -> list[Path]:
        if not self.directory.exists():
            return []
        return sorted(p for p in self.directory.glob("head-*.json"))
