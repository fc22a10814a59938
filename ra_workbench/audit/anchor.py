"""Anchors: the chain's head kept outside the database, each beside an append-only seal log.

A hash chain cannot show that its most recent entries were removed: the chain simply
ends earlier. So, after every commit that appended entries, the application writes the
new head — {genesis, seq, hash} plus a MAC under the audit key — to every configured
place, and `audit verify` requires the chain to reach each place's head with that hash.

A head alone can be put back: an older, genuinely MAC'd head (from a backup, or copied
aside by an intruder) passes its own check. So every place also keeps a **seal log**,
only ever appended to, of the heads it was given (file places: one line per commit; all
places: one line per periodic seal, `audit seal`). Its highest record is the place's
high-water mark: a head older than it, a head missing while the log has records, or a
chain that does not reach it, is named by `audit verify`.

Places (`RA_WORKBENCH_AUDIT_ANCHORS`, plus always `<data_dir>/audit`):
- a directory: `head.json` (write-then-rename under `flock`) and `seals.log` (`O_APPEND`;
  make it append-only with `chattr +a` so that even its owner cannot truncate it);
- `redis://[user:password@]host:port/db/key` (or `rediss://`): the head in `key`
  (compare-and-set with WATCH/MULTI), the seals in the list `key:seals`, the heads of
  replaced chains in `key:chains`. On another machine, with a Redis ACL that gives the
  application only GET, SET and WATCH on `key` and RPUSH/LRANGE/LLEN on the two lists, the
  seal list cannot be rewritten with the application's own credentials.

Choices, and why:
- Written after the commit (a `Session.after_commit` hook), so an anchor never attests
  an entry that was rolled back. A crash between the commit and the write leaves an
  anchor one unit behind: it lags, never leads. It only moves forward (compare under a
  lock), so processes committing out of order cannot move it back.
- Keyed by the chain's genesis (hash of entry n°1): a freshly created database starts a
  new chain; the previous head is kept (`head-<genesis>.json`, `key:chains`) rather than
  overwritten, so a wiped-and-restarted trail leaves evidence behind.
- A place that cannot be written (disk full, Redis away) is logged and skipped: the
  commit already happened, and the other places still record it.
"""

from __future__ import annotations

import abc
import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ra_workbench.audit.chain import ChainProblem, ProblemKind, entry_mac
from ra_workbench.db import utcnow

log = logging.getLogger(__name__)

ANCHOR_FILE = "head.json"
SEAL_LOG = "seals.log"
# How much of a seal log `audit verify` reads back (newest records): about a thousand
# heads. The high-water mark is the newest record, so older ones need not be read.
TAIL_BYTES = 256 * 1024
REDIS_TAIL = 1000
DEFAULT_REDIS_KEY = "ra-workbench:audit:head"


@dataclass(frozen=True)
class Anchor:
    genesis: str
    seq: int
    hash: str
    mac: str

    @staticmethod
    def sign(key: str, genesis: str, seq: int, digest: str) -> str:
        return entry_mac(key, f"audit-anchor:{genesis}:{seq}:{digest}")

    @classmethod
    def make(cls, key: str, genesis: str, seq: int, digest: str) -> Anchor:
        return cls(genesis, seq, digest, cls.sign(key, genesis, seq, digest))

    def valid(self, key: str) -> bool:
        return hmac.compare_digest(self.sign(key, self.genesis, self.seq, self.hash), self.mac)

    def to_json(self) -> str:
        body = {"genesis": self.genesis, "seq": self.seq, "hash": self.hash, "mac": self.mac}
        return json.dumps(body, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes, where: str) -> Anchor:
        try:
            raw = json.loads(text)
            return cls(
                genesis=str(raw["genesis"]),
                seq=int(raw["seq"]),
                hash=str(raw["hash"]),
                mac=str(raw["mac"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise AnchorError(f"ancre illisible ({where}) : {exc}") from exc

    @classmethod
    def checked(cls, text: str | bytes, key: str, where: str) -> Anchor:
        """A stored head, parsed and its MAC checked; raises AnchorError when it cannot be
        trusted."""
        anchor = cls.from_json(text, where)
        if not anchor.valid(key):
            raise AnchorError(f"ancre falsifiée ({where}) : MAC invalide")
        return anchor


class AnchorError(Exception):
    """An anchor exists but cannot be trusted (unreadable or bad MAC)."""


class SealKind:
    HEAD = "head"  # written after a commit
    SEAL = "seal"  # a periodic seal, also sent away (e-mail to supervisors, RFC 3161 TSA)


SEAL_VERSION = "ra-audit-seal/1"


@dataclass(frozen=True)
class Seal:
    """One record of a seal log: « chain `genesis` had reached entry `seq`, of hash `hash`,
    at `at` », under the audit key's MAC. `timestamp` is the RFC 3161 response of a TSA over
    `imprint()`, when one was asked: it is signed by the TSA, so it needs no MAC of ours."""

    kind: str
    genesis: str
    seq: int
    hash: str
    at: str  # ISO 8601, UTC
    mac: str
    timestamp: str = ""  # base64 DER TimeStampResp

    @staticmethod
    def text(kind: str, genesis: str, seq: int, digest: str, at: str) -> str:
        return f"{SEAL_VERSION}:{kind}:{genesis}:{seq}:{digest}:{at}"

    @classmethod
    def make(  # noqa: PLR0917 - the signed fields, in the order of the signed text
        cls, key: str, kind: str, genesis: str, seq: int, digest: str, at: dt.datetime
    ) -> Seal:
        stamp = at.astimezone(dt.UTC).isoformat(timespec="microseconds")
        mac = entry_mac(key, cls.text(kind, genesis, seq, digest, stamp))
        return cls(kind, genesis, seq, digest, stamp, mac)

    def message(self) -> str:
        return self.text(self.kind, self.genesis, self.seq, self.hash, self.at)

    def imprint(self) -> bytes:
        """What a time-stamping authority stamps: the SHA-256 of the signed text."""
        return hashlib.sha256(self.message().encode()).digest()

    def valid(self, key: str) -> bool:
        return hmac.compare_digest(entry_mac(key, self.message()), self.mac)

    def timestamp_der(self) -> bytes:
        return base64.b64decode(self.timestamp) if self.timestamp else b""

    def to_json(self) -> str:
        body: dict[str, Any] = {
            "kind": self.kind,
            "genesis": self.genesis,
            "seq": self.seq,
            "hash": self.hash,
            "at": self.at,
            "mac": self.mac,
        }
        if self.timestamp:
            body["timestamp"] = self.timestamp
        return json.dumps(body, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Seal:
        raw = json.loads(text)
        return cls(
            kind=str(raw["kind"]),
            genesis=str(raw["genesis"]),
            seq=int(raw["seq"]),
            hash=str(raw["hash"]),
            at=str(raw["at"]),
            mac=str(raw["mac"]),
            timestamp=str(raw.get("timestamp") or ""),
        )

    def with_timestamp(self, response: bytes) -> Seal:
        return replace(self, timestamp=base64.b64encode(response).decode())


@dataclass(frozen=True)
class Mark:
    """One head attested outside the database, to compare with the chain."""

    source: str  # French, for messages: « l'ancre …/head.json », « le registre … »
    genesis: str
    seq: int
    hash: str


@dataclass(frozen=True)
class PlaceReading:
    """What one place attests, and what is wrong with the place itself."""

    place: str
    marks: tuple[Mark, ...] = ()  # newest chain's heads, highest first
    problems: tuple[ChainProblem, ...] = ()
    replaced_chains: int = 0
    latest_seal: Seal | None = None  # the newest periodic seal (kind « seal »)

    @property
    def empty(self) -> bool:
        return not self.marks and not self.problems

    @property
    def high_water(self) -> int | None:
        return self.marks[0].seq if self.marks else None


def _problem(kind: str, message: str, seq: int | None = None) -> ChainProblem:
    return ChainProblem(seq, None, kind, message)


def assess(
    place: str,
    head: Anchor | None,
    records: Sequence[Seal],
    *,
    head_label: str,
    log_label: str,
    replaced_chains: int = 0,
    problems: Sequence[ChainProblem] = (),
    head_unreadable: bool = False,
) -> PlaceReading:
    """A place's head against its own seal log: the newest chain in the log (records are in
    the order they were appended) is the one the head must attest, at or above every record.
    `head_unreadable`: there is a head but it failed its checks (already in `problems`).
    Pure: both places read their storage, then call this."""
    found = list(problems)
    newest = records[-1].genesis if records else (head.genesis if head else None)
    latest_seal = next(
        (r for r in reversed(records) if r.kind == SealKind.SEAL and r.genesis == newest), None
    )
    if newest is None:
        return PlaceReading(place, (), tuple(found), replaced_chains, latest_seal)
    marks: dict[tuple[int, str], Mark] = {}
    for record in records:
        if record.genesis == newest:
            marks.setdefault(
                (record.seq, record.hash),
                Mark(f"le registre des sceaux ({log_label})", newest, record.seq, record.hash),
            )
    best = max((m.seq for m in marks.values()), default=None)
    if head is None and head_unreadable:
        pass  # already named: a head that cannot be trusted
    elif head is None:
        found.append(
            _problem(
                ProblemKind.ANCHOR_MISSING,
                f"ancre de tête absente ({head_label}) alors que le registre des sceaux "
                f"({log_label}) atteste l'entrée n°{best} : ancre supprimée",
                best,
            )
        )
    elif head.genesis != newest:
        found.append(
            _problem(
                ProblemKind.ANCHOR_ROLLED_BACK,
                f"ancre de tête ({head_label}) d'une autre chaîne que la dernière inscrite au "
                f"registre des sceaux ({log_label}) : une ancre ancienne a été remise en place",
                head.seq,
            )
        )
    else:
        if best is not None and head.seq < best:
            found.append(
                _problem(
                    ProblemKind.ANCHOR_ROLLED_BACK,
                    f"ancre de tête revenue en arrière ({head_label}) : elle atteste "
                    f"l'entrée n°{head.seq}, le registre des sceaux ({log_label}) a déjà "
                    f"atteint n°{best} : une ancre ancienne a été remise en place",
                    head.seq,
                )
            )
        marks.setdefault(
            (head.seq, head.hash),
            Mark(f"l'ancre de tête ({head_label})", newest, head.seq, head.hash),
        )
    ordered = tuple(sorted(marks.values(), key=lambda m: m.seq, reverse=True))
    return PlaceReading(place, ordered, tuple(found), replaced_chains, latest_seal)


def parse_log_lines(
    lines: Sequence[bytes], key: str, log_label: str, *, torn_tail: bool
) -> tuple[list[Seal], list[ChainProblem]]:
    """Seal-log lines → records; a line that does not parse or whose MAC fails is named.
    `torn_tail`: the last line has no newline (a crash mid-append), so it is skipped."""
    records: list[Seal] = []
    problems: list[ChainProblem] = []
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = Seal.from_json(line)
        except (ValueError, KeyError, TypeError):
            if torn_tail and index == len(lines) - 1:
                continue
            problems.append(
                _problem(
                    ProblemKind.ALTERED, f"registre des sceaux ({log_label}) : ligne illisible"
                )
            )
            continue
        if not record.valid(key):
            problems.append(
                _problem(
                    ProblemKind.ALTERED,
                    f"registre des sceaux ({log_label}) : enregistrement n°{record.seq} "
                    "falsifié (MAC invalide)",
                    record.seq,
                )
            )
            continue
        records.append(record)
    return records, problems


class AnchorPlace(abc.ABC):
    """One place outside the database that keeps the head and the seal log."""

    label: str

    @abc.abstractmethod
    def advance(self, genesis: str, seq: int, digest: str) -> bool:
        """Move the head to (seq, digest) if that is further along this chain."""

    @abc.abstractmethod
    def append_seal(self, seal: Seal) -> None:
        """Append one record to the seal log."""

    @abc.abstractmethod
    def read(self) -> PlaceReading:
        """The head and the newest seal-log records, assessed; never raises."""


class FileAnchor(AnchorPlace):
    """A directory: `head.json` and `seals.log`. The data directory's `audit/` is one."""

    def __init__(self, directory: Path, key: str) -> None:
        self.directory = directory
        self.key = key
        self.label = str(directory)

    @property
    def path(self) -> Path:
        return self.directory / ANCHOR_FILE

    @property
    def log_path(self) -> Path:
        return self.directory / SEAL_LOG

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.directory / "head.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def head(self) -> Anchor | None:
        """The head, checked; raises AnchorError when it cannot be trusted."""
        if not self.path.exists():
            return None
        try:
            text = self.path.read_text()
        except OSError as exc:
            raise AnchorError(f"ancre illisible ({self.path}) : {exc}") from exc
        return Anchor.checked(text, self.key, str(self.path))

    def advance(self, genesis: str, seq: int, digest: str) -> bool:
        with self._locked():
            try:
                current = self.head()
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
            tmp = self.path.with_suffix(f".tmp-{os.getpid()}")
            tmp.write_text(Anchor.make(self.key, genesis, seq, digest).to_json())
            os.chmod(tmp, 0o600)
            tmp.replace(self.path)
            # Head first, then the log: a crash in between leaves the head ahead of the
            # log, which is harmless; the reverse would look like a rollback.
            self._append(Seal.make(self.key, SealKind.HEAD, genesis, seq, digest, utcnow()))
            return True

    def append_seal(self, seal: Seal) -> None:
        with self._locked():
            self._append(seal)

    def _append(self, seal: Seal) -> None:
        # One write(2) on an O_APPEND descriptor: lines never interleave, and the file
        # can be made append-only (chattr +a) without the application noticing.
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (seal.to_json() + "\n").encode())
        finally:
            os.close(fd)

    def _tail(self) -> tuple[list[bytes], bool]:
        if not self.log_path.exists():
            return [], False
        with self.log_path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            start = max(0, size - TAIL_BYTES)
            handle.seek(start)
            data = handle.read()
        lines = data.split(b"\n")
        if start > 0:
            lines = lines[1:]  # the first one is cut
        torn = bool(lines) and lines[-1] != b""
        return [line for line in lines if line], torn

    def read(self) -> PlaceReading:
        problems: list[ChainProblem] = []
        head: Anchor | None = None
        unreadable = False
        try:
            head = self.head()
        except AnchorError as exc:
            problems.append(_problem(ProblemKind.ALTERED, str(exc)))
            unreadable = True
        try:
            lines, torn = self._tail()
        except OSError as exc:
            problems.append(
                _problem(
                    ProblemKind.ANCHOR_UNREACHABLE,
                    f"registre des sceaux illisible ({self.log_path}) : {exc}",
                )
            )
            lines, torn = [], False
        records, bad = parse_log_lines(lines, self.key, str(self.log_path), torn_tail=torn)
        problems.extend(bad)
        return assess(
            self.label,
            head,
            records,
            head_label=str(self.path),
            log_label=str(self.log_path),
            replaced_chains=len(self.archived()),
            problems=problems,
            head_unreadable=unreadable,
        )

    def _archive(self, label: str) -> None:
        if self.path.exists():
            self.path.replace(self.directory / f"head-{label}.json")

    def archived(self) -> list[Path]:
        if not self.directory.exists():
            return []
        return sorted(p for p in self.directory.glob("head-*.json"))


# Redis clients by URL: one connection pool per process, not one per commit.
_redis_clients: dict[str, Any] = {}


@dataclass(frozen=True)
class RedisLocation:
    url: str  # redis://host:port/db (no key), for the client
    key: str
    label: str  # without the password

    @classmethod
    def parse(cls, spec: str) -> RedisLocation:
        parts = urlsplit(spec)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ValueError(f"ancre Redis invalide : {spec!r} (redis://hôte:port/base/clé)")
        segments = [unquote(s) for s in parts.path.split("/") if s]
        db = "0"
        if segments and segments[0].isdigit():
            db = segments.pop(0)
        key = "/".join(segments) or DEFAULT_REDIS_KEY
        netloc = parts.netloc
        public = netloc.rpartition("@")[2]
        if parts.username:
            public = f"{parts.username}@{public}"
        return cls(
            url=f"{parts.scheme}://{netloc}/{db}",
            key=key,
            label=f"{parts.scheme}://{public}/{db}/{key}",
        )


class RedisAnchor(AnchorPlace):
    def __init__(self, location: RedisLocation, key: str, connection: Any = None) -> None:
        self.location = location
        self.key = key
        self.label = location.label
        self._connection = connection

    @property
    def connection(self) -> Any:
        if self._connection is None:
            client = _redis_clients.get(self.location.url)
            if client is None:
                from redis import Redis  # noqa: PLC0415 - only when a Redis anchor is configured

                client = Redis.from_url(
                    self.location.url, socket_timeout=3, socket_connect_timeout=3
                )
                _redis_clients[self.location.url] = client
            self._connection = client
        return self._connection

    @property
    def seals_key(self) -> str:
        return f"{self.location.key}:seals"

    @property
    def chains_key(self) -> str:
        return f"{self.location.key}:chains"

    def advance(self, genesis: str, seq: int, digest: str) -> bool:
        from redis.exceptions import WatchError  # noqa: PLC0415 - as above

        body = Anchor.make(self.key, genesis, seq, digest).to_json()
        with self.connection.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(self.location.key)
                    raw = pipe.get(self.location.key)
                    current: Anchor | None = None
                    if raw is not None:
                        with contextlib.suppress(AnchorError):
                            current = Anchor.checked(raw, self.key, self.label)
                    if current is not None and current.genesis == genesis and current.seq >= seq:
                        pipe.unwatch()
                        return False
                    pipe.multi()
                    if raw is not None and (current is None or current.genesis != genesis):
                        pipe.rpush(self.chains_key, raw)
                    if current is None or current.genesis != genesis:
                        # The seal list is only written at seals; a chain's first head goes
                        # there too, so the list's newest chain is always the head's.
                        first = Seal.make(self.key, SealKind.HEAD, genesis, seq, digest, utcnow())
                        pipe.rpush(self.seals_key, first.to_json())
                    pipe.set(self.location.key, body)
                    pipe.execute()
                    return True
                except WatchError:
                    continue

    def append_seal(self, seal: Seal) -> None:
        self.connection.rpush(self.seals_key, seal.to_json())

    def read(self) -> PlaceReading:
        from redis.exceptions import RedisError  # noqa: PLC0415 - as above

        try:
            # One round trip; no MULTI, so the ACL of the module docstring is enough.
            with self.connection.pipeline(transaction=False) as pipe:
                pipe.get(self.location.key)
                pipe.lrange(self.seals_key, -REDIS_TAIL, -1)
                pipe.llen(self.chains_key)
                raw, seal_lines, chain_count = pipe.execute()
            lines = list(seal_lines)
            replaced = int(chain_count)
        except RedisError as exc:
            return PlaceReading(
                self.label,
                problems=(
                    _problem(
                        ProblemKind.ANCHOR_UNREACHABLE,
                        f"ancre injoignable ({self.label}) : {type(exc).__name__}: {exc}",
                    ),
                ),
            )
        problems: list[ChainProblem] = []
        head: Anchor | None = None
        if raw is not None:
            try:
                head = Anchor.checked(raw, self.key, self.label)
            except AnchorError as exc:
                problems.append(_problem(ProblemKind.ALTERED, str(exc)))
        records, bad = parse_log_lines(lines, self.key, self.seals_key, torn_tail=False)
        problems.extend(bad)
        return assess(
            self.label,
            head,
            records,
            head_label=self.label,
            log_label=f"{self.label}:seals",
            replaced_chains=replaced,
            problems=problems,
            head_unreadable=raw is not None and head is None,
        )


@dataclass(frozen=True)
class PlaceSet:
    """Every configured place, the data directory's first."""

    places: tuple[AnchorPlace, ...] = ()

    def advance(self, genesis: str, seq: int, digest: str) -> None:
        for place in self.places:
            try:
                place.advance(genesis, seq, digest)
            except Exception:
                # Committed already: the other places still record the head; `audit verify`
                # shows this place lagging (harmless) or unreachable.
                log.exception("audit anchor %s could not be advanced", place.label)

    def append_seal(self, seal: Seal) -> list[str]:
        """Append to every place; returns the labels of those that failed."""
        failed = []
        for place in self.places:
            try:
                place.append_seal(seal)
            except Exception:
                log.exception("audit seal could not be written to %s", place.label)
                failed.append(place.label)
        return failed


def place_for(spec: str, key: str) -> AnchorPlace:
    """One `RA_WORKBENCH_AUDIT_ANCHORS` item: a directory, or a Redis URL with its key."""
    if spec.startswith(("redis://", "rediss://")):
        return RedisAnchor(RedisLocation.parse(spec), key)
    return FileAnchor(Path(spec), key)
