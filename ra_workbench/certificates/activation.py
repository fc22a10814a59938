"""The holder's activation code: the token's user PIN, and what the holder is sent after the
hand-over. Derived (HMAC of the certificate's serial with a key outside the database), never
stored: issuance sets it on the token, notify puts it in the holder's message at send time,
and both derive the same code."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app

from ra_workbench.config import _persistent_secret

ACTIVATION_CODE_DIGITS = 8


def activation_code_for(certificate_serial: str) -> str:
    """The holder's activation code: derived, never stored, the same on every call."""
    settings = current_app.config["RA_SETTINGS"]
    key = _persistent_secret(settings.data_dir, "activation_key").encode()
    digest = hmac.new(key, f"activation:{certificate_serial}".encode(), hashlib.sha256).digest()
    return str(int.from_bytes(digest[:8], "big") % 10**ACTIVATION_CODE_DIGITS).zfill(
        ACTIVATION_CODE_DIGITS
    )
