"""Acceptance: generated portal packages, ingested and checked with the real extractor.

For every defect the generator can inject, the rule it targets comes out `fail`; on a
clean generated dossier no rule fails. One package per defect plus a clean one, lightly
degraded, generated once per session; each is ingested, read (OCR) and evaluated once,
in a module-scoped pass, and the tests then read the outcomes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from ra_workbench.synth.packages import (
    ALL_DEFECTS,
    DEFECTS,
    REVIEW_DEFECTS,
    STRUCTURAL_DEFECTS,
    generate_dossier,
    read_expected,
)
from tests.conftest import clean_database

pytestmark = pytest.mark.slow

TODAY = dt.date(2026, 11, 20)
CLEAN = "clean"
# Light degradation (a flat scan) bounds the OCR time; the extractor's own benchmark covers
# photographed documents.
DEGRADATION = "scan"


@pytest.fixture(scope="session")
def generated_packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One clean package and one per defect, shared by every test of the session.
    Defects in dossier.json or file names, sizes and types need no real document content:
    their packages are light (placeholder images, no OCR worth the name)."""
    out = tmp_path_factory.mktemp("check-packages")
    packages = {
        CLEAN: generate_dossier(
            out, seed=401, order_number="401000", today=TODAY, degradation=DEGRADATION
        )
    }
    for n, defect in enumerate(sorted(ALL_DEFECTS), start=1):
        packages[defect] = generate_dossier(
            out,
            seed=401 + n,
            order_number=str(401000 + n),
            today=TODAY,
            defects=(defect,),
            degradation=DEGRADATION,
            light=defect in STRUCTURAL_DEFECTS,
        )
    return packages


@pytest.fixture(scope="module")
def evaluated(
    _app: Flask, settings: Any, generated_packages: dict[str, Path]
) -> dict[str, dict[str, Any]]:
    """Ingest every generated package and evaluate it on TODAY: name → run as JSON."""
    import shutil

    from ra_workbench.checks.service import evaluate_dossier, run_to_json
    from ra_workbench.extensions import db
    from ra_workbench.ingest.package import read_package_path
    from ra_workbench.ingest.service import ingest, package_limits
    from ra_workbench.unit import unit_of_work

    runs: dict[str, dict[str, Any]] = {}
    with _app.app_context():
        clean_database()
        shutil.rmtree(settings.store_dir, ignore_errors=True)
        settings.store_dir.mkdir(parents=True, exist_ok=True)
        for name, path in generated_packages.items():
            outcome = ingest(
                lambda p=path: read_package_path(p, package_limits()),  # type: ignore[misc]
                name=path.name,
                source="test",
            )
            if outcome.outcome == "refused" or outcome.dossier_id is None:
                runs[name] = {"refused": outcome.errors}
                continue
            with unit_of_work() as session:
                run = evaluate_dossier(session, outcome.dossier_id, trigger="test", at=TODAY)
                runs[name] = run_to_json(outcome.order_number or "", run)
        db.session.remove()
    return runs


def failing(run: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for result in run.get("results", []):
        if result["outcome"] in ("fail", "error"):
            found.setdefault(result["rule"], []).append(result["message"])
    return found


def test_no_rule_fails_on_a_clean_generated_dossier(evaluated: dict[str, dict[str, Any]]) -> None:
    run = evaluated[CLEAN]
    assert "refused" not in run, run
    assert failing(run) == {}
    # Nobody has signed yet: the dossier waits for GoSign, nothing else.
    assert run["verdict"] == "waiting_signatures"


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_each_injected_defect_fails_its_rule(
    evaluated: dict[str, dict[str, Any]], defect: str
) -> None:
    run = evaluated[defect]
    assert "refused" not in run, run
    rule = DEFECTS[defect]
    outcomes = {r["outcome"] for r in run["results"] if r["rule"] == rule}
    assert "fail" in outcomes, (defect, rule, outcomes, failing(run))
    assert run["verdict"] in ("incomplete", "blocked")


@pytest.mark.parametrize("defect", sorted(REVIEW_DEFECTS))
def test_each_review_defect_sends_its_rule_to_a_human(
    evaluated: dict[str, dict[str, Any]], defect: str
) -> None:
    run = evaluated[defect]
    rule = REVIEW_DEFECTS[defect]
    outcomes = {r["outcome"] for r in run["results"] if r["rule"] == rule}
    assert outcomes == {"manual"}, (defect, rule, outcomes, failing(run))
    assert failing(run) == {}


def test_the_expected_outcome_written_beside_each_package_agrees(
    evaluated: dict[str, dict[str, Any]], generated_packages: dict[str, Path]
) -> None:
    for name, path in generated_packages.items():
        expected = read_expected(path)
        must_fail = set(expected["expected_failing_rules"])
        assert must_fail <= set(failing(evaluated[name])), (name, must_fail)
        if expected["content_checks"]:
            manual = {r["rule"] for r in evaluated[name]["results"] if r["outcome"] == "manual"}
            assert set(expected["expected_manual_rules"]) <= manual, name


def test_checking_generated_dossiers_needs_no_ocr_the_second_time(
    app: Flask, generated_packages: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ra_workbench import extraction
    from ra_workbench.checks.service import evaluate_dossier
    from ra_workbench.extensions import db
    from ra_workbench.ingest.package import read_package_path
    from ra_workbench.ingest.service import ingest, package_limits

    path = generated_packages[CLEAN]
    outcome = ingest(
        lambda: read_package_path(path, package_limits()), name=path.name, source="test"
    )
    assert outcome.dossier_id is not None
    first = evaluate_dossier(db.session, outcome.dossier_id, trigger="test", at=TODAY)
    calls: list[str] = []
    real = extraction.extract_document

    def counting(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(str(kwargs.get("filename")))
        return real(*args, **kwargs)

    monkeypatch.setattr(extraction, "extract_document", counting)
    again = evaluate_dossier(db.session, outcome.dossier_id, trigger="test", at=TODAY)
    assert calls == []
    assert again.inputs_hash == first.inputs_hash
