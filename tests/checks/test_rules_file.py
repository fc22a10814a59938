"""rules/checks.toml: thresholds are data, and a malformed file stops start-up clearly."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
from pathlib import Path

import pytest

from ra_workbench.checks.engine import evaluate
from ra_workbench.checks.results import RULE_IDS, WARN_ONLY_RULES
from ra_workbench.checks.rules import load_rules
from ra_workbench.config import Settings
from ra_workbench.rulesfile import RulesError
from tests.checks.builders import REPO_RULES, TODAY, clean_facts, kbis, replace_document


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(REPO_RULES, target)
    return target


def edit(rules_dir: Path, pattern: str, replacement: str) -> None:
    path = rules_dir / "checks.toml"
    text = path.read_text(encoding="utf-8")
    edited, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
    assert count == 1, f"pattern {pattern!r} not found"
    path.write_text(edited, encoding="utf-8")


def test_the_repository_rules_load_with_their_content_hash() -> None:
    rules = load_rules(REPO_RULES)
    # checks.toml, then the mandate trust store's certificates it names.
    digest = hashlib.sha256((REPO_RULES / "checks.toml").read_bytes())
    for anchor in sorted(rules.mandate.trust_anchors):
        digest.update(b"\0trust-anchor\0" + anchor)
    assert rules.content_hash == digest.hexdigest()
    assert rules.kbis.max_age_months == 3
    assert rules.holder.renewal_window_days == 90
    assert rules.files.max_size_bytes == 3_000_000
    assert "visa" not in rules.identity.accepted_types
    # Every rule the customer can fix has its French wording; a warning asks nothing.
    assert set(rules.customer_requests) == (
        set(RULE_IDS) - rules.verdict.blocking_failures - WARN_ONLY_RULES
    )


def test_allowing_six_months_for_the_kbis_in_a_copy_of_rules_changes_the_outcome(
    rules_copy: Path,
) -> None:
    facts = clean_facts()
    kbis_document = next(d for d in facts.documents if d.type == "kbis")
    facts = replace_document(facts, kbis_document, kbis=kbis(date=dt.date(2026, 7, 1)))

    def kbis_age(rules_dir: Path) -> str:
        rules = load_rules(rules_dir)
        [result] = [r for r in evaluate(facts, rules, TODAY).results if r.rule == "kbis.age"]
        return result.outcome

    assert kbis_age(rules_copy) == "fail"
    before = load_rules(rules_copy).content_hash
    edit(rules_copy, r"^(\[kbis\]\n(?:#.*\n)*)max_age_months = 3", r"\1max_age_months = 6")
    assert kbis_age(rules_copy) == "pass"
    assert load_rules(rules_copy).content_hash != before


def test_lowering_the_file_size_limit_in_a_copy_of_rules_fails_a_file(rules_copy: Path) -> None:
    edit(rules_copy, r"^max_size_bytes = .*$", "max_size_bytes = 100_000")
    evaluation = evaluate(clean_facts(), load_rules(rules_copy), TODAY)
    assert {r.outcome for r in evaluation.results if r.rule == "file.size"} == {"fail"}
    assert evaluation.verdict == "incomplete"


def test_accepting_residence_permits_is_one_flag_in_rules(rules_copy: Path) -> None:
    edit(rules_copy, r"^accept_residence_permit = false", "accept_residence_permit = true")
    assert load_rules(rules_copy).identity.accept_residence_permit is True


@pytest.mark.parametrize(
    ("pattern", "replacement", "message"),
    [
        (
            r"^(\[kbis\]\n(?:#.*\n)*)max_age_months = 3",
            r'\1max_age_months = "trois"',
            "checks.toml: clé kbis.max_age_months : doit être un nombre entier",
        ),
        (
            r"^(\[kbis\]\n(?:#.*\n)*)max_age_months = 3",
            r"\1max_age_months = 0",
            "checks.toml: clé kbis.max_age_months : doit être au moins 1",
        ),
        (
            r"^(\[kbis\]\n(?:#.*\n)*)max_age_months = 3",
            r"\1max_age_month = 3",
            "checks.toml: clé kbis.max_age_months : absente",
        ),
        (
            r'^accepted_types = \["cni"',
            r'accepted_types = ["visa", "cni"',
            "checks.toml: clé identity.accepted_types : un visa n'est jamais",
        ),
        (
            r"^mobile_prefixes = .*$",
            r'mobile_prefixes = ["6"]',
            "checks.toml: clé contact.mobile_prefixes : préfixe national attendu",
        ),
        (
            r'^"kbis.age" = ',
            r'"kbis.agee" = ',
            "checks.toml: clé customer_requests.kbis.age : absente",
        ),
        (
            r'^("kbis.age" = ".*)\{kbis_max_age_months\}',
            r"\1{kbis_months}",
            "checks.toml: clé customer_requests.kbis.age : variable inconnue {kbis_months}",
        ),
        (
            r"^unless = \[\"holder_is_legal_representative\"\]$",
            r'unless = ["holder_is_legal_rep"]',
            "checks.toml: clé documents.required[2].unless : valeur inconnue",
        ),
        (
            r"^forbid_dots_in_name = true$",
            "forbid_dots_in_name = true\nmax_files = 3",
            "checks.toml: clé files.max_files : clé inconnue",
        ),
        (
            r"^max_pdf_pages = 20$",
            "max_pdf_pages = 51",
            "checks.toml: clé files.max_pdf_pages : doit valoir au plus 50",
        ),
        (r"^\[kbis\]$", "[kbis", "checks.toml: TOML invalide"),
        (
            r"^renewal_window_days = 90$",
            "renewal_window_days = 400",
            "checks.toml: clé holder.renewal_window_days : doit valoir au plus 366",
        ),
        (
            r"^renewal_window_days = 90$",
            'renewal_window_days = "90"',
            "checks.toml: clé holder.renewal_window_days : doit être un nombre entier",
        ),
        (
            r'^never = \["identity.valid_on_date", "holder.unique", ',
            'never = ["identity.valid_on_date", ',
            "checks.toml: clé overrides.never : holder.unique ne peut jamais faire l'objet",
        ),
        (
            r'^"identity.document_type" = \["visa", ',
            '"identity.document_type" = [',
            "checks.toml: clé overrides.never_when.identity.document_type : « visa » ne peut",
        ),
        (
            r'^"signatures.complete" = \["refused", ',
            '"signatures.complete" = [',
            "checks.toml: clé overrides.never_when.signatures.complete : « refused » ne peut",
        ),
        (
            r'^"mandate.valid" = \["signature_invalid"\]',
            '"mandate.valid" = ["signature_invalid", "too_old"]',
            "checks.toml: clé overrides.never_when.mandate.valid : valeur inconnue 'too_old'",
        ),
        (
            r'^"kbis.siren_match" = \["manual_entry"\]',
            '"kbis.siren_match" = ["manual_entry"]\n"kbis.age" = ["old"]',
            "checks.toml: clé overrides.never_when.kbis.age : aucun code d'échec",
        ),
    ],
)
def test_a_malformed_rules_file_names_the_file_and_the_key(
    rules_copy: Path, pattern: str, replacement: str, message: str
) -> None:
    edit(rules_copy, pattern, replacement)
    with pytest.raises(RulesError) as caught:
        load_rules(rules_copy)
    assert message in str(caught.value)


def test_a_malformed_rules_file_stops_the_application_at_start_up(
    rules_copy: Path, tmp_path: Path
) -> None:
    from ra_workbench.app import create_app

    edit(rules_copy, r"^(\[kbis\]\n(?:#.*\n)*)max_age_months = 3", r'\1max_age_months = "x"')
    settings = Settings.from_env(
        {
            "RA_WORKBENCH_DATA": str(tmp_path / "data"),
            "RA_WORKBENCH_RULES": str(rules_copy),
            "RA_WORKBENCH_SECRET_KEY": "test-secret-key",
        }
    )
    with pytest.raises(RulesError, match=r"checks\.toml: clé kbis\.max_age_months"):
        create_app(settings)


def test_a_missing_rules_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match=r"checks\.toml: fichier illisible ou absent"):
        load_rules(tmp_path)
