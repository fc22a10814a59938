"""Review test helpers."""

from __future__ import annotations

from tests.checks.test_service import extractor  # noqa: F401 - shared fixture
