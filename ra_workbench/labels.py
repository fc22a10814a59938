"""The French labels the screens print instead of ids (rules/labels.toml, issue 15).

Rule ids, audit event types, check-run triggers, evidence keys and certificate subject
attributes stay ids in the data (filters, API, audit trail); people read these labels. An id
without a label prints as itself, so a new one is visible rather than hidden (the tests hold
the file to the ids the code emits).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ra_workbench.rulesfile import TomlReader, load_when_changed, read_toml

LABELS_FILE = "labels.toml"
SECTIONS = ("rules", "events", "triggers", "evidence", "subject", "oids")


@dataclass(frozen=True)
class Labels:
    rules: Mapping[str, str]
    events: Mapping[str, str]
    triggers: Mapping[str, str]
    evidence: Mapping[str, str]
    subject: Mapping[str, str]
    oids: Mapping[str, str]

    def rule(self, rule_id: str) -> str:
        return self.rules.get(rule_id, rule_id)

    def event(self, event_type: str) -> str:
        return self.events.get(event_type, event_type)

    def trigger(self, trigger: str) -> str:
        return self.triggers.get(trigger, trigger)

    def evidence_key(self, key: str) -> str:
        return self.evidence.get(key, key)

    def subject_attribute(self, oid: str) -> str:
        return self.subject.get(oid, oid)

    def oid(self, oid: str) -> str:
        """A certificate policy or QCStatement OID by its name."""
        return self.oids.get(oid, oid)


def _section(root: TomlReader, name: str) -> dict[str, str]:
    table = root.table(name)
    return {str(key): table.string(str(key)).strip() for key in table.data}


def parse_labels(path: Path) -> Labels:
    root = TomlReader(str(path), read_toml(path))
    root.unknown_keys(set(SECTIONS))
    return Labels(**{name: _section(root, name) for name in SECTIONS})


def load_labels(rules_dir: Path) -> Labels:
    return load_when_changed(rules_dir / LABELS_FILE, parse_labels)
