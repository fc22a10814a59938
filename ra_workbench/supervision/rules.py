"""rules/supervision.toml: the quality-review sample rate and the dashboard period,
validated at start-up (a malformed file stops the application, naming file and key)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from ra_workbench.rulesfile import TomlReader, read_toml

SUPERVISION_FILE = "supervision.toml"


@dataclass(frozen=True)
class SupervisionRules:
    sample_rate: float
    lookback_days: int
    dashboard_days: int


def load_supervision_rules(rules_dir: Path) -> SupervisionRules:
    path = rules_dir / SUPERVISION_FILE
    root = TomlReader(str(path), read_toml(path))
    root.unknown_keys({"quality_review", "dashboard"})
    quality = root.table("quality_review")
    quality.unknown_keys({"sample_rate", "lookback_days"})
    dashboard = root.table("dashboard")
    dashboard.unknown_keys({"days"})
    return SupervisionRules(
        sample_rate=quality.number("sample_rate", minimum=0.0, maximum=1.0),
        lookback_days=quality.integer("lookback_days", minimum=1),
        dashboard_days=dashboard.integer("days", minimum=1),
    )


def current_supervision_rules() -> SupervisionRules:
    rules = current_app.config.get("RA_SUPERVISION_RULES")
    if rules is None:
        rules = load_supervision_rules(current_app.config["RA_SETTINGS"].rules_dir)
        current_app.config["RA_SUPERVISION_RULES"] = rules
    return rules  # type: ignore[no-any-return]
