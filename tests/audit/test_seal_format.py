"""The pure parts of anchoring and sealing: a place's head judged against its seal log, the
seal block as a supervisor's mail client may mangle it, the RFC 3161 request bytes. No
database, no Flask."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from pathlib import Path

import pytest

from ra_workbench.audit.anchor import Anchor, Seal, SealKind, assess
from ra_workbench.audit.chain import ProblemKind
from ra_workbench.audit.seal import SealFormatError, parse_seal_blocks, seal_block
from ra_workbench.audit.timestamp import TimestampError, build_request, response_status

KEY = "clé-de-test-du-journal"
GENESIS = "a" * 64
AT = dt.datetime(2026, 11, 29, 4, 0, tzinfo=dt.UTC)


def _head(seq: int, genesis: str = GENESIS) -> Seal:
    return Seal.make(KEY, SealKind.HEAD, genesis, seq, f"{seq:064x}", AT)


def test_a_head_at_the_log_high_water_mark_is_consistent() -> None:
    reading = assess(
        "lieu",
        Anchor.make(KEY, GENESIS, 3, f"{3:064x}"),
        [_head(1), _head(2), _head(3)],
        head_label="head.json",
        log_label="seals.log",
    )
    assert reading.problems == ()
    assert reading.high_water == 3
    assert [m.seq for m in reading.marks] == [3, 2, 1]


def test_a_head_behind_its_log_is_a_rollback_and_a_missing_head_is_named() -> None:
    log = [_head(1), _head(2), _head(5)]
    rolled = assess(
        "lieu",
        Anchor.make(KEY, GENESIS, 2, f"{2:064x}"),
        log,
        head_label="head.json",
        log_label="seals.log",
    )
    assert [p.kind for p in rolled.problems] == [ProblemKind.ANCHOR_ROLLED_BACK]
    assert rolled.high_water == 5
    missing = assess("lieu", None, log, head_label="head.json", log_label="seals.log")
    assert [p.kind for p in missing.problems] == [ProblemKind.ANCHOR_MISSING]
    assert "n°5" in missing.problems[0].message


def test_a_head_of_an_older_chain_than_the_log_is_a_rollback() -> None:
    reading = assess(
        "lieu",
        Anchor.make(KEY, "b" * 64, 9, f"{9:064x}"),
        [_head(9, "b" * 64), _head(1)],  # then a new chain started
        head_label="head.json",
        log_label="seals.log",
    )
    assert [p.kind for p in reading.problems] == [ProblemKind.ANCHOR_ROLLED_BACK]


def test_a_seal_survives_a_forward_quoted_by_a_mail_client() -> None:
    seal = Seal.make(KEY, SealKind.SEAL, GENESIS, 42, "c" * 64, AT)
    forwarded = "Bonjour,\n\n" + "\n".join(f"> {line}" for line in seal_block(seal).splitlines())
    assert all(len(line) <= 76 for line in seal_block(seal).splitlines())

    [parsed] = parse_seal_blocks(forwarded)

    assert parsed == seal
    assert parsed.valid(KEY)
    with pytest.raises(SealFormatError, match="tronqué"):
        parse_seal_blocks(seal_block(seal).rsplit("\n", 1)[0])


def test_the_time_stamp_request_is_what_openssl_reads(tmp_path: Path) -> None:
    imprint = hashlib.sha256(b"sceau").digest()
    request = tmp_path / "query.tsq"
    request.write_bytes(build_request(imprint, nonce=123456789))

    shown = subprocess.run(
        ["openssl", "ts", "-query", "-in", str(request), "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert "Hash Algorithm: sha256" in shown
    assert imprint.hex()[:8] in shown.replace(" ", "").replace("-", "").lower()
    assert "Nonce: 0x075BCD15" in shown
    assert "Certificate required: yes" in shown


def test_a_time_stamp_response_status_is_read_and_garbage_refused() -> None:
    granted = bytes.fromhex("3005" + "3003020100")
    rejection = bytes.fromhex("3005" + "3003020102")
    assert response_status(granted) == 0
    assert response_status(rejection) == 2
    with pytest.raises(TimestampError):
        response_status(b"<html>")
