"""The reasons operators pick from when requesting documents or rejecting (rules/review.toml).

Rules are data: the French sentences live in the file, validated when first loaded, with
an error naming the file and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, has_app_context

from ra_workbench.labels import Labels, load_labels
from ra_workbench.rulesfile import load_when_changed

REVIEW_RULES_FILE = "review.toml"


class ReviewRulesError(RuntimeError):
    """rules/review.toml is missing or malformed; the message names the file and the key."""


@dataclass(frozen=True)
class ReviewReasons:
    # rule id -> French sentence the customer reads (what to send or correct)
    request: dict[str, str]
    # reason code -> French label shown to operators and kept with the decision
    reject: dict[str, str]


def _string_table(path: Path, data: dict[str, object], key: str) -> dict[str, str]:
    table = data.get(key)
    if not isinstance(table, dict) or not table:
        raise ReviewRulesError(f"{path}: table [{key}] absente ou vide")
    out: dict[str, str] = {}
    for name, label in table.items():
        if not isinstance(label, str) or not label.strip():
            raise ReviewRulesError(f"{path}: [{key}] {name!r} doit être un texte non vide")
        out[str(name)] = label.strip()
    return out


def parse_reasons(path: Path) -> ReviewReasons:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReviewRulesError(f"{path}: fichier introuvable") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ReviewRulesError(f"{path}: TOML invalide ({exc})") from exc
    return ReviewReasons(
        request=_string_table(path, data, "request_reasons"),
        reject=_string_table(path, data, "reject_reasons"),
    )


def load_reasons(rules_dir: Path) -> ReviewReasons:
    return load_when_changed(rules_dir / REVIEW_RULES_FILE, parse_reasons, ReviewRulesError)


def current_reasons() -> ReviewReasons:
    return load_reasons(current_app.config["RA_SETTINGS"].rules_dir)


def current_labels() -> Labels:
    """The French labels of rules/labels.toml (rule ids, event types…)."""
    return load_labels(current_app.config["RA_SETTINGS"].rules_dir)


def rule_label(rule_id: str) -> str:
    """« Paiement reçu » for payment.settled; the id itself outside the app."""
    return current_labels().rule(rule_id) if has_app_context() else rule_id


def rule_labels(rule_ids: Iterable[str]) -> str:
    """Rule ids as the French labels an operator reads, in order, joined by commas."""
    return ", ".join(rule_label(r) for r in rule_ids)
