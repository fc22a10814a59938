"""From the text of a registry extract (text layer or OCR) to its facts.

Both sources lay a row out differently: a PDF text layer gives "Forme juridique" and its
value on two lines, OCR gives them on one. So the text is first cut into rows
(label, value) with a table of known labels, matched on folded text so that lost accents
and small OCR slips do not matter, and values are then cut from the original text.
Pure functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ra_workbench.extraction.kbis.dates import FoundDate, find_date_after
from ra_workbench.extraction.kbis.identifiers import siren_is_valid
from ra_workbench.extraction.kbis.normalize import Folded, fold, levenshtein, squeeze

KINDS = ("kbis", "extrait_k", "rne", "sirene", "unknown")

# Labels, as regular expressions over folded text, by field. Longest first where one is
# the prefix of another ("nom commercial" before "nom").
_LABELS: tuple[tuple[str, str], ...] = (
    ("rcs_number", r"immatriculation\s*au\s*r\.?\s?c\.?\s?s\.?\s*[,.]?\s*numero"),
    ("registered_on", r"date\s*d'?\s*immatriculation(?:\s*au\s*rne)?"),
    ("name", r"denomination\s*ou\s*raison\s*sociale"),
    ("name", r"denomination\s*sociale|raison\s*sociale"),
    ("name", r"denomination"),
    ("trade_name", r"nom\s*commercial"),
    ("person_name", r"nom\s*[,.;]?\s*pr.?noms?"),
    ("usage_name", r"nom\s*d'?\s*usage"),
    ("surname", r"nom(?:\s*de\s*naissance)?"),
    ("given_names", r"pr.?noms?"),
    ("legal_form", r"forme\s*juridique|categorie\s*juridique"),
    ("capital", r"capital\s*social"),
    ("address", r"adresse\s*du\s*siege|siege\s*social"),
    ("establishment_address", r"adresse\s*de\s*l'?\s*etablissement"),
    ("other_address", r"adresse"),
    ("role", r"qualite"),
    ("birth", r"date\s*et\s*lieu\s*de\s*naissance|date\s*de\s*naissance"),
    ("nationality", r"nationalite"),
    ("domicile", r"domicile\s*personnel|domicile"),
    ("siren", r"(?:identifiant\s*|n[°o]?\s*)?siren"),
    ("siret", r"(?:identifiant\s*|n[°o]?\s*)?siret(?:\s*du\s*siege)?"),
    ("permanent_representative", r"representant\s*permanent"),
    ("other", r"capital\s*social|duree\s*de\s*la\s*personne\s*morale|date\s*de\s*cloture[^0-9]*"),
    (
        "other",
        r"activite(?:\(?s\)?)?\s*(?:principale\s*)?exercee(?:\(?s\)?)?|activite\s*principale",
    ),
    ("other", r"date\s*de\s*(?:commencement|creation)[a-z' ]*"),
    ("other", r"origine\s*du\s*fonds[a-z' ]*|mode\s*d'?\s*exploitation"),
)
_LABEL_RE = [(name, re.compile(rf"(?:{pattern})\s*:?(?=\s|$|:)")) for name, pattern in _LABELS]

# Roles in the management section, canonical spelling. OCR'd role lines are matched to
# these with a small edit distance.
ROLES = (
    "Président",
    "Président du conseil d'administration",
    "Président du conseil de surveillance",
    "Président du directoire",
    "Vice-président",
    "Directeur général",
    "Directeur général délégué",
    "Directeur général unique",
    "Gérant",
    "Co-gérant",
    "Administrateur",
    "Membre du directoire",
    "Membre du conseil de surveillance",
    "Commissaire aux comptes titulaire",
    "Commissaire aux comptes suppléant",
    "Associé",
    "Associé unique",
    "Associé gérant",
    "Associé indéfiniment responsable",
    "Liquidateur",
    "Entrepreneur individuel",
)
_ROLES_FOLDED = {re.sub(r"[^a-z]", "", fold(r)): r for r in ROLES}

_MANAGEMENT_START = re.compile(
    r"^(?:gestion\W*direction|gestion\W*administration|representants?\s*legaux|"
    r"dirigeants?(?:\s*et\s*representants?)?$|representants?$)"
)
_MANAGEMENT_END = re.compile(
    r"^(?:renseignements\s*relatifs|etablissement|le\s*greffier|fin\s*de\s*l|"
    r"le\s*present\s*document|observations|mentions)"
)

_SIREN_DIGITS = r"[0-9oOlI|]{3}\s?[0-9oOlI|]{3}\s?[0-9oOlI|]{3}"
_SIREN_AT_START = re.compile(rf"^(?P<siren>{_SIREN_DIGITS})(?![0-9])")
_RCS_TOWN = re.compile(
    r"r\s?\.?\s?c\s?\.?\s?s\s?\.?\s+(?P<town>[a-z][a-z' \-]*?)\s*(?=$|-\s|[0-9(]|\s[ab]\s)"
)
_OLD_RCS = re.compile(
    rf"r\s?\.?\s?c\s?\.?\s?s\s?\.?\s+(?P<town>[a-z][a-z' \-]*?)\s+[ab]\s*(?P<siren>{_SIREN_DIGITS})"
    r"(?![0-9])"
)
_SIREN_THEN_RCS = re.compile(rf"(?P<siren>{_SIREN_DIGITS})\s*r\s?\.?\s?c\s?\.?\s?s\b")
_PENDING = re.compile(r"en\s*cours\s*d'?\s*attribution")
_GREFFE = re.compile(
    r"greffe\s*du\s*tribunal\s*(?:de\s*commerce|judiciaire|mixte\s*de\s*commerce|de\s*grande"
    r"\s*instance)?\s*(?:de|d'|du)\s*(?P<town>.+?)\s*(?=$|code\s|n[°o]\s|https?:|page\s)"
)
_DATE_LABELS = (
    r"(?<![a-z])jour\s*(?:au|du)(?![a-z])",
    r"(?<![a-z])(?:a|en)\s*la\s*date\s*du(?![a-z])",
    r"(?<![a-z])situation\s*au(?![a-z])",
    r"(?<![a-z])(?:etabli|delivre)e?\s*le(?![a-z])",
)
_OCR_DIGITS = str.maketrans({"o": "0", "O": "0", "l": "1", "I": "1", "|": "1"})


@dataclass(frozen=True)
class Row:
    label: str | None  # a key of _LABELS, or None for a line without a known label
    value: str  # original text, squeezed
    line: str  # the whole original line(s), squeezed


@dataclass(frozen=True)
class ManagerReading:
    role: str
    surname: str
    given_names: tuple[str, ...]
    legal_person: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "surname": self.surname,
            "given_names": list(self.given_names),
            "legal_person": self.legal_person,
        }


@dataclass
class ParsedExtract:
    """Everything read off the text of one extract. None where not found."""

    kind: str = "unknown"
    date: date | None = None
    date_written: str | None = None  # words | numeric | iso
    siren: str | None = None
    siren_pending: bool = False
    rcs_number: str | None = None
    greffe: str | None = None
    name: str | None = None
    legal_form: str | None = None
    address: str | None = None
    managers: list[ManagerReading] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def siren_valid(self) -> bool | None:
        return None if self.siren is None else siren_is_valid(self.siren)


# -- rows ---------------------------------------------------------------------------------------


def _match_label(folded: str) -> tuple[str, int] | None:
    """The label a (folded) line starts with, and where its value starts."""
    best: tuple[str, int] | None = None
    for name, regex in _LABEL_RE:
        m = regex.match(folded)
        if m and (best is None or m.end() > best[1]):
            best = (name, m.end())
    return best


def _is_heading(folded: str) -> bool:
    return bool(
        _MANAGEMENT_START.match(folded)
        or _MANAGEMENT_END.match(folded)
        or folded.startswith(("renseignements", "immatriculation", "identite", "entreprise"))
    )


def to_rows(text: str) -> list[Row]:
    """Label/value rows; a label alone on its line takes the next line as its value
    unless that line is itself a label, a heading or a role."""
    lines = [squeeze(line) for line in text.splitlines()]
    lines = [line for line in lines if line]
    rows: list[Row] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        folded = Folded.of(line)
        index += 1
        found = _match_label(folded.text)
        if found is None:
            rows.append(Row(None, line, line))
            continue
        name, end = found
        value = folded.original_after(end).lstrip(" :").strip()
        if not value and index < len(lines):
            following = fold(lines[index])
            if (
                _match_label(following) is None
                and not _is_heading(following)
                and role_of(lines[index]) is None
            ):
                value = lines[index]
                line = f"{line} {value}"
                index += 1
        rows.append(Row(name, value, line))
    return rows


def role_of(line: str) -> str | None:
    """The canonical role a line names ("Presideni" → "Président"), else None."""
    if len(line) > 60 or len(re.findall(r"[0-9]", line)) > 1:
        return None  # one digit may be an OCR'd "l"; an address or a date has more
    key = re.sub(r"[^a-z]", "", fold(line))
    if not key:
        return None
    if key in _ROLES_FOLDED:
        return _ROLES_FOLDED[key]
    allowed = max(1, len(key) // 10)
    best = [
        role
        for folded, role in _ROLES_FOLDED.items()
        if levenshtein(key, folded, limit=allowed) <= allowed
    ]
    return best[0] if len(best) == 1 else None


# -- fields ---------------------------------------------------------------------------------


def detect_kind(text: str) -> str:
    t = squeeze(fold(text))
    if re.search(r"avis\s*de\s*situation", t) and re.search(r"sirene|insee", t):
        return "sirene"
    if re.search(r"extrait\s*k\s*[-]?\s*b\s*[il1|!]\s*s", t):
        return "kbis"
    if re.search(r"registre\s*national\s*des\s*entreprises", t) and re.search(
        r"attestation|extrait", t
    ):
        return "rne"
    if re.search(r"(?<![a-z])extrait\s*k(?![a-z0-9])", t):
        return "extrait_k"
    if re.search(r"registre\s*du\s*commerce\s*et\s*des\s*societes", t) and re.search(r"extrait", t):
        return "extrait_k" if "personne physique" in t else "kbis"
    return "unknown"


def split_person_name(value: str) -> tuple[str, tuple[str, ...]]:
    """ "MOREL Paul, Henri" → ("MOREL", ("Paul", "Henri")): the surname is the leading run
    of capitals. All in capitals, a comma separates them, else the last word is the given
    name."""
    value = squeeze(value).strip(" ,;")
    tokens = value.replace(",", " , ").split()
    surname_tokens: list[str] = []
    for token in tokens:
        letters = [c for c in token if c.isalpha()]
        if letters and all(c.isupper() for c in letters):
            surname_tokens.append(token)
        else:
            break
    rest = tokens[len(surname_tokens) :]
    if not rest:
        if "," in value:
            surname, _, given = value.partition(",")
            return squeeze(surname), _given(given)
        if len(surname_tokens) > 1:
            return " ".join(surname_tokens[:-1]), (surname_tokens[-1],)
        return value, ()
    return " ".join(surname_tokens), _given(" ".join(rest))


def _given(text: str) -> tuple[str, ...]:
    text = text.strip(" ,;")
    parts = text.split(",") if "," in text else text.split()
    return tuple(p.strip() for p in parts if p.strip())


def _siren_from(value: str) -> str | None:
    digits = re.sub(r"\s", "", value.translate(_OCR_DIGITS))
    return digits if len(digits) == 9 and digits.isdigit() else None


def _town(folded: Folded, start: int, end: int) -> str:
    return squeeze(folded.original[folded.origin(start) : folded.origin(end - 1) + 1]).strip(" -,.")


def _read_siren(parsed: ParsedExtract, rows: list[Row]) -> None:
    """SIREN and greffe, preferring the RCS row, then any RCS number, then "SIREN :"."""
    for row in rows:
        if row.label != "rcs_number":
            continue
        value = Folded.of(row.value)
        if _PENDING.search(value.text):
            parsed.siren_pending = True
            parsed.rcs_number = "En cours d'attribution"
            return
        m = _SIREN_AT_START.match(value.text) or _OLD_RCS.search(value.text)
        if m:
            parsed.siren = _siren_from(m["siren"])
            parsed.rcs_number = row.value
            town = _RCS_TOWN.search(value.text)
            if town:
                parsed.greffe = _town(value, town.start("town"), town.end("town"))
            return
    for row in rows:
        line = Folded.of(row.line)
        m = _OLD_RCS.search(line.text) or _SIREN_THEN_RCS.search(line.text)
        if m:
            parsed.siren = _siren_from(m["siren"])
            parsed.rcs_number = row.value
            town = _RCS_TOWN.search(line.text, m.start())
            if town:
                parsed.greffe = _town(line, town.start("town"), town.end("town"))
            return
    for label in ("siren", "siret"):
        for row in rows:
            if row.label != label:
                continue
            value = Folded.of(row.value)
            if _PENDING.search(value.text):
                parsed.siren_pending = True
                return
            m = _SIREN_AT_START.match(value.text)
            if m:
                parsed.siren = _siren_from(m["siren"])
                return


def _read_greffe(parsed: ParsedExtract, text: str) -> None:
    if parsed.greffe:
        return
    for line in text.splitlines():
        folded = Folded.of(squeeze(line))
        m = _GREFFE.search(folded.text)
        if m:
            parsed.greffe = _town(folded, m.start("town"), m.end("town"))
            return
    for line in text.splitlines():
        folded = Folded.of(squeeze(line))
        m = _RCS_TOWN.search(folded.text)
        if m:
            parsed.greffe = _town(folded, m.start("town"), m.end("town"))
            return


def _first(rows: list[Row], *labels: str) -> str | None:
    for label in labels:
        for row in rows:
            if row.label == label and row.value:
                return row.value
    return None


def _legal_form(value: str | None) -> str | None:
    if value is None:
        return None
    return re.sub(r"^[0-9]{4}\s*-\s*", "", value).strip() or None


def _management_rows(rows: list[Row]) -> tuple[list[Row], list[Row]]:
    """(rows before the management section, rows of the management section)."""
    start = end = None
    for index, row in enumerate(rows):
        folded = fold(row.line)
        if start is None and row.label is None and _MANAGEMENT_START.match(folded):
            start = index
        elif start is not None and row.label is None and _MANAGEMENT_END.match(folded):
            end = index
            break
    if start is None:
        return rows, []
    return rows[:start] + rows[end or len(rows) :], rows[start + 1 : end]


@dataclass
class _Pending:
    role: str
    surname: str = ""
    given: tuple[str, ...] = ()
    legal_person: bool = False
    representative: bool = False  # inside a legal person's "Représentant permanent" block
    # "Dénomination" came without its value: OCR moved the value column further down.
    awaiting_name: bool = False

    def named(self) -> bool:
        return bool(self.surname)


def _looks_like_company(value: str) -> bool:
    """A company name as registries print it: capitals, no digits ("EXCO ATLANTIQUE")."""
    letters = [c for c in value if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters) and not re.search(r"\d", value)


def read_managers(rows: list[Row]) -> list[ManagerReading]:
    """Every manager of the management section: a role line (or "Qualité : ..."), then
    "Nom, prénoms" (or "Nom" and "Prénoms"), or "Dénomination" for a company."""
    managers: list[_Pending] = []
    current: _Pending | None = None
    for row in rows:
        role = role_of(row.value) if row.label is None else None
        if row.label == "role" and row.value:
            role = role_of(row.value) or row.value
        if role is not None:
            current = _Pending(role)
            managers.append(current)
            continue
        if current is None:
            if row.label in ("person_name", "surname", "name"):
                current = _Pending("")
                managers.append(current)
            else:
                continue
        if row.label == "permanent_representative":
            current.representative = True
        elif row.label == "name" and not row.value and not current.named():
            current.awaiting_name = True
        elif current.representative or not row.value:
            continue
        elif current.awaiting_name and not current.named() and _looks_like_company(row.value):
            current.surname, current.legal_person = squeeze(row.value), True
        elif row.label == "person_name" and not current.named():
            current.surname, current.given = split_person_name(row.value)
        elif row.label == "surname" and not current.named():
            current.surname = squeeze(row.value)
        elif row.label == "given_names" and not current.given and not current.legal_person:
            current.given = _given(row.value)
        elif row.label == "name" and not current.named():
            current.surname = squeeze(row.value)
            current.legal_person = True
    return [
        ManagerReading(m.role, m.surname, m.given, m.legal_person) for m in managers if m.named()
    ]


def parse_extract(text: str) -> ParsedExtract:
    """The facts of a registry extract from its text."""
    parsed = ParsedExtract(kind=detect_kind(text))
    found: FoundDate | None = find_date_after(text, _DATE_LABELS)
    if found is not None:
        parsed.date, parsed.date_written = found.value, found.written
    rows = to_rows(text)
    main, management = _management_rows(rows)
    _read_siren(parsed, main)
    _read_greffe(parsed, text)
    parsed.legal_form = _legal_form(_first(main, "legal_form"))
    if parsed.kind == "extrait_k":
        person = _first(main, "person_name")
        trade = _first(main, "trade_name")
        if person:
            surname, given = split_person_name(person)
            parsed.managers = [ManagerReading("Entrepreneur individuel", surname, given)]
        parsed.name = trade or person
        parsed.legal_form = parsed.legal_form or "Entrepreneur individuel"
        parsed.address = _first(main, "establishment_address", "address")
    else:
        parsed.name = _first(main, "name", "trade_name")
        parsed.address = _first(main, "address", "other_address", "establishment_address")
        parsed.managers = read_managers(management)
    if parsed.date is None:
        parsed.flags.append("date_not_found")
    if parsed.siren_pending:
        parsed.flags.append("siren_pending")
    elif parsed.siren is None:
        parsed.flags.append("siren_not_found")
    elif not parsed.siren_valid:
        parsed.flags.append("siren_key_invalid")
    if parsed.kind not in ("unknown", "sirene") and not parsed.managers:
        parsed.flags.append("managers_not_found")
    return parsed
