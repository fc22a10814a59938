"""The portal API's error codes: each one a refusal raises has its status and French title."""

from __future__ import annotations

import ast
from pathlib import Path

import ra_workbench
from ra_workbench.portal.problems import CODE_FOR_STATUS, PROBLEMS

REFUSALS = {"PackageRefused", "RevocationError"}


def _codes_raised() -> set[str]:
    """Every `code="…"` given to a refusal anywhere in the package."""
    codes: set[str] = set()
    for path in Path(ra_workbench.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            for keyword in node.keywords:
                if name in REFUSALS and keyword.arg == "code":
                    assert isinstance(keyword.value, ast.Constant), f"{path}: a literal code"
                    codes.add(keyword.value.value)
    return codes


def test_every_refusal_code_has_its_status_and_french_title() -> None:
    raised = _codes_raised()
    assert {"stale_revision", "unknown_order", "revocation_open"} <= raised
    assert raised <= set(PROBLEMS), raised - set(PROBLEMS)


def test_an_http_error_keeps_its_status_in_the_problem() -> None:
    for status, code in CODE_FOR_STATUS.items():
        assert PROBLEMS[code][0] == status
    assert all(title and title[0].isupper() for _status, title in PROBLEMS.values())
