"""Machine-readable zone maths and formats: pure functions over strings.

ICAO 9303 check digits, the field layout of every MRZ we meet (TD1, TD2, TD3, MRV-A,
MRV-B and the French national identity card of 1988-2021), parsing with every check digit
verified, composing lines from fields (the synthetic generator uses it), and the correction
of OCR confusions that a field's type and its check digit both confirm.

Nothing here reads an image: the reader hands us lines, we hand back facts.
"""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

FILLER = "<"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

TD1 = "TD1"
TD2 = "TD2"
TD3 = "TD3"
MRVA = "MRVA"
MRVB = "MRVB"
FR_CNI = "FR_CNI"
FORMATS = (TD1, TD2, TD3, MRVA, MRVB, FR_CNI)

# (line count, characters per line) of each format.
SHAPES: dict[str, tuple[int, int]] = {
    TD1: (3, 30),
    TD2: (2, 36),
    TD3: (2, 44),
    MRVA: (2, 44),
    MRVB: (2, 36),
    FR_CNI: (2, 36),
}

# Validity of the old French card, counted from its month of issue.
FR_CNI_ADULT_VALIDITY_YEARS = 15
FR_CNI_MINOR_VALIDITY_YEARS = 10
ADULT_AGE = 18

# What OCR engines read instead of an OCR-B glyph, both ways. Letters a digit is mistaken
# for, digits a letter is mistaken for, and what the filler `<` turns into.
DIGIT_FOR_LETTER = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "T": "1",
                    "Z": "2", "B": "8", "S": "5", "G": "6", "A": "4", "E": "3"}  # fmt: skip
LETTER_FOR_DIGIT = {"0": "O", "1": "I", "2": "Z", "3": "E", "4": "A", "5": "S", "6": "G",
                    "7": "T", "8": "B"}  # fmt: skip
LETTER_LOOKALIKES = {"O": "DQ", "D": "O", "Q": "O", "I": "L", "L": "I"}
FILLER_LOOKALIKES = "KSECLXZR"


# ISO 3166-1 alpha-3 codes and the ICAO 9303-3 additions (D for Germany, British nationals,
# UN agencies, EU, refugees/stateless, the UTO specimen state, Kosovo). A misread MRZ can
# pass its check digits by chance (10 % per digit); a country code outside this list is
# the tell-tale sign, so readings are ranked by it (never "repaired" by it).
_STATE_CODES_TEXT = """
ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES BFA BGD
BGR BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL CHN CIV CMR COD
COG COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM DZA ECU EGY ERI ESH ESP EST
ETH FIN FJI FLK FRA FRO FSM GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB GNQ GRC GRD GRL GTM GUF GUM
GUY HKG HMD HND HRV HTI HUN IDN IMN IND IOT IRL IRN IRQ ISL ISR ITA JAM JEY JOR JPN KAZ KEN KGZ
KHM KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE LKA LSO LTU LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX
MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS MWI MYS MYT NAM NCL NER NFK NGA NIC NIU NLD
NOR NPL NRU NZL OMN PAK PAN PCN PER PHL PLW PNG POL PRI PRK PRT PRY PSE PYF QAT REU ROU RUS RWA
SAU SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP SUR SVK SVN SWE SWZ SXM SYC SYR
TCA TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA UGA UKR UMI URY USA UZB VAT VCT VEN
VGB VIR VNM VUT WLF WSM YEM ZAF ZMB ZWE
    D GBD GBN GBO GBP GBS UNA UNK UNO EUE XBA XIM XCC XCE XCO XEC XPO XES XMP XDC XOM XXA XXB
    XXC XXX UTO RKS
"""
STATE_CODES = frozenset(_STATE_CODES_TEXT.split())


def known_state(code: str) -> bool:
    """Whether `code` (fillers stripped) is an issuing state or nationality code."""
    return code.rstrip(FILLER) in STATE_CODES


def char_value(char: str) -> int:
    """ICAO 9303 value of one MRZ character: digits as such, A=10…Z=35, filler 0."""
    if char in DIGITS:
        return ord(char) - ord("0")
    if char in LETTERS:
        return ord(char) - ord("A") + 10
    if char == FILLER:
        return 0
    raise ValueError(f"not an MRZ character: {char!r}")


def check_digit(data: str) -> str:
    """The 7-3-1 weighted check digit of `data`, as a character."""
    weights = (7, 3, 1)
    total = sum(char_value(c) * weights[i % 3] for i, c in enumerate(data))
    return str(total % 10)


def check_digit_holds(data: str, digit: str) -> bool:
    try:
        return check_digit(data) == digit
    except ValueError:
        return False


def is_mrz_text(text: str) -> bool:
    return all(c in ALPHABET for c in text)


# ---------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Span:
    """Characters [start, end) of one line."""

    line: int
    start: int
    end: int

    def take(self, lines: Sequence[str]) -> str:
        return lines[self.line][self.start : self.end]


# Field kinds: what characters a field may hold, which decides the corrections allowed.
NUMERIC = "numeric"  # digits only (dates, check digits)
ALPHA = "alpha"  # letters and fillers (codes, country codes)
ALNUM = "alnum"  # letters, digits and fillers (document numbers, optional data)
NAME = "name"  # letters and fillers, never repaired
SEX = "sex"  # F, M or filler (X tolerated)

NAME_LETTER = "name_letter"  # the reason of a correction that put a letter for a digit
NAME_FIELDS = ("names", "surname", "given_names")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    span: Span
    kind: str


@dataclass(frozen=True)
class CheckSpec:
    """A check digit at `digit` computed over the concatenation of `over`."""

    name: str
    over: tuple[Span, ...]
    digit: Span
    # Fields whose characters this check protects (candidates for correction).
    protects: tuple[str, ...]


@dataclass(frozen=True)
class Layout:
    format: str
    fields: tuple[FieldSpec, ...]
    checks: tuple[CheckSpec, ...]

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)


def _f(name: str, line: int, start: int, end: int, kind: str) -> FieldSpec:
    return FieldSpec(name, Span(line, start, end), kind)


def _c(name: str, over: Iterable[tuple[int, int, int]], digit: tuple[int, int],
       protects: Iterable[str]) -> CheckSpec:  # fmt: skip
    return CheckSpec(
        name,
        tuple(Span(*s) for s in over),
        Span(digit[0], digit[1], digit[1] + 1),
        tuple(protects),
    )


def _two_line_layout(fmt: str, width: int) -> Layout:
    """TD2, TD3 and the visas share one skeleton; they differ by width and final checks."""
    fields = [
        _f("document_code", 0, 0, 2, ALPHA),
        _f("issuing_state", 0, 2, 5, ALPHA),
        _f("names", 0, 5, width, NAME),
        _f("document_number", 1, 0, 9, ALNUM),
        _f("document_number_check", 1, 9, 10, NUMERIC),
        _f("nationality", 1, 10, 13, ALPHA),
        _f("birth_date", 1, 13, 19, NUMERIC),
        _f("birth_date_check", 1, 19, 20, NUMERIC),
        _f("sex", 1, 20, 21, SEX),
        _f("expiry_date", 1, 21, 27, NUMERIC),
        _f("expiry_date_check", 1, 27, 28, NUMERIC),
    ]
    checks = [
        _c("document_number", [(1, 0, 9)], (1, 9), ["document_number", "document_number_check"]),
        _c("birth_date", [(1, 13, 19)], (1, 19), ["birth_date", "birth_date_check"]),
        _c("expiry_date", [(1, 21, 27)], (1, 27), ["expiry_date", "expiry_date_check"]),
    ]
    if fmt == TD3:
        fields += [
            _f("optional_data", 1, 28, 42, ALNUM),
            _f("optional_data_check", 1, 42, 43, NUMERIC),
            _f("composite_check", 1, 43, 44, NUMERIC),
        ]
        checks += [
            _c(
                "personal_number",
                [(1, 28, 42)],
                (1, 42),
                ["optional_data", "optional_data_check"],
            ),
            _c(
                "composite",
                [(1, 0, 10), (1, 13, 20), (1, 21, 43)],
                (1, 43),
                ["optional_data", "composite_check"],
            ),
        ]
    elif fmt == TD2:
        fields += [
            _f("optional_data", 1, 28, 35, ALNUM),
            _f("composite_check", 1, 35, 36, NUMERIC),
        ]
        checks.append(
            _c(
                "composite",
                [(1, 0, 10), (1, 13, 20), (1, 21, 35)],
                (1, 35),
                ["optional_data", "composite_check"],
            )
        )
    else:  # visas: no composite check digit, optional data up to the end
        fields.append(_f("optional_data", 1, 28, width, ALNUM))
    return Layout(fmt, tuple(fields), tuple(checks))


def _td1_layout() -> Layout:
    fields = (
        _f("document_code", 0, 0, 2, ALPHA),
        _f("issuing_state", 0, 2, 5, ALPHA),
        _f("document_number", 0, 5, 14, ALNUM),
        _f("document_number_check", 0, 14, 15, NUMERIC),
        _f("optional_data", 0, 15, 30, ALNUM),
        _f("birth_date", 1, 0, 6, NUMERIC),
        _f("birth_date_check", 1, 6, 7, NUMERIC),
        _f("sex", 1, 7, 8, SEX),
        _f("expiry_date", 1, 8, 14, NUMERIC),
        _f("expiry_date_check", 1, 14, 15, NUMERIC),
        _f("nationality", 1, 15, 18, ALPHA),
        _f("optional_data_2", 1, 18, 29, ALNUM),
        _f("composite_check", 1, 29, 30, NUMERIC),
        _f("names", 2, 0, 30, NAME),
    )
    checks = (
        _c("document_number", [(0, 5, 14)], (0, 14), ["document_number", "document_number_check"]),
        _c("birth_date", [(1, 0, 6)], (1, 6), ["birth_date", "birth_date_check"]),
        _c("expiry_date", [(1, 8, 14)], (1, 14), ["expiry_date", "expiry_date_check"]),
        _c(
            "composite",
            [(0, 5, 30), (1, 0, 7), (1, 8, 15), (1, 18, 29)],
            (1, 29),
            ["optional_data", "optional_data_2", "composite_check"],
        ),
    )
    return Layout(TD1, fields, checks)


def _fr_cni_layout() -> Layout:
    fields = (
        _f("document_code", 0, 0, 2, ALPHA),
        _f("issuing_state", 0, 2, 5, ALPHA),
        _f("surname", 0, 5, 30, NAME),
        _f("administrative_code", 0, 30, 36, ALNUM),
        _f("issue_month", 1, 0, 4, NUMERIC),
        _f("office_code", 1, 4, 7, ALNUM),
        _f("sequence", 1, 7, 12, NUMERIC),
        _f("document_number_check", 1, 12, 13, NUMERIC),
        _f("given_names", 1, 13, 27, NAME),
        _f("birth_date", 1, 27, 33, NUMERIC),
        _f("birth_date_check", 1, 33, 34, NUMERIC),
        _f("sex", 1, 34, 35, SEX),
        _f("final_check", 1, 35, 36, NUMERIC),
    )
    checks = (
        _c(
            "document_number",
            [(1, 0, 12)],
            (1, 12),
            ["issue_month", "office_code", "sequence", "document_number_check"],
        ),
        _c("birth_date", [(1, 27, 33)], (1, 33), ["birth_date", "birth_date_check"]),
        _c(
            "final",
            [(0, 0, 36), (1, 0, 35)],
            (1, 35),
            ["administrative_code", "final_check"],
        ),
    )
    return Layout(FR_CNI, fields, checks)


LAYOUTS: dict[str, Layout] = {
    TD1: _td1_layout(),
    TD2: _two_line_layout(TD2, 36),
    TD3: _two_line_layout(TD3, 44),
    MRVA: _two_line_layout(MRVA, 44),
    MRVB: _two_line_layout(MRVB, 36),
    FR_CNI: _fr_cni_layout(),
}


def detect_format(lines: Sequence[str]) -> str | None:
    """The format a set of lines has the shape of, or None.

    The old French card and TD2 share their 2×36 shape: the card starts with `IDFRA` and its
    second line has no nationality at 10-13 (it holds given names there), while a TD2 line 2
    does. Visas start with `V`.
    """
    lengths = [len(line) for line in lines]
    if lengths == [30, 30, 30]:
        return TD1
    if lengths == [44, 44]:
        return MRVA if lines[0].startswith("V") else TD3
    if lengths == [36, 36]:
        if lines[0].startswith("V"):
            return MRVB
        if lines[0].startswith("IDFRA") and looks_like_fr_cni_line2(lines[1]):
            return FR_CNI
        return TD2
    return None


def looks_like_fr_cni_line2(line: str) -> bool:
    """Old French card's line 2: digits at 0-4 and 7-13, letters/fillers at 13-27.

    A TD2 line 2 holds the nationality at 10-13 and a birth date at 13-19 instead. Scoring by
    counts tolerates a few misread characters.
    """
    if len(line) != 36:
        return False
    cni_score = sum(c in DIGITS for c in line[0:4] + line[7:13] + line[27:34]) + sum(
        c in LETTERS + FILLER for c in line[13:27]
    )
    td2_score = sum(c in DIGITS for c in line[13:20] + line[21:28]) + sum(
        c in LETTERS + FILLER for c in line[10:13]
    )
    return cni_score / 31 > td2_score / 17


# ---------------------------------------------------------------------------- dates


def parse_yymmdd(text: str) -> tuple[int, int, int] | None:
    if len(text) != 6 or not text.isdigit():
        return None
    yy, mm, dd = int(text[0:2]), int(text[2:4]), int(text[4:6])
    if not 1 <= mm <= 12 or not 1 <= dd <= 31:
        return None
    return yy, mm, dd


# An expiry's two-digit year is read in the century that puts it at most this many years
# after the reading day: no identity document is valid that long (a passport 10 years, the
# old French card 15), and a visa that expired in 1996 must not pass for one ending in 2096.
EXPIRY_HORIZON_YEARS = 20


def date_from_yymmdd(text: str, latest: date) -> date | None:
    """The date `text` (YYMMDD) names in the latest century that does not put it after
    `latest`; None when the six characters are not a date of the calendar (000000, month
    13, 31 February) or not digits."""
    parts = parse_yymmdd(text)
    if parts is None:
        return None
    yy, mm, dd = parts
    century = latest.year // 100 * 100
    for year in (century + yy, century - 100 + yy):
        try:
            candidate = date(year, mm, dd)
        except ValueError:
            return None  # 31 February, 31 April: no century makes it a date
        if candidate <= latest:
            return candidate
    return None


def birth_date_from_mrz(text: str, today: date) -> date | None:
    """Two-digit birth years pivot on the reading day: a birth date is never in the future."""
    return date_from_yymmdd(text, today)


def expiry_date_from_mrz(text: str, today: date) -> date | None:
    """Expiry years are read in the century that puts them no more than
    EXPIRY_HORIZON_YEARS after the reading day (`today`, passed in: this is pure code)."""
    return date_from_yymmdd(text, add_years(today, EXPIRY_HORIZON_YEARS))


def impossible_date(text: str) -> bool:
    """Six digits that are no calendar date in any century: 000000, month 13, 31 February.
    (Fillers, which ICAO allows for an unknown birth date, are not impossible, only unknown.)"""
    if len(text) != 6 or not text.isdigit():
        return False
    yy, mm, dd = int(text[0:2]), int(text[2:4]), int(text[4:6])
    if not 1 <= mm <= 12 or not 1 <= dd <= 31:
        return True
    # A leap century (2000) and a common one (1900): 29 February of yy is a date in one of
    # them when yy is a multiple of 4.
    return all(dd > calendar.monthrange(c + yy, mm)[1] for c in (1900, 2000))


def issue_month_from_mrz(text: str, today: date) -> date | None:
    """YYMM of issue → first day of that month, never in the future."""
    if len(text) != 4 or not text.isdigit():
        return None
    yy, mm = int(text[:2]), int(text[2:])
    if not 1 <= mm <= 12:
        return None
    for century in (2000, 1900):
        candidate = date(century + yy, mm, 1)
        if candidate <= today:
            return candidate
    return None


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def derive_fr_cni_expiry(issue_month: date, birth: date | None) -> date:
    """End of validity of an old French card, which prints none.

    15 years from the month of issue for an adult at issue, 10 for a minor (unknown birth:
    treated as a minor, the shorter validity). The card only says the month, so we answer
    the earliest day the card can expire: the last day before that month, N years on. Age is
    taken on the first of the issue month, again the conservative side.
    """
    adult = birth is not None and age_on(birth, issue_month) >= ADULT_AGE
    years = FR_CNI_ADULT_VALIDITY_YEARS if adult else FR_CNI_MINOR_VALIDITY_YEARS
    start = add_years(issue_month, years)
    previous_month = start.month - 1 or 12
    year = start.year if start.month > 1 else start.year - 1
    return date(year, previous_month, calendar.monthrange(year, previous_month)[1])


# ---------------------------------------------------------------------------- names


@dataclass(frozen=True)
class NameReading:
    surname: str
    given_names: tuple[str, ...]
    normalised: bool  # a trailing filler run was normalised (see normalise_name_field)
    confidence: float  # 1.0 when the field has a clean name shape


def normalise_name_field(text: str) -> tuple[str, list[int]]:
    """Turn filler look-alikes back into fillers where the structure makes it unambiguous.

    No name holds three consecutive fillers: after the first `<<<`, everything must be
    filler. A short run (≤ 2 characters) of filler look-alikes there (`K`, `S`, `E`… — what
    OCR engines read for `<`) is a misread filler. Letters inside the name are never touched.
    Returns the text and the positions changed.
    """
    start = text.find("<<<")
    if start < 0:
        return text, []
    chars = list(text)
    changed: list[int] = []
    tail = text[start:]
    tokens = [(m_start, token) for m_start, token in _tokens(tail)]
    if any(len(tok) > 2 or any(c not in FILLER_LOOKALIKES for c in tok) for _, tok in tokens):
        return text, []  # something name-like after the end: leave it, the score says so
    for offset, token in tokens:
        for i in range(len(token)):
            chars[start + offset + i] = FILLER
            changed.append(start + offset + i)
    return "".join(chars), changed


def _tokens(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(text):
        if text[i] == FILLER:
            i += 1
            continue
        j = i
        while j < len(text) and text[j] != FILLER:
            j += 1
        out.append((i, text[i:j]))
        i = j
    return out


def name_confidence(text: str) -> float:
    """How much a name field looks like a name: letters and fillers, a clean tail.

    1.0 for a well-formed field; digits, a field that does not start with a letter or stray
    characters after the fillers lower it.
    """
    if not text:
        return 0.0
    score = 1.0
    digits = sum(c in DIGITS for c in text)
    score -= 0.25 * digits
    if text[0] not in LETTERS:
        score -= 0.3
    end = text.find("<<<")
    if end >= 0 and text[end:].strip(FILLER):
        score -= 0.3
    return max(0.0, min(1.0, score))


def split_names(field_text: str) -> tuple[str, tuple[str, ...]]:
    """`SURNAME<<GIVEN<NAMES<<<` → ('SURNAME', ('GIVEN', 'NAMES'))."""
    primary, _, secondary = field_text.partition("<<")
    surname = " ".join(p for p in primary.split(FILLER) if p)
    given = tuple(p for p in secondary.split(FILLER) if p)
    return surname, given


def words(text: str) -> tuple[str, ...]:
    return tuple(p for p in text.split(FILLER) if p)


# ---------------------------------------------------------------------------- correction


@dataclass(frozen=True)
class Correction:
    """One character changed, and why we were allowed to."""

    line: int
    position: int
    read: str
    corrected: str
    field: str
    reason: str  # "check_digit", "country_code", "filler_run", "name_letter"

    @property
    def changes_a_name(self) -> bool:
        """A letter of a name was changed (not a filler run normalised): the name the reading
        gives is our interpretation of what was printed, and says so."""
        return self.field in NAME_FIELDS and self.reason != "filler_run"

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "position": self.position,
            "read": self.read,
            "corrected": self.corrected,
            "field": self.field,
            "reason": self.reason,
        }


def _alternatives(char: str, kind: str) -> tuple[str, bool]:
    """Characters `char` may really be for a field of `kind`, and whether `char` is illegal."""
    if kind == NUMERIC:
        if char in DIGITS:
            return "", False
        return DIGIT_FOR_LETTER.get(char, "0" if char == FILLER else ""), True
    if kind == ALNUM:
        alts = ""
        if char in DIGITS:
            alts = LETTER_FOR_DIGIT.get(char, "")
        elif char in LETTERS:
            alts = DIGIT_FOR_LETTER.get(char, "") + LETTER_LOOKALIKES.get(char, "")
        elif char == FILLER:
            alts = ""
        return alts, False
    return "", False


MAX_OPTIONAL_SUBSTITUTIONS = 2


def _repair_check(
    lines: list[str], layout: Layout, check: CheckSpec, hints: dict[tuple[int, int], str]
) -> list[Correction] | None:
    """Smallest set of confusion substitutions that makes `check` hold; None if ambiguous.

    The characters the OCR engine itself ranked close behind (`hints`) are tried first, on
    their own, at every position the check digit covers (a name's letters too, where a
    check covers them, as the old French card's final one does): a single check digit
    cannot choose between the many look-alike repairs of an alphanumeric field (every O↔0
    swap changes the sum by a multiple of 4), the engine's second choice can. Only then the
    generic look-alike table, on the fields the check protects. (A composite check digit
    cannot settle rival repairs of the document number: its weights line up with the
    number's own check, so every repair that satisfies one satisfies both.)
    """
    if hints:
        hinted = _search_repairs(lines, layout, check, hints, hinted_only=True)
        if hinted is not None:
            return hinted
    return _search_repairs(lines, layout, check, hints, hinted_only=False)


def _field_at(layout: Layout, line: int, pos: int) -> FieldSpec | None:
    for spec in layout.fields:
        if spec.span.line == line and spec.span.start <= pos < spec.span.end:
            return spec
    return None


KIND_CHARACTERS = {
    NUMERIC: DIGITS,
    ALPHA: LETTERS + FILLER,
    NAME: LETTERS + FILLER,
    SEX: "FMX" + FILLER,
    ALNUM: ALPHABET,
}


def _search_repairs(
    lines: list[str],
    layout: Layout,
    check: CheckSpec,
    hints: dict[tuple[int, int], str],
    *,
    hinted_only: bool,
) -> list[Correction] | None:
    positions: list[tuple[int, int, str, str, bool]] = []  # line, pos, field, alts, forced
    seen: set[tuple[int, int]] = set()
    for name in check.protects:
        spec = layout.field(name)
        for pos in range(spec.span.start, spec.span.end):
            seen.add((spec.span.line, pos))
            char = lines[spec.span.line][pos]
            alts, illegal = _alternatives(char, spec.kind)
            extra = hints.get((spec.span.line, pos), "")
            allowed = DIGITS if spec.kind == NUMERIC else ALPHABET
            pool = (extra + alts) if illegal or not hinted_only else extra
            alts = "".join(dict.fromkeys(a for a in pool if a != char and a in allowed))
            if alts or illegal:
                positions.append((spec.span.line, pos, name, alts, illegal))
    if hinted_only:
        # The engine's second choices on the rest of what the check digit covers.
        for span in check.over:
            for pos in range(span.start, span.end):
                extra = hints.get((span.line, pos), "")
                covered = _field_at(layout, span.line, pos)
                if not extra or (span.line, pos) in seen or covered is None:
                    continue
                seen.add((span.line, pos))
                char = lines[span.line][pos]
                allowed = KIND_CHARACTERS[covered.kind]
                alts = "".join(dict.fromkeys(a for a in extra if a != char and a in allowed))
                if alts:
                    positions.append((span.line, pos, covered.name, alts, False))

    forced = [p for p in positions if p[4]]
    optional = [p for p in positions if not p[4]]
    if any(not p[3] for p in forced):
        return None
    # A repair may not break a check digit that held (a second choice in the document
    # number, seen from the composite, is refused by the number's own check digit).
    held = [c for c in layout.checks if c is not check and _check_holds(lines, c)]
    for budget in range(MAX_OPTIONAL_SUBSTITUTIONS + 1):
        solutions: list[list[tuple[int, int, str, str]]] = []
        for chosen in itertools.combinations(optional, budget):
            slots = forced + list(chosen)
            for replacement in itertools.product(*(p[3] for p in slots)):
                trial = [list(line) for line in lines]
                for slot, new in zip(slots, replacement, strict=True):
                    trial[slot[0]][slot[1]] = new
                joined = ["".join(t) for t in trial]
                if (
                    _check_holds(joined, check)
                    and _numeric_fields_plausible(joined, layout, check)
                    and all(_check_holds(joined, c) for c in held)
                ):
                    solutions.append(
                        [(s[0], s[1], s[2], r) for s, r in zip(slots, replacement, strict=True)]
                    )
                    if len(solutions) > 1:
                        break
            if len(solutions) > 1:
                break
        if len(solutions) == 1:
            return [
                Correction(line, pos, lines[line][pos], new, name, "check_digit")
                for line, pos, name, new in solutions[0]
            ]
        if len(solutions) > 1:
            return None  # two readings satisfy the check digit: refuse to choose
    return None


def _check_holds(lines: Sequence[str], check: CheckSpec) -> bool:
    data = "".join(span.take(lines) for span in check.over)
    digit = check.digit.take(lines)
    if digit == FILLER and not data.strip(FILLER):
        return True  # ICAO 9303: empty optional data may carry a filler as check digit
    return check_digit_holds(data, digit)


def _numeric_fields_plausible(lines: Sequence[str], layout: Layout, check: CheckSpec) -> bool:
    for name in check.protects:
        spec = layout.field(name)
        value = spec.span.take(lines)
        if name in ("birth_date", "expiry_date") and (
            parse_yymmdd(value) is None or impossible_date(value)
        ):
            return False
        if name == "issue_month" and not (value.isdigit() and 1 <= int(value[2:]) <= 12):
            return False
    return True


def _letters_only(
    work: list[str], spec: FieldSpec, hints: dict[tuple[int, int], str], reason: str
) -> list[Correction]:
    """A digit in a letters-only field (names, codes, states) is impossible in an MRZ: it is
    read as the letter (or filler) the OCR engine ranked close behind, else as its look-alike
    (0→O, 1→I, 2→Z, 5→S, 8→B…). Each change is recorded, never silent; a digit with neither
    stays, and the field scores low."""
    chars = list(work[spec.span.line])
    out = []
    for pos in range(spec.span.start, spec.span.end):
        read = chars[pos]
        if read not in DIGITS:
            continue
        hinted = (a for a in hints.get((spec.span.line, pos), "") if a in LETTERS + FILLER)
        choice = next(hinted, None) or LETTER_FOR_DIGIT.get(read)
        if choice is None:
            continue
        out.append(Correction(spec.span.line, pos, read, choice, spec.name, reason))
        chars[pos] = choice
    work[spec.span.line] = "".join(chars)
    return out


def _repair_state_code(
    work: list[str], spec: FieldSpec, hints: dict[tuple[int, int], str]
) -> list[Correction]:
    """A state code that does not exist, where the OCR engine's second choice at exactly one
    position gives the only code that does: take it (recorded). Without hints, nothing."""
    line = work[spec.span.line]
    code = spec.span.take(work)
    if known_state(code) or not hints:
        return []
    options = []
    for pos in range(spec.span.start, spec.span.end):
        for alt in hints.get((spec.span.line, pos), ""):
            if alt in LETTERS + FILLER:
                trial = line[:pos] + alt + line[pos + 1 :]
                if known_state(trial[spec.span.start : spec.span.end]):
                    options.append((pos, alt, trial))
    if len(options) != 1:
        return []
    pos, alt, trial = options[0]
    work[spec.span.line] = trial
    return [Correction(spec.span.line, pos, line[pos], alt, spec.name, "country_code")]


def correct_lines(
    lines: Sequence[str],
    fmt: str,
    hints: dict[tuple[int, int], str] | None = None,
) -> tuple[list[str], list[Correction]]:
    """Correct OCR confusions where the field type and its check digit both confirm them.

    For each check digit that fails (or whose field holds a character its type forbids), try
    the smallest set of look-alike substitutions - type-forced ones first, then up to two
    optional ones - and accept it only when exactly one set makes the check digit hold (and
    dates stay dates). `hints` adds, per (line, position), characters an OCR engine ranked
    close behind the one it read. Letters-only fields (names, document code, country codes)
    take a letter for each digit they hold (the engine's, else the look-alike), recorded
    (see _letters_only); a name's trailing filler run is normalised.
    """
    layout = LAYOUTS[fmt]
    work = list(lines)
    corrections: list[Correction] = []
    hints = hints or {}

    for spec in layout.fields:
        if spec.kind == ALPHA:
            corrections.extend(_letters_only(work, spec, hints, "country_code"))
            if spec.name in ("issuing_state", "nationality"):
                corrections.extend(_repair_state_code(work, spec, hints))
        elif spec.kind == NAME:
            corrections.extend(_letters_only(work, spec, hints, NAME_LETTER))
            text = spec.span.take(work)
            fixed, changed = normalise_name_field(text)
            if changed:
                line = work[spec.span.line]
                for offset in changed:
                    corrections.append(
                        Correction(
                            spec.span.line,
                            spec.span.start + offset,
                            text[offset],
                            FILLER,
                            spec.name,
                            "filler_run",
                        )
                    )
                work[spec.span.line] = line[: spec.span.start] + fixed + line[spec.span.end :]
        elif spec.kind == SEX:
            pass

    # Field checks first, the composite last: it covers the fields the others repair.
    ordered = sorted(layout.checks, key=lambda c: c.name in ("composite", "final"))
    for check in ordered:
        needs = not _check_holds(work, check) or any(
            _alternatives(c, layout.field(n).kind)[1]
            for n in check.protects
            if layout.field(n).span != check.digit
            for c in layout.field(n).span.take(work)
        )
        if not needs:
            continue
        if check.name in ("composite", "final") and not all(
            _check_holds(work, other) for other in layout.checks if other is not check
        ):
            continue  # a failing field check already explains it: nothing to confirm with
        fixes = _repair_check(work, layout, check, hints)
        if not fixes:
            continue
        trial = list(work)
        for fix in fixes:
            line = trial[fix.line]
            trial[fix.line] = line[: fix.position] + fix.corrected + line[fix.position + 1 :]
        if any(
            _check_holds(work, other) and not _check_holds(trial, other) for other in layout.checks
        ):
            continue  # the repair would break a check that held: refuse it
        for fix in fixes:
            line = work[fix.line]
            work[fix.line] = line[: fix.position] + fix.corrected + line[fix.position + 1 :]
        corrections.extend(fixes)
    return work, corrections


# ---------------------------------------------------------------------------- parsing


@dataclass
class MrzFacts:
    """What the lines say, every check digit verified."""

    format: str
    lines: tuple[str, ...]
    document_code: str
    issuing_state: str
    document_number: str
    surname: str
    given_names: tuple[str, ...]
    nationality: str
    birth_date: date | None
    sex: str
    expiry_date: date | None
    expiry_derived: bool
    issue_date: date | None
    optional_data: str
    checks: dict[str, bool]
    name_confidence: float
    extra: dict[str, str] = field(default_factory=dict)
    # Why the reading is invalid although its check digits may hold (French, for the
    # operator): an impossible date, an expiry before the birth.
    problems: tuple[str, ...] = ()
    # Check digits that hold over data that is not all fillers: the evidence that the lines
    # are an MRZ at all (an empty optional field's filler check digit proves nothing).
    confirmed_checks: int = 0
    # Fields whose letters the reading changed (a digit read in a name taken as its letter,
    # see Correction.changes_a_name): the names shown are flagged as corrected.
    corrected_fields: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(self.checks.values()) and not self.problems

    @property
    def names_corrected(self) -> bool:
        return any(name in NAME_FIELDS for name in self.corrected_fields)

    @property
    def plausible(self) -> bool:
        """Issuing state and nationality are codes that exist (see STATE_CODES)."""
        return known_state(self.issuing_state) and known_state(self.nationality)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "document_code": self.document_code,
            "issuing_state": self.issuing_state,
            "document_number": self.document_number,
            "surname": self.surname,
            "given_names": list(self.given_names),
            "nationality": self.nationality,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "sex": self.sex,
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else None,
            "expiry_derived": self.expiry_derived,
            "issue_date": self.issue_date.isoformat() if self.issue_date else None,
            "optional_data": self.optional_data,
            "checks": dict(self.checks),
            "valid": self.valid,
            "problems": list(self.problems),
            "names_corrected": self.names_corrected,
            "corrected_fields": list(self.corrected_fields),
            "lines": list(self.lines),
            **({"extra": dict(self.extra)} if self.extra else {}),
        }


def _sex(char: str) -> str:
    return char if char in ("F", "M") else "X"


def _confirmed(lines: Sequence[str], check: CheckSpec) -> bool:
    data = "".join(span.take(lines) for span in check.over)
    return bool(data.strip(FILLER)) and check_digit_holds(data, check.digit.take(lines))


def confirmed_checks(lines: Sequence[str], fmt: str) -> int:
    """How many check digits of `fmt` hold over data that is not all fillers, on `lines` as
    they are (before any repair: a repair makes its check hold by construction)."""
    return sum(_confirmed(lines, check) for check in LAYOUTS[fmt].checks)


def digit_share(lines: Sequence[str], fmt: str) -> float:
    """The share of the positions `fmt` reserves for digits (dates, check digits, the old
    card's number) that hold a digit in `lines`: near 1 for an MRZ even misread (an O for
    a 0 here and there), near a third for lines of ordinary print of the same length."""
    positions = [
        spec.span.take(lines)
        for spec in LAYOUTS[fmt].fields
        if spec.kind == NUMERIC and spec.name != "optional_data_check"
    ]
    text = "".join(positions)
    return sum(c in DIGITS for c in text) / len(text) if text else 0.0


def _date_problems(
    birth_text: str, expiry_text: str | None, birth: date | None, expiry: date | None
) -> list[str]:
    problems = []
    if impossible_date(birth_text):
        problems.append(f"date de naissance impossible ({birth_text})")
    if expiry_text is not None and impossible_date(expiry_text):
        problems.append(f"date d'expiration impossible ({expiry_text})")
    if birth and expiry and expiry <= birth:
        problems.append("date d'expiration antérieure à la date de naissance")
    return problems


def parse_mrz(
    lines: Sequence[str],
    fmt: str | None = None,
    *,
    today: date,
    corrections: Sequence[Correction] = (),
) -> MrzFacts:
    """Parse lines of a known shape (raises ValueError otherwise). Checks are reported, not
    enforced: a failing check digit gives `valid=False`, not an exception; so does a date
    no calendar has (`problems`). `today` is the reading day (birth dates are never after
    it, expiry dates at most EXPIRY_HORIZON_YEARS after it); `corrections` are those that
    made the lines, so that changed names are flagged."""
    lines = tuple(lines)
    fmt = fmt or detect_format(lines)
    if fmt is None:
        raise ValueError("lines have no MRZ shape")
    if SHAPES[fmt] != (len(lines), len(lines[0])) or any(
        len(line) != SHAPES[fmt][1] for line in lines
    ):
        raise ValueError(f"lines do not have the {fmt} shape")
    layout = LAYOUTS[fmt]

    def get(name: str) -> str:
        return layout.field(name).span.take(lines)

    checks = {check.name: _check_holds(lines, check) for check in layout.checks}
    confirmed = sum(_confirmed(lines, check) for check in layout.checks)
    corrected = tuple(dict.fromkeys(c.field for c in corrections if c.changes_a_name))
    if fmt == FR_CNI:
        surname_field = get("surname")
        given_field = get("given_names")
        birth = birth_date_from_mrz(get("birth_date"), today)
        issue = issue_month_from_mrz(get("issue_month"), today)
        expiry = derive_fr_cni_expiry(issue, birth) if issue else None
        problems = _date_problems(get("birth_date"), None, birth, None)
        month = get("issue_month")
        if month.isdigit() and not 1 <= int(month[2:]) <= 12:
            problems.append(f"mois de délivrance impossible ({month})")
        return MrzFacts(
            format=fmt,
            lines=lines,
            document_code=get("document_code").rstrip(FILLER),
            issuing_state=get("issuing_state"),
            document_number=lines[1][0:12],
            surname=" ".join(words(surname_field)),
            given_names=words(given_field),
            nationality="FRA",  # the card is only issued to French nationals
            birth_date=birth,
            sex=_sex(get("sex")),
            expiry_date=expiry,
            expiry_derived=expiry is not None,
            issue_date=issue,
            optional_data=get("administrative_code"),
            checks=checks,
            name_confidence=min(name_confidence(surname_field), name_confidence(given_field)),
            extra={
                "administrative_code": get("administrative_code"),
                "office_code": get("office_code"),
            },
            problems=tuple(problems),
            confirmed_checks=confirmed,
            corrected_fields=corrected,
        )

    names_field = get("names")
    surname, given = split_names(names_field)
    number = get("document_number")
    optional = get("optional_data")
    if fmt == TD1 and lines[0][14] == FILLER and optional.strip(FILLER):
        # ICAO long document number: the rest continues in the optional data, followed by its
        # check digit, and position 14 holds a filler.
        tail = optional.split(FILLER, 1)[0]
        if len(tail) >= 2:
            number = number + tail[:-1]
            checks["document_number"] = check_digit_holds(number, tail[-1])
    birth = birth_date_from_mrz(get("birth_date"), today)
    expiry = expiry_date_from_mrz(get("expiry_date"), today)
    return MrzFacts(
        format=fmt,
        lines=lines,
        document_code=get("document_code").rstrip(FILLER),
        issuing_state=get("issuing_state").rstrip(FILLER) or get("issuing_state"),
        document_number=number.rstrip(FILLER),
        surname=surname,
        given_names=given,
        nationality=get("nationality").rstrip(FILLER) or get("nationality"),
        birth_date=birth,
        sex=_sex(get("sex")),
        expiry_date=expiry,
        expiry_derived=False,
        issue_date=None,
        optional_data=optional,
        checks=checks,
        name_confidence=name_confidence(names_field),
        problems=tuple(_date_problems(get("birth_date"), get("expiry_date"), birth, expiry)),
        confirmed_checks=confirmed,
        corrected_fields=corrected,
    )


# ---------------------------------------------------------------------------- composing


def _fit(text: str, width: int) -> str:
    """Upper-case MRZ text padded with fillers (or truncated) to exactly `width`."""
    cleaned = "".join(c if c in ALPHABET else FILLER for c in text.upper().replace(" ", FILLER))
    return cleaned[:width].ljust(width, FILLER)


def name_field(surname: str, given_names: Sequence[str], width: int) -> str:
    primary = surname.replace(" ", FILLER).replace("-", FILLER)
    secondary = FILLER.join(g.replace(" ", FILLER).replace("-", FILLER) for g in given_names)
    return _fit(f"{primary}<<{secondary}" if secondary else primary, width)


def yymmdd(day: date) -> str:
    return day.strftime("%y%m%d")


def compose_td1(
    *,
    document_code: str,
    issuing_state: str,
    document_number: str,
    birth_date: date,
    sex: str,
    expiry_date: date,
    nationality: str,
    surname: str,
    given_names: Sequence[str],
    optional_data: str = "",
    optional_data_2: str = "",
) -> tuple[str, str, str]:
    number = _fit(document_number, 9)
    line1 = (
        _fit(document_code, 2)
        + _fit(issuing_state, 3)
        + number
        + check_digit(number)
        + _fit(optional_data, 15)
    )
    birth = yymmdd(birth_date)
    expiry = yymmdd(expiry_date)
    head = birth + check_digit(birth) + _fit(sex, 1) + expiry + check_digit(expiry)
    line2 = head + _fit(nationality, 3) + _fit(optional_data_2, 11)
    composite = check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    return line1, line2 + composite, name_field(surname, given_names, 30)


def _compose_two_line(
    fmt: str,
    *,
    document_code: str,
    issuing_state: str,
    document_number: str,
    birth_date: date,
    sex: str,
    expiry_date: date,
    nationality: str,
    surname: str,
    given_names: Sequence[str],
    optional_data: str,
) -> tuple[str, str]:
    width = SHAPES[fmt][1]
    line1 = (
        _fit(document_code, 2)
        + _fit(issuing_state, 3)
        + name_field(surname, given_names, width - 5)
    )
    number = _fit(document_number, 9)
    birth = yymmdd(birth_date)
    expiry = yymmdd(expiry_date)
    line2 = (
        number
        + check_digit(number)
        + _fit(nationality, 3)
        + birth
        + check_digit(birth)
        + _fit(sex, 1)
        + expiry
        + check_digit(expiry)
    )
    if fmt == TD3:
        personal = _fit(optional_data, 14)
        line2 += personal + (check_digit(personal) if personal.strip(FILLER) else FILLER)
        line2 += check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    elif fmt == TD2:
        line2 += _fit(optional_data, 7)
        line2 += check_digit(line2[0:10] + line2[13:20] + line2[21:35])
    else:
        line2 += _fit(optional_data, width - 28)
    return line1, line2


def compose_td2(**fields: Any) -> tuple[str, str]:
    fields.setdefault("optional_data", "")
    return _compose_two_line(TD2, **fields)


def compose_td3(**fields: Any) -> tuple[str, str]:
    fields.setdefault("document_code", "P")
    fields.setdefault("optional_data", "")
    return _compose_two_line(TD3, **fields)


def compose_mrv(fmt: str, **fields: Any) -> tuple[str, str]:
    fields.setdefault("document_code", "V")
    fields.setdefault("optional_data", "")
    return _compose_two_line(fmt, **fields)


def compose_fr_cni(
    *,
    surname: str,
    given_names: Sequence[str],
    birth_date: date,
    sex: str,
    issue_date: date,
    office_code: str,
    sequence: str,
    administrative_code: str = "",
) -> tuple[str, str]:
    """The two lines of an old French card. `office_code` is 3 characters, `sequence` 5
    digits; the document number is YYMM + office + sequence."""
    line1 = "IDFRA" + _fit(surname.replace(" ", FILLER).replace("-", FILLER), 25)
    line1 += _fit(administrative_code, 6)
    number = issue_date.strftime("%y%m") + _fit(office_code, 3) + _fit(sequence, 5)
    # Several given names are separated by a double filler on the card.
    given = _fit("<<".join(g.replace(" ", FILLER).replace("-", FILLER) for g in given_names), 14)
    birth = yymmdd(birth_date)
    line2 = number + check_digit(number) + given + birth + check_digit(birth) + _fit(sex, 1)
    line2 += check_digit(line1 + line2)
    return line1, line2
