"""What a package declares, field by field, and what a re-export changed (pure functions).

A re-export carries the whole order again. Its declared data are compared with the
revision before, field by field, so that the operator reads « mobile du représentant légal :
01… → 06… » and the audit trail records which fields changed (their names, not their
values). A few changes must not pass silently: they are applied, and flagged for an operator
(`revision.sensitive_changes`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ROLES_FR = {
    "organisation": "de l'organisation",
    "holder": "du porteur",
    "legal_representative": "du représentant légal",
    "mandataire": "du mandataire",
}
PERSON_FIELDS_FR = {
    "civility": "civilité",
    "first_name": "prénom",
    "last_name": "nom",
    "email": "e-mail",
    "mobile": "mobile",
    "same_as_legal_representative": "porteur identique au représentant légal",
    "activation_code_channel": "canal du code d'activation",
    "has_valid_mandate": "mandat déjà sur file",
}
ORGANISATION_FIELDS_FR = {
    "siren": "SIREN",
    "name": "raison sociale",
    "legal_form": "forme juridique",
    "manual_entry": "SIREN saisi à la main",
}
ADDRESS_FIELDS_FR = {
    "line1": "adresse (ligne 1)",
    "line2": "adresse (ligne 2)",
    "postcode": "code postal",
    "city": "ville",
    "country": "pays",
}
ORDER_FIELDS_FR = {
    "offer.code": "offre",
    "offer.price_ttc": "prix de l'offre",
    "delivery_mode": "mode de remise",
    "delivery_info": "informations de livraison",
    "dossier_type": "type de dossier",
    "payment.method": "moyen de paiement",
    "payment.amount_ttc": "montant payé",
    "payment.transaction_id": "référence de paiement",
    "documents_valid_attested": "attestation de validité des pièces",
}
# The holder's identity, once the RA has asked for documents: a different person may be
# taking the place of the one whose documents were checked.
HOLDER_IDENTITY = ("holder.civility", "holder.first_name", "holder.last_name")


@dataclass(frozen=True)
class Change:
    key: str  # "legal_representative.mobile"
    label: str  # « mobile du représentant légal »
    before: str
    after: str

    def to_json(self) -> dict[str, str]:
        return {"key": self.key, "label": self.label, "before": self.before, "after": self.after}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    return str(value)


def _party(prefix: str, declared: Mapping[str, Any] | None, names: Mapping[str, str]) -> dict:  # type: ignore[type-arg]
    if not declared:
        return {}
    flat = {f"{prefix}.{name}": _text(declared.get(name)) for name in names}
    address = declared.get("address") or {}
    if isinstance(address, Mapping):
        flat |= {f"{prefix}.address.{k}": _text(address.get(k)) for k in ADDRESS_FIELDS_FR}
    return flat


def flatten(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Every declared field of a package as « key » → text; absent parties give no key."""
    flat: dict[str, str] = {}
    for key in ORDER_FIELDS_FR:
        node: Any = manifest
        for part in key.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        flat[key] = _text(node)
    flat |= _party("organisation", manifest.get("organisation"), ORGANISATION_FIELDS_FR)
    for role in ("legal_representative", "holder", "mandataire"):
        flat |= _party(role, manifest.get(role), PERSON_FIELDS_FR)
    return flat


def label(key: str) -> str:
    """« mobile du représentant légal » for "legal_representative.mobile"."""
    if key in ORDER_FIELDS_FR:
        return ORDER_FIELDS_FR[key]
    party, _, field = key.partition(".")
    if field.startswith("address."):
        name = ADDRESS_FIELDS_FR.get(field.removeprefix("address."), field)
    else:
        name = {**PERSON_FIELDS_FR, **ORGANISATION_FIELDS_FR}.get(field, field)
    return f"{name} {ROLES_FR.get(party, party)}"


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """What the customer changed from one revision's declared data to the next."""
    old, new = flatten(before), flatten(after)
    found = []
    for key in [*old, *(k for k in new if k not in old)]:
        if old.get(key, "") != new.get(key, ""):
            found.append(Change(key, label(key), old.get(key, ""), new.get(key, "")))
    return found


def sensitive(
    found: list[Change], *, documents_requested: bool, mandate_on_file: bool
) -> list[str]:
    """The changed keys an operator must look at rather than take as they come: the holder's
    identity after the RA asked for documents, the SIREN of a dossier with a signed mandate."""
    keys = [c.key for c in found]
    flagged = [k for k in keys if documents_requested and k in HOLDER_IDENTITY]
    if mandate_on_file and "organisation.siren" in keys:
        flagged.append("organisation.siren")
    return flagged
