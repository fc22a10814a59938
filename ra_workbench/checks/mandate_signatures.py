"""The mandate's electronic signatures judged, for `mandate.valid`. Pure.

REQUIREMENTS 7: the mandataire is appointed by the legal representative with a mandate
under 3 months, countersigned. A mandate passes on its signatures when every one is intact
and valid and nothing but what PAdES allows changed after it, each chain leads to the trust
store of rules/ at its signing time, each was made between the mandate's date and the day
of the check, one is the legal representative's and (when rules/checks.toml
[mandate].require_countersignature) one is the mandataire's.

- A signature that is not intact or not valid, or a file changed after signing beyond what
  PAdES allows: `fail`, detail code `signature_invalid` (a hard rule, checks/overrides.py).
- A signature pyHanko cannot decode, an untrusted chain, a signing time outside the
  mandate's validity, a signer who is not the declared legal representative, a missing
  countersignature: `manual`, with the reason in French.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ra_workbench.checks.facts import PersonFacts
from ra_workbench.checks.results import Outcome
from ra_workbench.checks.rules import MandateRules
from ra_workbench.clock import PARIS
from ra_workbench.dossiers.labels import PersonRole
from ra_workbench.extraction.names import compact, first_name_among
from ra_workbench.extraction.signatures import SignatureCheck, trust_chain

MODIFICATION_LABELS_FR = {
    "none": "aucune",
    "lta_updates": "ajout de données de validation",
    "form_filling": "remplissage de formulaire ou nouvelle signature",
    "annotations": "ajout d'annotations",
    "other": "modification du contenu",
}


@dataclass
class SignatureVerdict:
    """What the operator reads about one signature."""

    outcome: str
    signer: str
    signing_time: str | None
    chain: tuple[str, ...]
    role: str | None  # legal_representative | mandataire | None (someone else)
    problems: list[str] = field(default_factory=list)
    check: SignatureCheck | None = None
    trusted: bool = False

    def to_evidence(self) -> dict[str, Any]:
        check = self.check
        return {
            "field": check.field_name if check else "",
            "outcome": self.outcome,
            "signer": self.signer,
            "signing_time": self.signing_time,
            "signed_at_fr": _fr_moment(check.signing_time)
            if check and check.signing_time
            else None,
            "chain": list(self.chain),
            "trusted": self.trusted,
            "intact": check.intact if check else None,
            "valid": check.valid if check else None,
            "modification": check.modification if check else None,
            "role": self.role,
            "problems": list(self.problems),
        }


@dataclass
class SignaturesVerdict:
    outcome: str
    message: str
    signatures: list[SignatureVerdict]

    @property
    def intact(self) -> bool:
        """False when a signature is broken or the file was changed after signing (the
        detail code `signature_invalid` reads it)."""
        return not any(s.outcome == Outcome.FAIL for s in self.signatures)


def signed_by(check: SignatureCheck, person: PersonFacts | None) -> bool:
    """The certificate names the person: given name and surname when it has them, else
    its common name (« PAUL MOREL » or « MOREL PAUL »), folded as the other name checks."""
    if person is None:
        return False
    if (
        check.signer_surname
        and check.signer_given_name
        and compact(check.signer_surname) == compact(person.last_name)
        and first_name_among(person.first_name, check.signer_given_name)
    ):
        return True
    common = compact(check.signer_common_name)
    return bool(common) and common in {
        compact(f"{person.first_name} {person.last_name}"),
        compact(f"{person.last_name} {person.first_name}"),
    }


def _fr_moment(moment: dt.datetime) -> str:
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M (heure de Paris)")


def _signer_label(check: SignatureCheck) -> str:
    return check.signer_common_name or check.signer_subject or "signataire inconnu"


def _person_label(person: PersonFacts | None) -> str:
    return f"{person.first_name} {person.last_name}".strip() if person else "—"


def _judge(
    check: SignatureCheck,
    rules: MandateRules,
    *,
    mandate_date: dt.date,
    on: dt.date,
    legal_representative: PersonFacts | None,
    mandataire: PersonFacts | None,
) -> SignatureVerdict:
    role = (
        PersonRole.LEGAL_REPRESENTATIVE
        if signed_by(check, legal_representative)
        else PersonRole.MANDATAIRE
        if signed_by(check, mandataire)
        else None
    )
    verdict = SignatureVerdict(
        outcome=Outcome.PASS,
        signer=_signer_label(check),
        signing_time=check.signing_time.isoformat() if check.signing_time else None,
        chain=(),
        role=role,
        check=check,
    )
    if check.error is not None:
        verdict.outcome = Outcome.MANUAL
        verdict.problems.append(f"signature non vérifiable ({check.error})")
        return verdict
    broken = []
    if not check.intact:
        broken.append("le contenu signé a été modifié (empreinte différente)")
    elif not check.valid:
        broken.append("signature cryptographique invalide")
    if not check.unmodified:
        label = MODIFICATION_LABELS_FR.get(check.modification or "", "non déterminées")
        broken.append(f"modifications après signature non autorisées ({label})")
    if broken:
        verdict.outcome = Outcome.FAIL
        verdict.problems.extend(broken)
        return verdict
    at = check.signing_time or dt.datetime.combine(on, dt.time(12), tzinfo=PARIS)
    trust = trust_chain(check.certificates, rules.trust_anchors, at)
    verdict.chain, verdict.trusted = trust.chain, trust.trusted
    if not trust.trusted:
        issuer = trust.chain[1] if len(trust.chain) > 1 else "émetteur inconnu"
        verdict.problems.append(
            f"certificat émis par « {issuer} », non reconnu par le magasin de confiance "
            f"({trust.problem})"
        )
    if check.signing_time is None:
        verdict.problems.append("heure de signature absente")
    else:
        signed_on = check.signing_time.astimezone(PARIS).date()
        if signed_on < mandate_date:
            verdict.problems.append(
                f"signée le {signed_on:%d/%m/%Y}, avant la date du mandat ({mandate_date:%d/%m/%Y})"
            )
        elif signed_on > on:
            verdict.problems.append(
                f"signature datée du {signed_on:%d/%m/%Y}, postérieure au jour du contrôle"
            )
    if verdict.problems:
        verdict.outcome = Outcome.MANUAL
    return verdict


def judge_signatures(
    signatures: tuple[SignatureCheck, ...],
    rules: MandateRules,
    *,
    mandate_date: dt.date,
    on: dt.date,
    legal_representative: PersonFacts | None,
    mandataire: PersonFacts | None,
) -> SignaturesVerdict:
    verdicts = [
        _judge(
            s,
            rules,
            mandate_date=mandate_date,
            on=on,
            legal_representative=legal_representative,
            mandataire=mandataire,
        )
        for s in signatures
    ]
    reasons: list[str] = []
    for verdict in verdicts:
        if verdict.problems:
            when = (
                f" du {_fr_moment(verdict.check.signing_time)}"
                if verdict.check and verdict.check.signing_time
                else ""
            )
            reasons.append(
                f"signature de « {verdict.signer} »{when} : {', '.join(verdict.problems)}"
            )
    by_representative = [v for v in verdicts if v.role == PersonRole.LEGAL_REPRESENTATIVE]
    by_mandataire = [v for v in verdicts if v.role == PersonRole.MANDATAIRE]
    if not by_representative:
        signers = ", ".join(f"« {v.signer} »" for v in verdicts) or "personne"
        declared = _person_label(legal_representative)
        reasons.append(
            f"aucune signature du représentant légal déclaré ({declared}) : signé par {signers}"
        )
    if rules.require_countersignature and not by_mandataire:
        reasons.append(f"contreseing du mandataire ({_person_label(mandataire)}) absent")
    if any(v.outcome == Outcome.FAIL for v in verdicts):
        outcome = Outcome.FAIL
    elif reasons:
        outcome = Outcome.MANUAL
    else:
        outcome = Outcome.PASS
    if outcome == Outcome.PASS:
        representative = by_representative[0]
        agent = by_mandataire[0] if by_mandataire else None
        message = f"signé par le représentant légal « {representative.signer} »"
        if representative.check and representative.check.signing_time:
            message += f" le {_fr_moment(representative.check.signing_time)}"
        if agent is not None:
            message += f", contresigné par le mandataire « {agent.signer} »"
            if agent.check and agent.check.signing_time:
                message += f" le {_fr_moment(agent.check.signing_time)}"
        message += " ; signatures intactes, chaîne de confiance vérifiée"
    else:
        message = " ; ".join(reasons)
    return SignaturesVerdict(outcome=outcome, message=message, signatures=verdicts)
