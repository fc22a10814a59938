"""The rules catalogue: one pure function per rule id, over facts and rules only.

Each function returns the rule's results: one per problem found (a file, a person, a
signer), or a single `pass` when there is none, so that every rule appears in every run.
Messages are French, for operators; evidence says which document and person, and the
declared value beside the extracted one.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import Any

from dateutil.relativedelta import relativedelta

from ra_workbench.checks.facts import (
    DocumentFacts,
    DossierFacts,
    DuplicateFacts,
    KbisFacts,
    MrzFacts,
    ReuseFacts,
    best_mrz,
)
from ra_workbench.checks.mandate_signatures import judge_signatures
from ra_workbench.checks.results import MISSING_INPUT, RULE_IDS, Outcome, RuleResult
from ra_workbench.checks.rules import MEGABYTE, Rules
from ra_workbench.documents.labels import DOCUMENT_TYPE_LABELS_FR
from ra_workbench.documents.labels import IDENTITY_TYPE_LABELS_FR as IDENTITY_LABELS_FR
from ra_workbench.dossiers.labels import ROLE_LABELS_FR, PersonRole
from ra_workbench.extraction.kbis.identifiers import siren_is_valid
from ra_workbench.extraction.names import compact, first_name_among, fold

RuleFunction = Callable[[DossierFacts, Rules, dt.date], list[RuleResult]]
CATALOGUE: dict[str, RuleFunction] = {}

MEDIA_LABELS_FR = {"image/png": "PNG", "image/jpeg": "JPEG", "application/pdf": "PDF"}
# Inside sentences: « … est un passeport … ».
IDENTITY_TYPE_LABELS_FR = {
    kind: label[0].lower() + label[1:] for kind, label in IDENTITY_LABELS_FR.items()
}
# Capacity of the MRZ name field(s) per format: a name that fills it may be truncated.
NAME_CAPACITY = {"TD1": 30, "TD2": 31, "TD3": 39, "MRVA": 39, "MRVB": 31}
FR_CNI_SURNAME_CAPACITY = 25
FR_CNI_GIVEN_NAMES_CAPACITY = 14
EMAIL_PATTERN = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$"
)


def rule(rule_id: str) -> Callable[[RuleFunction], RuleFunction]:
    if rule_id not in RULE_IDS:
        raise ValueError(f"unknown rule id {rule_id!r}")

    def register(func: RuleFunction) -> RuleFunction:
        CATALOGUE[rule_id] = func
        return func

    return register


# -- helpers -----------------------------------------------------------------------------------


def _fr_date(value: dt.date) -> str:
    return value.strftime("%d/%m/%Y")


def _who(role: str | None) -> str:
    return ROLE_LABELS_FR.get(role or "", "Organisme")


def _evidence(
    document: DocumentFacts | None = None,
    person: str | None = None,
    declared: Any = None,
    extracted: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    evidence: dict[str, Any] = {}
    if document is not None:
        evidence["document_id"] = document.id
        evidence["file"] = document.original_name
        if document.side:
            evidence["side"] = document.side
    if person is not None:
        evidence["person"] = person
    if declared is not None:
        evidence["declared"] = declared
    if extracted is not None:
        evidence["extracted"] = extracted
    evidence.update({k: v for k, v in extra.items() if v is not None})
    return evidence


def _result(
    rule_id: str,
    outcome: str,
    message: str,
    *,
    document: DocumentFacts | None = None,
    person: str | None = None,
    missing: str | None = None,
    **evidence: Any,
) -> RuleResult:
    """`missing` names an absent input the result only repeats (see MISSING_INPUT)."""
    if missing is not None:
        evidence[MISSING_INPUT] = missing
    return RuleResult(
        rule=rule_id,
        outcome=outcome,
        message=message,
        person_role=person or (document.person_role if document else None),
        document_id=document.id if document else None,
        evidence=_evidence(document, person, **evidence),
    )


def _missing(rule_id: str, what: str, person: str | None = None) -> RuleResult:
    """The input is absent: dossier.documents_complete reports it and asks for it."""
    prefix = f"{_who(person)} : " if person else ""
    return _result(
        rule_id,
        Outcome.FAIL,
        f"{prefix}{what} absent(e) : contrôle impossible.",
        person=person,
        missing=what,
    )


def _per_item(
    rule_id: str,
    problems: Iterable[RuleResult],
    pass_message: str,
) -> list[RuleResult]:
    found = list(problems)
    return found or [_result(rule_id, Outcome.PASS, pass_message)]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count > 1 else ''}"


# -- files -------------------------------------------------------------------------------------


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


@rule("file.format")
def file_format(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    accepted = ", ".join(sorted(MEDIA_LABELS_FR[m] for m in rules.files.accepted_media_types))
    problems = []
    for doc in facts.documents:
        content = MEDIA_LABELS_FR.get(doc.media_type, doc.media_type)
        if doc.media_type not in rules.files.accepted_media_types:
            message = (
                f"« {doc.original_name} » : contenu {content}, format non accepté ({accepted})."
            )
        elif _suffix(doc.original_name) not in rules.files.extensions[doc.media_type]:
            message = (
                f"« {doc.original_name} » : l'extension « {_suffix(doc.original_name) or '—'} »"
                f" ne correspond pas au contenu ({content})."
            )
        else:
            continue
        problems.append(
            _result(
                "file.format",
                Outcome.FAIL,
                message,
                document=doc,
                declared=_suffix(doc.original_name),
                extracted=doc.media_type,
            )
        )
    return _per_item(
        "file.format",
        problems,
        f"{_plural(len(facts.documents), 'fichier')} au format {accepted}, extension conforme.",
    )


def _mo(size: int) -> str:
    return f"{size / MEGABYTE:.1f}".replace(".", ",") + " Mo"


@rule("file.size")
def file_size(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    limit = rules.files.max_size_bytes
    return _per_item(
        "file.size",
        (
            _result(
                "file.size",
                Outcome.FAIL,
                f"« {doc.original_name} » : {_mo(doc.size)}, au-delà du maximum de {_mo(limit)}.",
                document=doc,
                extracted=doc.size,
                limit=limit,
            )
            for doc in facts.documents
            if doc.size > limit
        ),
        f"Chaque fichier fait au plus {_mo(limit)}.",
    )


@rule("file.name")
def file_name(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    if not rules.files.forbid_dots_in_name:
        return [_result("file.name", Outcome.PASS, "Contrôle des noms de fichiers désactivé.")]
    problems = []
    for doc in facts.documents:
        suffix = PurePosixPath(doc.original_name).suffix
        stem = doc.original_name[: len(doc.original_name) - len(suffix)]
        if "." in stem:
            problems.append(
                _result(
                    "file.name",
                    Outcome.FAIL,
                    f"« {doc.original_name} » : le nom contient un point en plus de celui de "
                    "l'extension.",
                    document=doc,
                    declared=doc.original_name,
                )
            )
    return _per_item(
        "file.name", problems, "Aucun nom de fichier ne contient de point hors de l'extension."
    )


@rule("file.readable")
def file_readable(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    problems = []
    for doc in facts.documents:
        if doc.media_type not in rules.files.accepted_media_types:
            continue  # file.format already refuses it; there is nothing to decode
        if doc.extraction_failed:
            problems.append(
                _result(
                    "file.readable",
                    Outcome.ERROR,
                    f"« {doc.original_name} » : la lecture du fichier a échoué ; relancer les "
                    "contrôles.",
                    document=doc,
                )
            )
            continue
        reason = doc.read_error
        is_pdf = doc.media_type == "application/pdf"
        if is_pdf and (doc.page_count or 0) > rules.files.max_pdf_pages:
            # The rules' maximum, not the extractor's own ceiling that its error may name.
            reason = f"PDF de {doc.page_count} pages (maximum {rules.files.max_pdf_pages})"
        elif reason is None and is_pdf:
            if doc.page_count is None:
                reason = "PDF illisible, chiffré ou protégé par mot de passe"
            elif doc.page_count == 0:
                reason = "PDF sans aucune page"
        if reason:
            problems.append(
                _result(
                    "file.readable",
                    Outcome.FAIL,
                    f"« {doc.original_name} » : {reason}.",
                    document=doc,
                    extracted=reason,
                    pages=doc.page_count,
                )
            )
    return _per_item("file.readable", problems, "Tous les fichiers se décodent correctement.")


def _named(names: Iterable[str], values: Iterable[str]) -> tuple[str, str] | None:
    """The first (value, name) where a value names one of `names` as a word, case,
    accents and punctuation aside (« Adobe Photoshop 25.0 » names Photoshop)."""
    for value in values:
        folded = fold(value)
        for name in names:
            if re.search(rf"(?<![A-Z0-9]){re.escape(fold(name))}(?![A-Z0-9])", folded):
                return value, name
    return None


def _px(width: int, height: int) -> str:
    return f"{width} × {height} px"


def _file_signals(doc: DocumentFacts, rules: Rules) -> list[RuleResult]:
    signals = doc.file_signals
    if signals is None:
        return []
    limits = rules.file_signals
    found: list[RuleResult] = []
    name = doc.original_name
    editor = _named(limits.image_editors, (*signals.software, *signals.original_software))
    if editor is not None:
        found.append(
            _result(
                "file.signals",
                Outcome.WARN,
                f"« {name} » : les métadonnées nomment un logiciel de retouche d'image "
                f"({editor[0]}). Vérifier que le document n'a pas été modifié.",
                document=doc,
                signal="image_editor",
                software=editor[0],
            )
        )
    registry = _named(limits.registry_producers, (*signals.original_software, *signals.software))
    if registry is not None and signals.updates:
        found.append(
            _result(
                "file.signals",
                Outcome.WARN,
                f"« {name} » : PDF produit par un registre ({registry[0]}) puis modifié par "
                f"{_plural(signals.updates, 'mise')} à jour après sa création. Comparer avec "
                "l'original délivré par le registre.",
                document=doc,
                signal="pdf_updated",
                software=registry[0],
                updates=signals.updates,
            )
        )
    size = (
        (signals.width, signals.height)
        if signals.width is not None and signals.height is not None
        else None
    )
    is_image = doc.media_type in ("image/png", "image/jpeg")
    if (
        is_image
        and doc.type in limits.screenshot_document_types
        and signals.camera is None
        and (signals.screenshot_marker or (size is not None and size in limits.screen_sizes))
    ):
        found.append(
            _result(
                "file.signals",
                Outcome.WARN,
                f"« {name} » : "
                + (f"image de {_px(*size)}, la taille d'un écran" if size else "image")
                + (", marquée « capture d'écran »" if signals.screenshot_marker else "")
                + ", sans appareil photo dans ses métadonnées : capture d'écran probable, pas "
                "une photo ni un scan du document.",
                document=doc,
                signal="screenshot",
                pixels=_px(*size) if size else None,
            )
        )
    minimum = limits.min_identity_short_side_px
    if doc.type == "identity" and size is not None and min(size) < minimum:
        found.append(
            _result(
                "file.signals",
                Outcome.WARN,
                f"« {name} » : {'image' if is_image else 'image du PDF'} de {_px(*size)}, "
                f"{min(size)} px sur le petit côté (minimum {minimum}) : résolution trop faible "
                "pour comparer le visage.",
                document=doc,
                signal="low_resolution",
                pixels=_px(*size),
                dpi=f"{signals.dpi[0]} × {signals.dpi[1]} ppp" if signals.dpi else None,
                limit=minimum,
            )
        )
    return found


@rule("file.signals")
def file_signals(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    """What each file's metadata tells of how it was made: an image editor, a registry's PDF
    updated afterwards, a screen capture, a face too small to compare. Each a warning for
    the operator, never a failure: none proves a forgery, and the customer is not told."""
    return _per_item(
        "file.signals",
        (found for doc in facts.documents for found in _file_signals(doc, rules)),
        "Aucun fichier ne porte de trace de retouche, de mise à jour après sa délivrance, de "
        "capture d'écran ni de résolution insuffisante.",
    )


# -- dossier -----------------------------------------------------------------------------------


def required_documents(facts: DossierFacts, rules: Rules) -> list[tuple[str, str | None]]:
    """(document type, person role) of every document this dossier requires."""
    return [
        (req.type, req.person)
        for req in rules.documents
        if facts.applies(req.when, req.unless)
        and (req.person is None or facts.person(req.person) is not None)
    ]


@rule("dossier.documents_complete")
def documents_complete(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    problems = []
    for doc_type, person in required_documents(facts, rules):
        present = facts.identity_documents(person) if person else facts.documents_of(doc_type)
        if present:
            continue
        label = DOCUMENT_TYPE_LABELS_FR[doc_type]
        suffix = f" ({_who(person).lower()})" if person else ""
        problems.append(
            _result(
                "dossier.documents_complete",
                Outcome.FAIL,
                f"Pièce manquante : {label}{suffix}.",
                person=person,
                document_type=doc_type,
            )
        )
    return _per_item(
        "dossier.documents_complete", problems, "Toutes les pièces requises sont présentes."
    )


@rule("dossier.attestation")
def attestation(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    if facts.documents_valid_attested:
        return [
            _result(
                "dossier.attestation",
                Outcome.PASS,
                "Le client a attesté que ses documents sont en cours de validité.",
            )
        ]
    return [
        _result(
            "dossier.attestation",
            Outcome.FAIL,
            "Le client n'a pas coché « Mes documents sont en cours de validité ».",
            declared=False,
        )
    ]


# -- identity ----------------------------------------------------------------------------------


def _identity_rule(
    rule_id: str, check: Callable[[DossierFacts, Rules, dt.date, str], RuleResult]
) -> RuleFunction:
    """Run `check` for each person whose identity is checked, once they have documents."""

    def run(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
        results = []
        for role in facts.identity_roles():
            if not facts.identity_documents(role):
                results.append(_missing(rule_id, "pièce d'identité", role))
            else:
                results.append(check(facts, rules, on, role))
        return results

    return run


def _no_mrz(rule_id: str, role: str) -> RuleResult:
    """Without an MRZ the field cannot be read automatically: an operator reads the image
    (identity.mrz has already failed and asks the customer for a clear copy)."""
    return _result(
        rule_id,
        Outcome.MANUAL,
        f"{_who(role)} : MRZ non lue, vérifier sur l'image de la pièce.",
        person=role,
        missing="mrz",
    )


def _both_sides(facts: DossierFacts, rules: Rules, on: dt.date, role: str) -> RuleResult:
    docs = facts.identity_documents(role)
    sides = {d.side for d in docs}
    missing = [s for s in ("recto", "verso") if s not in sides]
    if missing:
        return _result(
            "identity.both_sides",
            Outcome.FAIL,
            f"{_who(role)} : {' et '.join(missing)} de la pièce d'identité manquant.",
            person=role,
            extracted=sorted(s for s in sides if s),
            missing_sides=missing,
        )
    return _result(
        "identity.both_sides",
        Outcome.PASS,
        f"{_who(role)} : recto et verso fournis.",
        person=role,
    )


def _mrz_check(facts: DossierFacts, rules: Rules, on: dt.date, role: str) -> RuleResult:
    docs = facts.identity_documents(role)
    found = best_mrz(docs)
    if found is None:
        if any(d.extraction_failed for d in docs):
            return _result(
                "identity.mrz",
                Outcome.ERROR,
                f"{_who(role)} : la lecture de la pièce d'identité a échoué ; relancer les "
                "contrôles.",
                person=role,
            )
        return _result(
            "identity.mrz",
            Outcome.FAIL,
            f"{_who(role)} : aucune bande MRZ lisible sur la pièce d'identité (recto ni verso).",
            person=role,
            files=[d.original_name for d in docs],
        )
    doc, mrz = found
    if not mrz.valid:
        if mrz.problems and not mrz.failed_checks:
            # Check digits hold, but the reading cannot be true (000000, 31 February…).
            message = f"{_who(role)} : MRZ lue mais invalide : {' ; '.join(mrz.problems)}."
        else:
            failed = ", ".join(mrz.failed_checks) or "non précisées"
            message = f"{_who(role)} : MRZ lue mais clés de contrôle fausses ({failed})."
            if mrz.problems:
                message = f"{message[:-1]} ; {' ; '.join(mrz.problems)}."
        return _result(
            "identity.mrz",
            Outcome.FAIL,
            message,
            document=doc,
            person=role,
            extracted={
                "format": mrz.format,
                "failed_checks": list(mrz.failed_checks),
                "problems": list(mrz.problems),
            },
        )
    return _result(
        "identity.mrz",
        Outcome.PASS,
        f"{_who(role)} : MRZ {mrz.format} lue ({doc.side or 'face inconnue'}), "
        "clés de contrôle correctes.",
        document=doc,
        person=role,
        extracted={"format": mrz.format, "document_number": mrz.document_number},
    )


def identity_type(mrz: MrzFacts, rules: Rules) -> str:
    """The document's type from its MRZ: cni, cnie, identity_card, passport,
    residence_permit, visa or unknown."""
    code = mrz.document_code.upper().replace("<", "")
    if mrz.format in ("MRVA", "MRVB") or code.startswith("V"):
        return "visa"
    if mrz.format == "FR_CNI":
        return "cni"
    if code.startswith("P"):
        return "passport"
    if code[:2] in rules.identity.residence_permit_codes:
        return "residence_permit"
    if code[:1] in ("I", "A", "C"):
        return "cnie" if mrz.issuing_state == "FRA" else "identity_card"
    return "unknown"


def _document_type(facts: DossierFacts, rules: Rules, on: dt.date, role: str) -> RuleResult:
    found = best_mrz(facts.identity_documents(role))
    if found is None:
        return _no_mrz("identity.document_type", role)
    doc, mrz = found
    kind = identity_type(mrz, rules)
    label = IDENTITY_TYPE_LABELS_FR[kind]
    accepted = kind in rules.identity.accepted_types or (
        kind == "residence_permit" and rules.identity.accept_residence_permit
    )
    issuer = mrz.issuing_state.rstrip("<")
    trusted = issuer in rules.identity.trusted_issuers
    evidence: dict[str, Any] = {
        "document": doc,
        "person": role,
        "extracted": {
            "type": kind,
            "document_code": mrz.document_code,
            "issuing_state": mrz.issuing_state,
            "trusted_issuer": trusted,
        },
    }
    if accepted and trusted:
        return _result(
            "identity.document_type",
            Outcome.PASS,
            f"{_who(role)} : {label} ({issuer}), type accepté, émetteur reconnu.",
            **evidence,
        )
    if accepted:
        return _result(
            "identity.document_type",
            Outcome.MANUAL,
            f"{_who(role)} : {label} émis(e) par « {issuer} », État absent de la liste des "
            "émetteurs reconnus : vérifier que l'émetteur est reconnu et le document authentique.",
            **evidence,
        )
    if kind in rules.identity.manual_types:
        return _result(
            "identity.document_type",
            Outcome.MANUAL,
            f"{_who(role)} : {label} émise par {mrz.issuing_state} : vérifier que l'émetteur "
            "est reconnu.",
            **evidence,
        )
    return _result(
        "identity.document_type",
        Outcome.FAIL,
        f"{_who(role)} : {label}, type de pièce non accepté.",
        **evidence,
    )


def _valid_on_date(facts: DossierFacts, rules: Rules, on: dt.date, role: str) -> RuleResult:
    found = best_mrz(facts.identity_documents(role))
    if found is None:
        return _no_mrz("identity.valid_on_date", role)
    doc, mrz = found
    if mrz.expiry_date is None:
        return _result(
            "identity.valid_on_date",
            Outcome.MANUAL,
            f"{_who(role)} : date d'expiration non lue, vérifier sur la pièce.",
            document=doc,
            person=role,
        )
    derived = " (date déduite de la date de délivrance)" if mrz.expiry_derived else ""
    evidence: dict[str, Any] = {
        "document": doc,
        "person": role,
        "extracted": {"expiry_date": mrz.expiry_date.isoformat(), "derived": mrz.expiry_derived},
        "evaluation_date": on.isoformat(),
    }
    if mrz.expiry_date < on:
        return _result(
            "identity.valid_on_date",
            Outcome.FAIL,
            f"{_who(role)} : pièce d'identité expirée le {_fr_date(mrz.expiry_date)}{derived}.",
            **evidence,
        )
    return _result(
        "identity.valid_on_date",
        Outcome.PASS,
        f"{_who(role)} : pièce valable jusqu'au {_fr_date(mrz.expiry_date)}{derived}.",
        **evidence,
    )


def _surname_full(mrz: MrzFacts) -> bool:
    if mrz.format == "FR_CNI":
        return len(mrz.surname) >= FR_CNI_SURNAME_CAPACITY
    used = len(mrz.surname) + 2 + len(" ".join(mrz.given_names))
    return used >= NAME_CAPACITY.get(mrz.format, 99) - 1


def _given_names_full(mrz: MrzFacts) -> bool:
    if mrz.format == "FR_CNI":
        return len(" ".join(mrz.given_names)) >= FR_CNI_GIVEN_NAMES_CAPACITY - 1
    return _surname_full(mrz)


def _name_match(facts: DossierFacts, rules: Rules, on: dt.date, role: str) -> RuleResult:
    person = facts.person(role)
    found = best_mrz(facts.identity_documents(role))
    if found is None or person is None:
        return _no_mrz("identity.name_match", role)
    doc, mrz = found
    evidence: dict[str, Any] = {
        "document": doc,
        "person": role,
        "declared": {"last_name": person.last_name, "first_name": person.first_name},
        "extracted": {"surname": mrz.surname, "given_names": list(mrz.given_names)},
    }
    declared_surname, read_surname = compact(person.last_name), compact(mrz.surname)
    surname_ok = declared_surname == read_surname and bool(read_surname)
    surname_truncated = (
        not surname_ok
        and bool(read_surname)
        and declared_surname.startswith(read_surname)
        and _surname_full(mrz)
    )
    given_ok = first_name_among(person.first_name, mrz.given_names)
    given_truncated = (
        not given_ok
        and bool(mrz.given_names)
        and _given_names_full(mrz)
        and any(compact(person.first_name).startswith(compact(g)) for g in mrz.given_names[-1:])
    )
    if surname_ok and given_ok:
        return _result(
            "identity.name_match",
            Outcome.PASS,
            f"{_who(role)} : nom et prénom conformes à la pièce d'identité.",
            **evidence,
        )
    if (surname_ok or surname_truncated) and (given_ok or given_truncated):
        return _result(
            "identity.name_match",
            Outcome.WARN,
            f"{_who(role)} : nom ou prénom tronqué dans la MRZ, vérifier sur la pièce.",
            **evidence,
        )
    wrong = []
    if not (surname_ok or surname_truncated):
        wrong.append(f"nom déclaré « {person.last_name} », lu « {mrz.surname} »")
    if not (given_ok or given_truncated):
        wrong.append(
            f"prénom déclaré « {person.first_name} » absent des prénoms lus "
            f"« {' '.join(mrz.given_names)} »"
        )
    return _result(
        "identity.name_match",
        Outcome.FAIL,
        f"{_who(role)} : {' ; '.join(wrong)}.",
        **evidence,
    )


def _reuse_phrase(found: ReuseFacts) -> str:
    if found.basis == "document_number":
        why = f"même numéro de document {found.document_number}"
    elif not found.distance:
        why = "même image"
    else:
        why = f"image quasi identique, {found.distance} bit(s) d'écart sur 64"
    return f"dossier {found.other_order_number} ({why})"


def _reuse(facts: DossierFacts, rules: Rules, on: dt.date, role: str) -> RuleResult:
    """The person's identity documents found in other dossiers: for another person, a
    borrowed or forged document (fail); for the same person, a renewal or a second order
    an operator looks at (warn)."""
    documents = {d.id for d in facts.identity_documents(role)}
    found = [
        r
        for r in facts.reuse
        if r.role == role
        and r.document_id in documents
        and (r.basis != "image" or (r.distance or 0) <= rules.reuse.max_image_distance)
    ]
    reused_in = [
        {
            "dossier": r.other_order_number,
            "dossier_id": r.other_dossier_id,
            "basis": r.basis,
            "same_person": r.same_person,
            "person_role": r.other_role,
            "document_number": r.document_number,
            "distance": r.distance,
        }
        for r in found
    ]
    others = [r for r in found if not r.same_person]
    if others:
        basis = "document_number" if any(r.basis == "document_number" for r in others) else "image"
        return _result(
            "identity.reuse",
            Outcome.FAIL,
            f"{_who(role)} : pièce d'identité déjà présentée pour une autre personne — "
            + " ; ".join(_reuse_phrase(r) for r in others)
            + ". Document emprunté ou falsifié : comparer les deux dossiers.",
            person=role,
            reuse_basis=basis,
            reused_in=reused_in,
        )
    if found:
        return _result(
            "identity.reuse",
            Outcome.WARN,
            f"{_who(role)} : même pièce d'identité, pour la même personne, que dans le "
            + " ; ".join(_reuse_phrase(r) for r in found)
            + ". Vérifier qu'il s'agit d'un renouvellement ou d'une nouvelle commande légitime.",
            person=role,
            reused_in=reused_in,
        )
    return _result(
        "identity.reuse",
        Outcome.PASS,
        f"{_who(role)} : pièce d'identité présentée dans aucun autre dossier.",
        person=role,
    )


CATALOGUE["identity.both_sides"] = _identity_rule("identity.both_sides", _both_sides)
CATALOGUE["identity.mrz"] = _identity_rule("identity.mrz", _mrz_check)
CATALOGUE["identity.document_type"] = _identity_rule("identity.document_type", _document_type)
CATALOGUE["identity.valid_on_date"] = _identity_rule("identity.valid_on_date", _valid_on_date)
CATALOGUE["identity.name_match"] = _identity_rule("identity.name_match", _name_match)


@rule("identity.reuse")
def identity_reuse(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    # Not through _identity_rule: a missing document is dossier.documents_complete's to
    # report, and must not block the dossier as a failure of this (blocking) rule would.
    return [
        _reuse(facts, rules, on, role)
        if facts.identity_documents(role)
        else _result(
            "identity.reuse",
            Outcome.PASS,
            f"{_who(role)} : sans objet, aucune pièce d'identité à comparer.",
            person=role,
            missing="pièce d'identité",
        )
        for role in facts.identity_roles()
    ]


# -- Kbis --------------------------------------------------------------------------------------


def kbis_document(facts: DossierFacts, rules: Rules) -> DocumentFacts | None:
    """The Kbis (or equivalent) the other kbis rules read: an accepted, dated one first."""
    docs = facts.documents_of("kbis")
    if not docs:
        return None

    def rank(doc: DocumentFacts) -> tuple[bool, bool, bool, int]:
        k = doc.kbis
        return (
            k is None,
            k is None or k.kind not in rules.kbis.accepted_kinds,
            k is None or k.date is None,
            doc.id,
        )

    return min(docs, key=rank)


def _kbis_rule(
    rule_id: str, check: Callable[[DossierFacts, Rules, dt.date, DocumentFacts, KbisFacts], Any]
) -> RuleFunction:
    """Run `check` on the Kbis that was read; without one, an operator reads the file."""

    def run(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
        doc = kbis_document(facts, rules)
        if doc is None:
            return [_missing(rule_id, "extrait Kbis")]
        if doc.kbis is None:
            return [
                _result(
                    rule_id,
                    Outcome.MANUAL,
                    "Extrait Kbis non lu : vérifier sur le document.",
                    document=doc,
                    missing="kbis",
                )
            ]
        return [check(facts, rules, on, doc, doc.kbis)]

    return run


@rule("kbis.read")
def kbis_read(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    doc = kbis_document(facts, rules)
    if doc is None:
        return [_missing("kbis.read", "extrait Kbis")]
    if doc.extraction_failed:
        return [
            _result(
                "kbis.read",
                Outcome.ERROR,
                "La lecture de l'extrait Kbis a échoué ; relancer les contrôles.",
                document=doc,
            )
        ]
    kbis = doc.kbis
    if kbis is None or kbis.kind == "unknown":
        reason = f" ({doc.read_error})" if doc.read_error else ""
        return [
            _result(
                "kbis.read",
                Outcome.FAIL,
                f"« {doc.original_name} » n'est pas reconnu comme un extrait Kbis ou un "
                f"équivalent{reason}.",
                document=doc,
                extracted=kbis.kind if kbis else None,
            )
        ]
    if kbis.kind not in rules.kbis.accepted_kinds:
        return [
            _result(
                "kbis.read",
                Outcome.FAIL,
                f"« {doc.original_name} » : type de justificatif non accepté ({kbis.kind}).",
                document=doc,
                extracted=kbis.kind,
            )
        ]
    if kbis.date is None:
        return [
            _result(
                "kbis.read",
                Outcome.FAIL,
                f"« {doc.original_name} » : date de l'extrait (« à jour au ») introuvable.",
                document=doc,
                extracted=kbis.kind,
            )
        ]
    return [
        _result(
            "kbis.read",
            Outcome.PASS,
            f"Justificatif {kbis.kind} du {_fr_date(kbis.date)} lu.",
            document=doc,
            extracted={"kind": kbis.kind, "date": kbis.date.isoformat()},
        )
    ]


def _kbis_age(
    facts: DossierFacts, rules: Rules, on: dt.date, doc: DocumentFacts, kbis: KbisFacts
) -> RuleResult:
    months = rules.kbis.max_age_months
    if kbis.date is None:
        return _result(
            "kbis.age",
            Outcome.MANUAL,
            "Date de l'extrait Kbis non lue : vérifier sur le document.",
            document=doc,
            missing="kbis_date",
        )
    oldest = on - relativedelta(months=months)
    evidence: dict[str, Any] = {
        "document": doc,
        "extracted": kbis.date.isoformat(),
        "evaluation_date": on.isoformat(),
        "max_age_months": months,
    }
    if kbis.date < oldest:
        return _result(
            "kbis.age",
            Outcome.FAIL,
            f"Extrait Kbis du {_fr_date(kbis.date)} : plus de {months} mois au {_fr_date(on)}.",
            **evidence,
        )
    if kbis.date > on:
        return _result(
            "kbis.age",
            Outcome.WARN,
            f"Extrait Kbis daté du {_fr_date(kbis.date)}, postérieur au {_fr_date(on)} : "
            "vérifier la date.",
            **evidence,
        )
    return _result(
        "kbis.age",
        Outcome.PASS,
        f"Extrait Kbis du {_fr_date(kbis.date)} : moins de {months} mois.",
        **evidence,
    )


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _kbis_siren(
    facts: DossierFacts, rules: Rules, on: dt.date, doc: DocumentFacts, kbis: KbisFacts
) -> RuleResult:
    declared = _digits(facts.organisation.siren)
    # A SIREN typed by hand (« Je souhaite passer en saisie manuelle ») was never looked up
    # in the SIRENE directory: only the Kbis confirms it, so its match is required (and a
    # mismatch is a hard rule, rules/checks.toml [overrides]).
    manual = facts.organisation.manual_entry
    evidence: dict[str, Any] = {
        "document": doc,
        "declared": facts.organisation.siren,
        "extracted": kbis.siren,
        "manual_entry": True if manual else None,
    }
    if not kbis.siren and manual:
        return _result(
            "kbis.siren_match",
            Outcome.FAIL,
            f"SIREN saisi manuellement ({facts.organisation.siren}) : l'extrait doit le "
            "confirmer, or aucun SIREN n'y a été lu.",
            **evidence,
        )
    if not kbis.siren:
        return _result(
            "kbis.siren_match",
            Outcome.MANUAL,
            "SIREN non lu sur l'extrait (immatriculation en cours ?) : vérifier sur le document.",
            **evidence,
        )
    how = " (saisi manuellement)" if manual else ""
    if kbis.siren == declared:
        return _result(
            "kbis.siren_match", Outcome.PASS, f"SIREN {kbis.siren}{how} conforme.", **evidence
        )
    return _result(
        "kbis.siren_match",
        Outcome.FAIL,
        f"SIREN déclaré{how} {facts.organisation.siren}, SIREN de l'extrait {kbis.siren}.",
        **evidence,
    )


def _kbis_name(
    facts: DossierFacts, rules: Rules, on: dt.date, doc: DocumentFacts, kbis: KbisFacts
) -> RuleResult:
    declared, read = compact(facts.organisation.name), compact(kbis.name)
    evidence: dict[str, Any] = {
        "document": doc,
        "declared": facts.organisation.name,
        "extracted": kbis.name,
    }
    if not read:
        return _result(
            "kbis.name_match",
            Outcome.MANUAL,
            "Dénomination non lue sur l'extrait : vérifier sur le document.",
            **evidence,
        )
    if declared == read:
        return _result(
            "kbis.name_match", Outcome.PASS, f"Dénomination « {kbis.name} » conforme.", **evidence
        )
    if declared and (declared in read or read in declared):
        return _result(
            "kbis.name_match",
            Outcome.WARN,
            f"Dénomination déclarée « {facts.organisation.name} », sur l'extrait "
            f"« {kbis.name} » : proches, vérifier.",
            **evidence,
        )
    return _result(
        "kbis.name_match",
        Outcome.FAIL,
        f"Dénomination déclarée « {facts.organisation.name} », sur l'extrait « {kbis.name} ».",
        **evidence,
    )


def _normal_form(text: str) -> str:
    """« Société à responsabilité limitée (sans autre indication) » → « SOCIETE A
    RESPONSABILITE LIMITEE »: folded, without a parenthesised note."""
    return fold(re.sub(r"\([^)]*\)", " ", text))


def legal_form_code(text: str, rules: Rules) -> str | None:
    """The legal form's code (rules/checks.toml [legal_forms]) for a declared or read text."""
    normal = _normal_form(text)
    if not normal:
        return None
    for code, spellings in rules.legal_forms.items():
        if normal == _normal_form(code) or any(normal == _normal_form(s) for s in spellings):
            return code
    return None


def _kbis_legal_form(
    facts: DossierFacts, rules: Rules, on: dt.date, doc: DocumentFacts, kbis: KbisFacts
) -> RuleResult:
    declared, read = facts.organisation.legal_form, kbis.legal_form
    declared_code, read_code = legal_form_code(declared, rules), legal_form_code(read, rules)
    evidence: dict[str, Any] = {
        "document": doc,
        "declared": declared,
        "extracted": read,
        "normalised": {"declared": declared_code, "extracted": read_code},
    }
    if not read.strip():
        return _result(
            "kbis.legal_form",
            Outcome.WARN,
            "Forme juridique non lue sur l'extrait : vérifier sur le document.",
            **evidence,
        )
    if not declared.strip():
        # fields.required reports (and asks for) the empty declaration.
        return _result(
            "kbis.legal_form",
            Outcome.WARN,
            f"Forme juridique non déclarée ; l'extrait indique « {read} ».",
            **evidence,
        )
    if declared_code and read_code:
        if declared_code == read_code:
            return _result(
                "kbis.legal_form",
                Outcome.PASS,
                f"Forme juridique {declared_code} conforme (« {read} » sur l'extrait).",
                **evidence,
            )
        return _result(
            "kbis.legal_form",
            Outcome.FAIL,
            f"Forme juridique déclarée {declared_code}, sur l'extrait « {read} » ({read_code}).",
            **evidence,
        )
    if _normal_form(declared) == _normal_form(read):
        return _result(
            "kbis.legal_form", Outcome.PASS, f"Forme juridique « {read} » conforme.", **evidence
        )
    return _result(
        "kbis.legal_form",
        Outcome.WARN,
        f"Forme juridique déclarée « {declared} », sur l'extrait « {read} » : forme non "
        "répertoriée, vérifier.",
        **evidence,
    )


def _kbis_legal_representative(
    facts: DossierFacts, rules: Rules, on: dt.date, doc: DocumentFacts, kbis: KbisFacts
) -> RuleResult:
    person = facts.person(PersonRole.LEGAL_REPRESENTATIVE)
    if person is None:
        return _result(
            "kbis.legal_representative",
            Outcome.FAIL,
            "Aucun représentant légal déclaré.",
            document=doc,
        )
    managers = [
        {"role": m.role, "surname": m.surname, "given_names": list(m.given_names)}
        for m in kbis.managers
    ]
    evidence: dict[str, Any] = {
        "document": doc,
        "person": PersonRole.LEGAL_REPRESENTATIVE,
        "declared": {"last_name": person.last_name, "first_name": person.first_name},
        "extracted": managers,
    }
    if not kbis.managers:
        return _result(
            "kbis.legal_representative",
            Outcome.MANUAL,
            "Dirigeants non lus sur l'extrait : vérifier que le représentant légal y figure.",
            **evidence,
        )
    same_surname = [m for m in kbis.managers if compact(m.surname) == compact(person.last_name)]
    for manager in same_surname:
        if first_name_among(person.first_name, manager.given_names):
            return _result(
                "kbis.legal_representative",
                Outcome.PASS,
                f"{person.first_name} {person.last_name} figure sur l'extrait "
                f"({manager.role or 'dirigeant'}).",
                **evidence,
            )
    if any(not m.given_names for m in same_surname):
        return _result(
            "kbis.legal_representative",
            Outcome.WARN,
            f"Un dirigeant « {person.last_name} » figure sur l'extrait sans prénom lu : vérifier.",
            **evidence,
        )
    return _result(
        "kbis.legal_representative",
        Outcome.FAIL,
        f"Le représentant légal déclaré ({person.first_name} {person.last_name}) ne figure pas "
        "parmi les dirigeants de l'extrait.",
        **evidence,
    )


CATALOGUE["kbis.age"] = _kbis_rule("kbis.age", _kbis_age)
CATALOGUE["kbis.siren_match"] = _kbis_rule("kbis.siren_match", _kbis_siren)
CATALOGUE["kbis.name_match"] = _kbis_rule("kbis.name_match", _kbis_name)
CATALOGUE["kbis.legal_form"] = _kbis_rule("kbis.legal_form", _kbis_legal_form)
CATALOGUE["kbis.legal_representative"] = _kbis_rule(
    "kbis.legal_representative", _kbis_legal_representative
)


# -- organisation, declared fields, contact ----------------------------------------------------


@rule("organisation.siren")
def organisation_siren(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    siren = facts.organisation.siren.strip()
    if siren_is_valid(siren):
        return [
            _result(
                "organisation.siren",
                Outcome.PASS,
                f"SIREN {siren} : 9 chiffres, clé de Luhn correcte.",
                declared=siren,
            )
        ]
    reason = "clé de contrôle fausse" if re.fullmatch(r"[0-9]{9}", siren) else "9 chiffres attendus"
    return [
        _result(
            "organisation.siren",
            Outcome.FAIL,
            f"SIREN déclaré « {siren} » invalide ({reason}).",
            declared=siren,
        )
    ]


def _bad_characters(value: str, allowed_punctuation: str) -> str:
    bad = [
        c
        for c in value
        if not (c.isascii() and (c.isalnum() or c == " " or c in allowed_punctuation))
    ]
    return "".join(dict.fromkeys(bad))


def _declared_fields(facts: DossierFacts) -> list[tuple[str | None, dict[str, str]]]:
    org = facts.organisation
    organisation = {"organisation.name": org.name, "organisation.legal_form": org.legal_form}
    organisation |= {f"organisation.address.{k}": v for k, v in org.address}
    organisation["delivery_info"] = facts.delivery_info
    subjects: list[tuple[str | None, dict[str, str]]] = [(None, organisation)]
    for person in facts.declared_people():
        fields = {"first_name": person.first_name, "last_name": person.last_name}
        fields |= {f"address.{k}": v for k, v in person.address}
        subjects.append((person.role, fields))
    return subjects


@rule("fields.no_accents")
def no_accents(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    problems = []
    for role, fields in _declared_fields(facts):
        offending = {
            name: value
            for name, value in fields.items()
            if _bad_characters(value, rules.fields.allowed_punctuation)
        }
        if offending:
            chars = _bad_characters(" ".join(offending.values()), rules.fields.allowed_punctuation)
            problems.append(
                _result(
                    "fields.no_accents",
                    Outcome.FAIL,
                    f"{_who(role)} : caractères non acceptés « {chars} » dans "
                    f"{', '.join(sorted(offending))}.",
                    person=role,
                    declared=offending,
                )
            )
    return _per_item(
        "fields.no_accents", problems, "Aucun accent ni caractère spécial dans les champs saisis."
    )


FIELD_LABELS_FR = {
    "name": "raison sociale",
    "legal_form": "forme juridique",
    "civility": "civilité",
    "first_name": "prénom",
    "last_name": "nom",
    "email": "e-mail",
    "mobile": "mobile",
    "address.line1": "adresse",
    "address.line2": "complément d'adresse",
    "address.postcode": "code postal",
    "address.city": "ville",
    "address.country": "pays",
}


@rule("fields.required")
def required_fields(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    """« Tous les champs sont obligatoires » (guide, section 5), civilities from a closed list."""
    org = facts.organisation
    subjects: list[tuple[str | None, dict[str, str], tuple[str, ...]]] = [
        (
            None,
            {"name": org.name, "legal_form": org.legal_form}
            | {f"address.{k}": v for k, v in org.address},
            rules.fields.organisation_required,
        )
    ]
    for p in facts.declared_people():
        values = {
            "civility": p.civility,
            "first_name": p.first_name,
            "last_name": p.last_name,
            "email": p.email,
            "mobile": p.mobile,
        } | {f"address.{k}": v for k, v in p.address}
        subjects.append((p.role, values, rules.fields.person_required))
    problems = []
    for role, values, required in subjects:
        missing = [f for f in required if not str(values.get(f) or "").strip()]
        civility = values.get("civility", "")
        wrong_civility = (
            role is not None
            and bool(civility.strip())
            and (civility not in rules.fields.civilities)
        )
        if not missing and not wrong_civility:
            continue
        parts = []
        if missing:
            parts.append(
                "champs obligatoires vides : " + ", ".join(FIELD_LABELS_FR[f] for f in missing)
            )
        if wrong_civility:
            parts.append(
                f"civilité « {civility} » non admise ({', '.join(sorted(rules.fields.civilities))})"
            )
        problems.append(
            _result(
                "fields.required",
                Outcome.FAIL,
                f"{_who(role)} : {' ; '.join(parts)}.",
                person=role,
                declared={
                    f: values.get(f, "")
                    for f in [*missing, *(["civility"] if wrong_civility else [])]
                },
                missing_fields=missing or None,
            )
        )
    return _per_item("fields.required", problems, "Tous les champs obligatoires sont renseignés.")


def national_mobile(raw: str) -> str:
    """+33 6 12 34 56 78, 0033612345678, 06.12.34.56.78 → 0612345678 (else the digits)."""
    number = re.sub(r"[\s.\-()/]", "", raw)
    if number.startswith("+33"):
        number = "0" + number[3:]
    elif number.startswith("0033"):
        number = "0" + number[4:]
    if number.startswith("00") and len(number) == 11:
        number = number[1:]  # "+33 (0)6…" written out
    return number


def is_french_mobile(raw: str, rules: Rules) -> bool:
    number = national_mobile(raw)
    return (
        bool(re.fullmatch(r"0[0-9]{9}", number))
        and number.startswith(rules.contact.mobile_prefixes)
        and not number.startswith(rules.contact.excluded_prefixes)
    )


@rule("contact.mobile")
def contact_mobile(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    problems = [
        _result(
            "contact.mobile",
            Outcome.FAIL,
            f"{_who(p.role)} : « {p.mobile or '—'} » n'est pas un numéro de mobile français.",
            person=p.role,
            declared=p.mobile,
        )
        for p in facts.declared_people()
        if not is_french_mobile(p.mobile, rules)
    ]
    return _per_item("contact.mobile", problems, "Numéros de mobile français conformes.")


@rule("contact.email")
def contact_email(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    problems = [
        _result(
            "contact.email",
            Outcome.FAIL,
            f"{_who(p.role)} : adresse e-mail « {p.email or '—'} » mal formée.",
            person=p.role,
            declared=p.email,
        )
        for p in facts.declared_people()
        if not EMAIL_PATTERN.fullmatch(p.email.strip()) or len(p.email) > 254
    ]
    return _per_item("contact.email", problems, "Adresses e-mail bien formées.")


# -- holder, mandate, payment, signatures ------------------------------------------------------


def _renewed(facts: DossierFacts, rules: Rules, on: dt.date) -> DuplicateFacts | None:
    """The one valid certificate this order renews: the holder has no other open dossier
    and no other certificate, and it expires within the renewal window."""
    window = dt.timedelta(days=rules.holder.renewal_window_days)
    match facts.holder_duplicates:
        case (found,) if (
            found.kind == "certificate"
            and found.expires_on is not None
            and found.certificate_id is not None
            and on >= found.expires_on - window
        ):
            return found
    return None


@rule("holder.unique")
def holder_unique(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    if not facts.holder_duplicates:
        return [
            _result(
                "holder.unique",
                Outcome.PASS,
                "Le porteur n'a ni autre dossier en cours ni certificat valide.",
                person=PersonRole.HOLDER,
            )
        ]
    renewed = _renewed(facts, rules, on)
    if renewed is not None and renewed.expires_on is not None:
        return [
            _result(
                "holder.unique",
                Outcome.PASS,
                f"Renouvellement du certificat n° {renewed.reference} qui expire le "
                f"{renewed.expires_on:%d/%m/%Y} (moins de {rules.holder.renewal_window_days} "
                "jours) : il sera révoqué, remplacé par le nouveau, à la remise de celui-ci.",
                person=PersonRole.HOLDER,
                renews={
                    "certificate_id": renewed.certificate_id,
                    "serial_number": renewed.reference,
                    "expires_on": renewed.expires_on.isoformat(),
                    "basis": renewed.basis,
                },
            )
        ]
    labels = {"dossier": "dossier", "certificate": "certificat"}
    found = ", ".join(
        f"{labels[d.kind]} {d.reference}"
        + (f" valide jusqu'au {d.expires_on:%d/%m/%Y}" if d.expires_on else "")
        for d in facts.holder_duplicates
    )
    basis = {
        "mrz": "même nom, prénoms et date de naissance",
        "name_email": "même nom, prénom et e-mail",
    }
    message = f"Le porteur a déjà : {found} ({basis[facts.holder_duplicates[0].basis]})."
    certificates = [d for d in facts.holder_duplicates if d.kind == "certificate"]
    if certificates:
        window = rules.holder.renewal_window_days
        dated = [d.expires_on for d in certificates if d.expires_on is not None]
        message += " Il n'est pas possible d'avoir plusieurs certificats à son nom : "
        if dated and window and len(facts.holder_duplicates) == 1:
            opens = min(dated) - dt.timedelta(days=window)
            message += (
                f"renouvellement possible à partir du {opens:%d/%m/%Y} ({window} jours avant "
                "son expiration) ; avant, contactez support@certeurope.fr."
            )
        else:
            message += "pour un renouvellement, contactez support@certeurope.fr."
    return [
        _result(
            "holder.unique",
            Outcome.FAIL,
            message,
            person=PersonRole.HOLDER,
            extracted=[
                {"kind": d.kind, "reference": d.reference, "basis": d.basis}
                for d in facts.holder_duplicates
            ],
        )
    ]


@rule("mandate.valid")
def mandate_valid(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    mandataire = facts.person(PersonRole.MANDATAIRE)
    if mandataire is None:
        return [_result("mandate.valid", Outcome.PASS, "Sans objet : aucun mandataire.")]
    docs = facts.documents_of("mandate")
    if not docs:
        if mandataire.has_valid_mandate:
            return [
                _result(
                    "mandate.valid",
                    Outcome.MANUAL,
                    "Mandat déclaré déjà en possession de CertEurope : vérifier qu'il est valide.",
                    person=PersonRole.MANDATAIRE,
                    declared={"has_valid_mandate": True},
                )
            ]
        return [_missing("mandate.valid", "mandat", PersonRole.MANDATAIRE)]
    doc = min(docs, key=lambda d: (d.mandate is None, d.id))
    months = rules.mandate.max_age_months
    if doc.extraction_failed:
        return [
            _result(
                "mandate.valid",
                Outcome.ERROR,
                "La lecture du mandat a échoué ; relancer les contrôles.",
                document=doc,
            )
        ]
    mandate = doc.mandate
    if mandate is None or mandate.date is None:
        return [
            _result(
                "mandate.valid",
                Outcome.MANUAL,
                "Date du mandat non lue : vérifier sa date et sa signature.",
                document=doc,
            )
        ]
    evidence: dict[str, Any] = {
        "document": doc,
        "extracted": {
            "date": mandate.date.isoformat(),
            "has_signature_field": mandate.has_signature_field,
            "signing_time": mandate.signing_time,
        },
        "evaluation_date": on.isoformat(),
        "max_age_months": months,
    }
    if mandate.date < on - relativedelta(months=months):
        return [
            _result(
                "mandate.valid",
                Outcome.FAIL,
                f"Mandat du {_fr_date(mandate.date)} : plus de {months} mois au {_fr_date(on)}.",
                **evidence,
            )
        ]
    if not mandate.has_signature_field:
        if not rules.mandate.require_signature_field:
            return [
                _result(
                    "mandate.valid",
                    Outcome.PASS,
                    f"Mandat du {_fr_date(mandate.date)}, de moins de {months} mois.",
                    **evidence,
                )
            ]
        return [
            _result(
                "mandate.valid",
                Outcome.MANUAL,
                f"Mandat du {_fr_date(mandate.date)} sans signature électronique détectée : "
                "vérifier la signature.",
                **evidence,
            )
        ]
    legal_representative = facts.person(PersonRole.LEGAL_REPRESENTATIVE) or (
        facts.person(PersonRole.HOLDER) if facts.holder_is_legal_representative else None
    )
    verdict = judge_signatures(
        mandate.signatures,
        rules.mandate,
        mandate_date=mandate.date,
        on=on,
        legal_representative=legal_representative,
        mandataire=mandataire,
    )
    evidence["extracted"]["signature_valid"] = verdict.intact
    evidence["extracted"]["signatures"] = [s.to_evidence() for s in verdict.signatures]
    evidence["trust_store"] = rules.mandate.trust_store
    if verdict.outcome == Outcome.PASS:
        message = (
            f"Mandat du {_fr_date(mandate.date)}, de moins de {months} mois, {verdict.message}."
        )
    elif verdict.outcome == Outcome.FAIL:
        message = f"Mandat du {_fr_date(mandate.date)} : signature invalide — {verdict.message}."
    else:
        message = f"Mandat du {_fr_date(mandate.date)} : vérifier — {verdict.message}."
    return [_result("mandate.valid", verdict.outcome, message, **evidence)]


@rule("payment.settled")
def payment_settled(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    if facts.payment_method == "card":
        if facts.payment_transaction_id:
            return [
                _result(
                    "payment.settled",
                    Outcome.PASS,
                    f"Paiement par carte, transaction {facts.payment_transaction_id}.",
                    declared=facts.payment_transaction_id,
                )
            ]
        return [
            _result(
                "payment.settled",
                Outcome.FAIL,
                "Paiement par carte sans identifiant de transaction.",
                declared=None,
            )
        ]
    if facts.payment_method == "transfer":
        proofs = facts.documents_of("payment_proof")
        if not proofs:
            return [_missing("payment.settled", "preuve de virement")]
        return [
            _result(
                "payment.settled",
                Outcome.MANUAL,
                "Virement : confirmer la réception des fonds (preuve jointe).",
                document=proofs[0],
            )
        ]
    return [
        _result(
            "payment.settled",
            Outcome.FAIL,
            f"Mode de paiement inconnu « {facts.payment_method} ».",
            declared=facts.payment_method,
        )
    ]


def _euros(amount: decimal.Decimal) -> str:
    return f"{amount:.2f}".replace(".", ",") + " €"


@rule("payment.amount")
def payment_amount(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    """The amount paid is the offer's price in the offers table, plus the pickup surcharge
    for « À retirer en personne » (guide, section 4)."""
    order = facts.order
    price = order.price_of(order.offer_code)
    pickup = order.delivery_mode == "pickup"
    surcharge_code = rules.payment.pickup_surcharge_offer
    surcharge = order.price_of(surcharge_code) if pickup else decimal.Decimal(0)
    evidence: dict[str, Any] = {
        "declared": f"{order.amount_paid:.2f}" if order.amount_paid is not None else None,
        "offer": order.offer_code,
        "delivery_mode": order.delivery_mode,
    }
    if price is None or surcharge is None:
        absent = order.offer_code if price is None else surcharge_code
        return [
            _result(
                "payment.amount",
                Outcome.WARN,
                f"Offre « {absent} » absente de la table des offres : montant non comparé, "
                "vérifier le prix.",
                **evidence,
            )
        ]
    expected = price + surcharge
    evidence["expected"] = f"{expected:.2f}"
    detail = f"offre {order.offer_code} {_euros(price)}" + (
        f" + retrait en personne {_euros(surcharge)}" if pickup else ""
    )
    if order.amount_paid is None:
        return [
            _result(
                "payment.amount",
                Outcome.FAIL,
                f"Montant payé absent ; attendu {_euros(expected)} ({detail}).",
                **evidence,
            )
        ]
    if order.amount_paid != expected:
        return [
            _result(
                "payment.amount",
                Outcome.FAIL,
                f"Montant payé {_euros(order.amount_paid)}, attendu {_euros(expected)} ({detail}).",
                **evidence,
            )
        ]
    return [
        _result(
            "payment.amount",
            Outcome.PASS,
            f"Montant payé {_euros(order.amount_paid)} conforme ({detail}).",
            **evidence,
        )
    ]


@rule("delivery.holder_address")
def holder_address(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    """« Expédié en courrier suivi à l'adresse du porteur » (guide, section 8): never to the
    organisation's address in its place."""
    if facts.order.delivery_mode != "shipping":
        return [
            _result(
                "delivery.holder_address",
                Outcome.PASS,
                "Sans objet : certificat à retirer en personne.",
            )
        ]
    holder = facts.person(PersonRole.HOLDER)
    address = dict(holder.address) if holder is not None else {}
    missing = [f for f in rules.delivery.shipping_address_fields if not address.get(f, "").strip()]
    if missing:
        labels = ", ".join(FIELD_LABELS_FR[f"address.{f}"] for f in missing)
        return [
            _result(
                "delivery.holder_address",
                Outcome.FAIL,
                f"Porteur : adresse postale incomplète ({labels} manquant) ; la clé USB n'est "
                "expédiée qu'à l'adresse du porteur.",
                person=PersonRole.HOLDER,
                declared=address,
                missing_fields=missing,
            )
        ]
    return [
        _result(
            "delivery.holder_address",
            Outcome.PASS,
            "Expédition à l'adresse du porteur : "
            + ", ".join(v for k, v in sorted(address.items()) if k in ("line1", "postcode", "city"))
            + ".",
            person=PersonRole.HOLDER,
        )
    ]


def required_signers(facts: DossierFacts, rules: Rules) -> list[str]:
    return [
        req.signer
        for req in rules.signatures
        if facts.applies(req.when, req.unless) and facts.person(req.signer) is not None
    ]


@rule("signatures.complete")
def signatures_complete(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    latest = {s.signer: s for s in facts.signatures}
    problems, done = [], []
    for signer in required_signers(facts, rules):
        event = latest.get(signer)
        if event is None and facts.holder_is_legal_representative:
            # The holder who is the legal representative signs once, under either role.
            twin = {
                PersonRole.HOLDER: PersonRole.LEGAL_REPRESENTATIVE,
                PersonRole.LEGAL_REPRESENTATIVE: PersonRole.HOLDER,
            }.get(signer)
            event = latest.get(twin) if twin else None
        if event is None:
            problems.append(
                _result(
                    "signatures.complete",
                    Outcome.PENDING,
                    f"{_who(signer)} : signature GoSign attendue.",
                    person=signer,
                )
            )
            continue
        evidence: dict[str, Any] = {
            "person": signer,
            "extracted": {
                "status": event.status,
                "identity_verification": event.identity_verification,
                "evidence_id": event.evidence_id,
                "at": event.at,
            },
        }
        if event.status != "signed":
            state = {"refused": "refusée", "expired": "expirée"}.get(event.status, event.status)
            problems.append(
                _result(
                    "signatures.complete",
                    Outcome.FAIL,
                    f"{_who(signer)} : signature {state} (preuve {event.evidence_id}).",
                    **evidence,
                )
            )
        elif event.identity_verification == "self_id_failed":
            problems.append(
                _result(
                    "signatures.complete",
                    Outcome.FAIL,
                    f"{_who(signer)} : échec de la vérification d'identité par reconnaissance "
                    f"faciale (preuve {event.evidence_id}).",
                    **evidence,
                )
            )
        elif event.identity_verification != "self_id_passed":
            problems.append(
                _result(
                    "signatures.complete",
                    Outcome.PENDING,
                    f"{_who(signer)} : document signé, vérification d'identité attendue.",
                    **evidence,
                )
            )
        else:
            done.append(evidence["extracted"] | {"signer": signer})
    if problems:
        return problems
    return [
        _result(
            "signatures.complete",
            Outcome.PASS,
            "Tous les signataires ont signé et passé la vérification d'identité ("
            + ", ".join(f"{_who(d['signer']).lower()} : {d['evidence_id']}" for d in done)
            + ").",
            extracted=done,
        )
    ]


@rule("revision.sensitive_changes")
def revision_sensitive_changes(facts: DossierFacts, rules: Rules, on: dt.date) -> list[RuleResult]:
    """A re-export changed what must not change silently (the holder's identity after the RA
    asked for documents, the SIREN of a dossier with a signed mandate): applied, and left to
    an operator to judge."""
    if not facts.sensitive_changes:
        return [
            _result(
                "revision.sensitive_changes",
                Outcome.PASS,
                "Aucune modification sensible dans la dernière version du client.",
            )
        ]
    return [
        _result(
            "revision.sensitive_changes",
            Outcome.MANUAL,
            "La dernière version du client modifie : "
            + " ; ".join(facts.sensitive_changes)
            + ". Vérifier que la personne et l'organisme restent ceux des pièces contrôlées.",
            extracted=list(facts.sensitive_changes),
        )
    ]


def _check_complete() -> None:
    missing = [r for r in RULE_IDS if r not in CATALOGUE]
    if missing:
        raise RuntimeError(f"rules without an implementation: {missing}")


_check_complete()
