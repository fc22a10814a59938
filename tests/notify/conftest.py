"""A local SMTP server (aiosmtpd) on 127.0.0.1 for the e-mail path (tests/smtp.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from ra_workbench.config import Settings
from tests.smtp import Mailbox, free_port, local_smtp

__all__ = ["Mailbox", "free_port", "smtp_server"]  # the notify tests import the first two


@pytest.fixture
def smtp_server(
    app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Mailbox]:
    """A real SMTP server; the app's RA_WORKBENCH_SMTP_URL points at it for the test."""
    with local_smtp(settings, monkeypatch) as mailbox:
        yield mailbox
