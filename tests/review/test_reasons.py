"""The reasons lists are data (rules/review.toml), checked with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from ra_workbench.checks.results import RULE_IDS
from ra_workbench.review.reasons import ReviewRulesError, load_reasons, parse_reasons

REPO_RULES = Path(__file__).resolve().parents[2] / "rules"
CATALOGUE = list(RULE_IDS)


def test_every_rule_of_the_catalogue_has_a_french_request_reason() -> None:
    reasons = load_reasons(REPO_RULES)
    assert sorted(reasons.request) == sorted(CATALOGUE)
    assert "other" in reasons.reject


def test_a_malformed_reasons_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "review.toml"
    path.write_text('[request_reasons]\n"kbis.age" = ""\n[reject_reasons]\nother = "Autre"\n')
    with pytest.raises(ReviewRulesError, match=r"review\.toml.*kbis\.age"):
        parse_reasons(path)
    path.write_text("[request_reasons\n")
    with pytest.raises(ReviewRulesError, match="TOML invalide"):
        parse_reasons(path)
    path.write_text('[request_reasons]\n"kbis.age" = "Kbis"\n')
    with pytest.raises(ReviewRulesError, match=r"\[reject_reasons\]"):
        parse_reasons(path)
