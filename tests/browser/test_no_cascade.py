"""A browser test that fails while the live server is still writing stays the only failure:
the next test does not error with `database is locked` (see conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

SCENARIO = Path(__file__).with_name("cascade_scenario.py")


def test_a_failing_live_server_test_does_not_cascade_into_the_next() -> None:
    # SQLite in a directory of its own: the scenario's run must not touch this run's database.
    env = {k: v for k, v in os.environ.items() if k != "RA_TEST_DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(SCENARIO)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    summary = result.stdout.strip().splitlines()[-1]
    assert "1 failed, 1 passed" in summary, result.stdout[-3000:]
    assert "error" not in summary
    assert "database is locked" not in result.stdout
    assert "le navigateur a cessé d'attendre" in result.stdout
