"""How templates print times: staff read Europe/Paris, the database keeps UTC (db.UTCDateTime).

Every page goes through these filters rather than calling `.strftime` on a stored value
(tests/test_templates.py holds the templates to it), so no page shows a UTC time as if it
were local:
- `value|paris` a moment, « 02/12/2026 14:05 » in Paris (`value|paris('%H:%M')` for a part);
- `value|paris_date` the Paris day of a moment, « 02/12/2026 »;
- `value|day` a calendar date that has no time zone (a birth date, a check's evaluation day);
- `value|utc` a moment in UTC, said so (the audit trail's clock, REQUIREMENTS 13).
An empty value prints `—` (or the filter's `empty=`).

And how they print ids and numbers (issue 15): `rule_label`, `event_label`, `trigger_label`,
`evidence_label` give the French label of an id (rules/labels.toml, ra_workbench/labels.py),
`subject_rows` a certificate subject as (French attribute, value) pairs; `money` prints
« 294,00 € » and `number` « 58,6 », the French way.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from babel.numbers import format_currency, format_decimal
from cryptography import x509
from flask import Flask, current_app

from ra_workbench.clock import local_time
from ra_workbench.documents.labels import DOCUMENT_TYPE_LABELS_FR, IDENTITY_TYPE_LABELS_FR
from ra_workbench.dossiers.labels import ROLE_LABELS_FR
from ra_workbench.dossiers.states import STATUS_LABELS_FR
from ra_workbench.labels import Labels, load_labels

MOMENT = "%d/%m/%Y %H:%M"
DAY = "%d/%m/%Y"


def _moment(value: dt.datetime | str) -> dt.datetime:
    when = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def paris(value: dt.datetime | str | None, fmt: str = MOMENT, empty: str = "—") -> str:
    return local_time(_moment(value)).strftime(fmt) if value else empty


def paris_date(value: dt.datetime | str | None, empty: str = "—") -> str:
    return paris(value, DAY, empty)


def day(value: dt.date | None, empty: str = "—") -> str:
    return value.strftime(DAY) if value else empty


def utc(value: dt.datetime | str | None, empty: str = "—") -> str:
    return _moment(value).astimezone(dt.UTC).strftime("%d/%m/%Y %H:%M:%S UTC") if value else empty


NUMBER_LOCALE = "fr_FR"


def money(value: decimal.Decimal | float | int | str | None, empty: str = "—") -> str:
    """« 294,00 € »."""
    if value is None or value == "":
        return empty
    return format_currency(decimal.Decimal(str(value)), "EUR", locale=NUMBER_LOCALE)


def number(value: decimal.Decimal | float | int | None, digits: int = 1, empty: str = "—") -> str:
    """« 58,6 » (at most `digits` decimals, a comma, French grouping)."""
    if value is None:
        return empty
    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=NUMBER_LOCALE)


def labels() -> Labels:
    return load_labels(current_app.config["RA_SETTINGS"].rules_dir)


def rule_label(rule_id: str | None) -> str:
    return labels().rule(rule_id) if rule_id else "—"


def event_label(event_type: str | None) -> str:
    return labels().event(event_type) if event_type else "—"


def trigger_label(trigger: str | None) -> str:
    return labels().trigger(trigger) if trigger else "—"


def evidence_label(key: str | None) -> str:
    return labels().evidence_key(key) if key else "—"


def subject_rows(name: Any) -> list[tuple[str, str]]:
    """A certificate subject (a cryptography `x509.Name`, or its RFC 4514 text as stored) as
    (French attribute name, value), in the certificate's order."""
    if isinstance(name, str):
        try:
            name = x509.Name.from_rfc4514_string(name)
        except ValueError:
            return [("Sujet", name)]
    known = labels()
    return [
        (known.subject_attribute(attribute.oid.dotted_string), str(attribute.value))
        for attribute in name
    ]


def subject_name(name: Any) -> str:
    """The common name of a certificate subject (« DURAND CLAIRE »)."""
    rows = dict(subject_rows(name))
    return rows.get(labels().subject_attribute("2.5.4.3")) or (str(name) if name else "—")


def document_type_label(kind: str | None) -> str:
    """« Extrait Kbis ou équivalent » for kbis (an identity document's kind too)."""
    if not kind:
        return "—"
    return DOCUMENT_TYPE_LABELS_FR.get(kind) or IDENTITY_TYPE_LABELS_FR.get(kind, kind)


def oid_label(oid: str | None) -> str:
    return labels().oid(oid) if oid else "—"


# The values of a result's evidence that are ids of a vocabulary, by the key that holds them.
_VALUE_LABELS_FR: dict[str, dict[str, str]] = {
    "person": dict(ROLE_LABELS_FR),
    "signer": dict(ROLE_LABELS_FR),
    "person_role": dict(ROLE_LABELS_FR),
    "type": {**DOCUMENT_TYPE_LABELS_FR, **IDENTITY_TYPE_LABELS_FR},
    "document_type": {**DOCUMENT_TYPE_LABELS_FR, **IDENTITY_TYPE_LABELS_FR},
    "kind": {
        "kbis": "Extrait Kbis",
        "rne": "Attestation RNE",
        "sirene": "Avis de situation SIRENE",
    },
    "side": {"recto": "Recto", "verso": "Verso"},
    "status": {
        "signed": "Signé",
        "refused": "Refusé",
        "pending": "En attente",
        "expired": "Expiré",
    },
    "identity_verification": {
        "self_id_passed": "Vérification d'identité réussie",
        "self_id_failed": "Vérification d'identité échouée",
        "not_done": "Vérification d'identité non faite",
    },
    "delivery_mode": {"shipping": "Livraison", "pickup": "Retrait en personne"},
    "basis": {
        "mrz": "même nom, prénoms et date de naissance (MRZ)",
        "name_email": "même nom, prénom et e-mail",
        "document_number": "même numéro de document",
        "image": "même image",
    },
    "signal": {
        "image_editor": "logiciel de retouche d'image",
        "pdf_updated": "PDF de registre modifié après sa création",
        "screenshot": "capture d'écran",
        "low_resolution": "résolution trop faible pour le visage",
    },
    "reuse_basis": {
        "document_number": "même numéro de document, autre personne",
        "image": "même image, autre personne",
    },
    "from": {s.value: label for s, label in STATUS_LABELS_FR.items()},
    "to": {s.value: label for s, label in STATUS_LABELS_FR.items()},
}
# Keys whose values are rule ids, or a check run's trigger.
_RULE_KEYS = {"rule", "rules", "overridden_rules", "failing_rules"}
# Keys of a result's evidence that are amounts in euros, by rule.
_MONEY_KEYS = {"payment.amount": {"declared", "expected", "amount"}}
# Support's business, kept in the « Détails techniques » block.
_TECHNICAL_KEYS = {"document_id", "dossier_id", "missing"}


def _evidence_value(key: str, value: Any, known: Labels, rule: str) -> str:
    if value is None or (isinstance(value, str | list) and not value):
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, dict):
        parts = [
            f"{known.evidence_key(k)} : {_evidence_value(k, v, known, rule)}"
            for k, v in value.items()
            if k not in _TECHNICAL_KEYS
        ]
        return ", ".join(parts)
    if isinstance(value, list | tuple):
        joiner = " ; " if any(isinstance(v, dict) for v in value) else ", "
        return joiner.join(_evidence_value(key, v, known, rule) for v in value)
    if isinstance(value, int | float | decimal.Decimal):
        return number(value, digits=2)
    text = str(value)
    if key in _MONEY_KEYS.get(rule, ()):
        try:
            return money(decimal.Decimal(text))
        except decimal.InvalidOperation:
            return text
    if key in _VALUE_LABELS_FR:
        return _VALUE_LABELS_FR[key].get(text, text)
    if key in _RULE_KEYS:
        return known.rule(text)
    if key == "trigger":
        return known.trigger(text)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return day(dt.date.fromisoformat(text))
        except ValueError:
            return text
    if len(text) > 10 and text[4] == "-" and text[10] == "T":
        try:
            return paris(text)
        except ValueError:
            return text
    return text


def evidence_rows(evidence: Any, rule: str = "") -> list[tuple[str, str]]:
    """A result's evidence as (French label, French value) pairs: never a key or a repr."""
    if not isinstance(evidence, dict):
        return []
    known = labels()
    return [
        (known.evidence_key(key), _evidence_value(key, value, known, rule))
        for key, value in evidence.items()
        if key not in _TECHNICAL_KEYS
    ]


def register_filters(app: Flask) -> None:
    # Read once at start-up: a malformed rules/labels.toml stops the app with its name.
    load_labels(app.config["RA_SETTINGS"].rules_dir)
    for name, function in (
        ("paris", paris),
        ("paris_date", paris_date),
        ("day", day),
        ("utc", utc),
        ("money", money),
        ("number", number),
        ("rule_label", rule_label),
        ("event_label", event_label),
        ("trigger_label", trigger_label),
        ("evidence_label", evidence_label),
        ("subject_rows", subject_rows),
        ("evidence_rows", evidence_rows),
        ("subject_name", subject_name),
        ("oid_label", oid_label),
        ("document_type_label", document_type_label),
    ):
        app.add_template_filter(function, name)
