"""rules/labels.toml: every id the code can show a person has its French label.

The ids are read from the code itself (the checks' RULE_IDS, the audit record() calls, the
triggers passed to the checks), not copied by hand, so a new rule or event without a label
fails here before an operator reads a raw id.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ra_workbench.checks.results import RULE_IDS
from ra_workbench.delivery.service import SHIPMENT_TRANSITIONS
from ra_workbench.labels import LABELS_FILE, load_labels, parse_labels
from ra_workbench.rulesfile import RulesError

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "ra_workbench"
LABELS = load_labels(REPO / "rules")


def _trees() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text())) for path in sorted(PACKAGE.rglob("*.py"))]


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level NAME = "text" and parameters' string defaults of the file."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    out[target.id] = node.value.value
        if isinstance(node, ast.FunctionDef):
            arguments = node.args.args + node.args.kwonlyargs
            defaults = [None] * (len(node.args.args) - len(node.args.defaults))
            defaults += list(node.args.defaults) + list(node.args.kw_defaults)
            for argument, default in zip(arguments, defaults, strict=True):
                if isinstance(default, ast.Constant) and isinstance(default.value, str):
                    out[argument.arg] = default.value
    return out


def _literal_args(call: ast.Call, position: int, names: dict[str, str]) -> str | None:
    if len(call.args) <= position:
        return None
    arg = call.args[position]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.Name):
        return names.get(arg.id)
    return None


def _calls(name: str) -> list[tuple[ast.Call, dict[str, str]]]:
    found = []
    for _path, tree in _trees():
        names = _constants(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                callee = node.func
                called = callee.id if isinstance(callee, ast.Name) else getattr(callee, "attr", "")
                if called == name:
                    found.append((node, names))
    return found


def _event_types() -> set[str]:
    types = {_literal_args(call, 1, names) for call, names in _calls("record")}
    # The two families written with an f-string: the shipment's target state, the
    # appointment's change.
    types |= {f"delivery.shipment_{target}" for target in SHIPMENT_TRANSITIONS}
    kinds = {_literal_args(call, 3, names) for call, names in _calls("_appointment_changed")}
    types |= {f"delivery.appointment_{kind}" for kind in kinds if kind}
    return {t for t in types if t}


def _triggers() -> set[str]:
    found: set[str] = set()
    for call, names in _calls("request_checks"):
        found.add(_literal_args(call, 2, names) or "")
    for function in ("evaluate_dossier", "recheck", "reassess"):
        for call, _names in _calls(function):
            for keyword in call.keywords:
                value = keyword.value
                if keyword.arg == "trigger" and isinstance(value, ast.Constant):
                    found.add(value.value)
    for _path, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in {"recheck", "run_checks"}:
                found |= {
                    d.value
                    for d in node.args.defaults + node.args.kw_defaults
                    if isinstance(d, ast.Constant) and isinstance(d.value, str)
                }
    return {t for t in found if t}


def test_every_rule_the_checks_can_report_has_a_french_label() -> None:
    assert set(RULE_IDS) - set(LABELS.rules) == set()
    assert set(LABELS.rules) - set(RULE_IDS) == set(), "a label for a rule that no longer exists"


def test_every_audit_event_the_code_records_has_a_french_label() -> None:
    events = _event_types()
    assert {"document.viewed", "review.claimed", "checks.run"} <= events  # the reader works
    assert events - set(LABELS.events) == set()


def test_every_check_run_trigger_has_a_french_label() -> None:
    triggers = _triggers()
    assert {"ingest", "signature", "manual", "nightly"} <= triggers
    assert triggers - set(LABELS.triggers) == set()


def test_every_source_a_revision_arrives_from_has_a_french_label() -> None:
    """dossier_revisions.source (« reçue le … (portail de commande) »), from the ingest calls."""
    sources = set()
    for _path, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                callee = node.func
                called = callee.id if isinstance(callee, ast.Name) else getattr(callee, "attr", "")
                if not called.startswith("ingest"):
                    continue
                for keyword in node.keywords:
                    if keyword.arg == "source" and isinstance(keyword.value, ast.Constant):
                        sources.add(keyword.value.value)
    assert {"api", "inbox", "cli"} <= sources
    assert sources - set(LABELS.triggers) == set()


def test_an_unknown_id_prints_as_itself_rather_than_disappearing() -> None:
    assert LABELS.rule("payment.settled") == "Paiement reçu"
    assert LABELS.rule("new.rule") == "new.rule"
    assert LABELS.subject_attribute("2.5.4.3") == "Nom commun"


def test_a_malformed_labels_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / LABELS_FILE
    path.write_text(
        '[rules]\n"payment.settled" = ""\n[events]\n[triggers]\n[evidence]\n[subject]\n[oids]\n',
        encoding="utf-8",
    )
    with pytest.raises(RulesError, match=r"labels\.toml: clé rules\.payment\.settled"):
        parse_labels(path)
