"""RFC 3161 time-stamping of audit seals: ask a TSA to sign « this imprint existed at T ».

The request is a few bytes of DER, built here by hand (no ASN.1 library for four fields);
the response is kept whole (base64 in the seal record) and checked later with
`openssl ts -verify`, which does the CMS signature and certificate-chain work properly.

What a time-stamp adds: a third party's signature that the sealed head (count, hash) existed
no later than its time — an auditor can check it without trusting our key. What it does not:
the TSA keeps no copy, so it cannot show a rollback by itself; the seal must also be kept
somewhere the attacker cannot reach (the supervisors' mailbox, another anchor place).
"""

from __future__ import annotations

import re
import secrets
import subprocess
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ra_workbench import der

SHA256_ALGORITHM = bytes.fromhex("300d06096086480165030402010500")  # AlgorithmIdentifier
GRANTED = (0, 1)  # granted, grantedWithMods
STATUS_FR = {
    0: "accordé",
    1: "accordé avec modifications",
    2: "refusé",
    3: "en attente",
    4: "révocation imminente",
    5: "révoqué",
}


class TimestampError(Exception):
    """The TSA could not be reached, refused, or answered something else (French)."""


def build_request(imprint: bytes, nonce: int) -> bytes:
    """TimeStampReq v1 over a SHA-256 imprint, with a nonce, asking for the TSA's
    certificate in the response (so that verifying needs only the CA)."""
    if len(imprint) != 32:
        raise ValueError("SHA-256 imprint expected")
    message_imprint = der.sequence(SHA256_ALGORITHM, der.tlv(0x04, imprint))
    cert_req = der.tlv(0x01, b"\xff")
    return der.sequence(der.integer(1), message_imprint, der.integer(nonce), cert_req)


def _read_tlv(data: bytes, offset: int) -> tuple[int, int, int]:
    try:
        return der.read_tlv(data, offset)
    except ValueError as exc:
        raise TimestampError(f"réponse d'horodatage mal formée ou tronquée ({exc})") from exc


def response_status(response: bytes) -> int:
    """PKIStatus of a TimeStampResp: SEQUENCE { SEQUENCE { INTEGER status, … }, token }."""
    tag, start, _ = _read_tlv(response, 0)
    if tag != 0x30:
        raise TimestampError("réponse d'horodatage : SEQUENCE attendue")
    tag, inner, _ = _read_tlv(response, start)
    if tag != 0x30:
        raise TimestampError("réponse d'horodatage : PKIStatusInfo attendu")
    tag, value_start, value_end = _read_tlv(response, inner)
    if tag != 0x02:
        raise TimestampError("réponse d'horodatage : statut attendu")
    return int.from_bytes(response[value_start:value_end], "big")


def request_timestamp(url: str, imprint: bytes, *, timeout: float = 15.0) -> bytes:
    """POST the request to the TSA; returns the whole DER response once granted."""
    query = build_request(imprint, secrets.randbits(63))
    request = urllib.request.Request(  # noqa: S310 - scheme checked in config (http/https)
        url,
        data=query,
        headers={"Content-Type": "application/timestamp-query"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            response = bytes(answer.read(1024 * 1024))
    except OSError as exc:
        raise TimestampError(f"autorité d'horodatage injoignable ({url}) : {exc}") from exc
    status = response_status(response)
    if status not in GRANTED:
        raise TimestampError(
            f"horodatage {STATUS_FR.get(status, str(status))} par l'autorité ({url})"
        )
    return response


@dataclass(frozen=True)
class TimestampCheck:
    ok: bool
    time: str  # as openssl prints it (« Nov 29 05:00:00 2026 GMT »), or ""
    detail: str  # French, when not ok


_TIME_LINE = re.compile(r"^Time stamp:\s*(.+)$", re.MULTILINE)


def verify_timestamp(response: bytes, imprint: bytes, ca_file: Path) -> TimestampCheck:
    """Check the TSA's signature over exactly this imprint, up to `ca_file`."""
    with tempfile.TemporaryDirectory(prefix="ra-tsa-") as tmp:
        path = Path(tmp) / "response.tsr"
        path.write_bytes(response)
        verified = subprocess.run(
            [
                "openssl",
                "ts",
                "-verify",
                "-digest",
                imprint.hex(),
                "-in",
                str(path),
                "-CAfile",
                str(ca_file),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        text = subprocess.run(
            ["openssl", "ts", "-reply", "-in", str(path), "-text"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    found = _TIME_LINE.search(text.stdout)
    when = found.group(1).strip() if found else ""
    if verified.returncode == 0 and "Verification: OK" in verified.stdout:
        return TimestampCheck(True, when, "")
    reason = (verified.stderr or verified.stdout).strip().splitlines()
    return TimestampCheck(False, when, reason[-1] if reason else "vérification refusée")
