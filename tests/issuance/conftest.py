"""Issuance test helpers: pick the CA backend for one test."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from ra_workbench.issuance.backends import FailingCABackend
from ra_workbench.issuance.config import CONFIG_KEY, issuance_config
from tests.checks.test_service import extractor  # noqa: F401 - shared fixture


@pytest.fixture
def use_backend(app: Flask) -> Iterator[Callable[[str], None]]:
    """`use_backend("failing")` for the rest of the test; the configuration is restored."""
    original = issuance_config()
    FailingCABackend.reset()

    def choose(name: str) -> None:
        app.config[CONFIG_KEY] = dataclasses.replace(issuance_config(), backend=name)

    yield choose
    app.config[CONFIG_KEY] = original
    FailingCABackend.reset()
