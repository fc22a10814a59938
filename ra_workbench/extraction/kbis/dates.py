"""French dates as printed on registry extracts, mandates and payment proofs.

"1er mars 2026", "6 novembre 2024", "6 nov. 2024", "06/11/2024", "06.11.24", "2024-11-06",
and the same after OCR: accents lost or split off ("fevrier", "fe´vrier"), "1er" read as
"ler", "Ier" or "1 er", "0" read as "O" in a year, words run together ("6novembre2024").
Month names are matched with a small edit distance, and only where a day and a year frame
them, so no ordinary word is taken for a month. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from ra_workbench.extraction.kbis.normalize import fold, levenshtein

MONTHS: dict[str, int] = {
    "janvier": 1,
    "fevrier": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "decembre": 12,
}
ABBREVIATIONS: dict[str, int] = {
    "janv": 1,
    "jan": 1,
    "fevr": 2,
    "fev": 2,
    "avr": 4,
    "juil": 7,
    "sept": 9,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
MIN_YEAR, MAX_YEAR = 1900, 2100

# Digits as OCR misreads them inside a day or a year framed by a month name.
_OCR_DIGITS = str.maketrans({"o": "0", "l": "1", "i": "1", "|": "1", "s": "5", "z": "2", "b": "8"})

# "1er" as OCR reads it: 1er, ler, Ier, |er, ter, 1 er.
_DAY_WORD = r"(?P<day>premier|[0-3oli|]?[0-9oli|]\s?(?:er|°|e(?![a-z]))?|[li|t]\s?er)"
_MONTH_WORD = r"(?P<month>[a-z][a-z0-9]{1,9})\.?"
_YEAR4 = r"(?P<year>[12oli|][0-9oslzb]{3}|[12]\s[0-9]{3}|[12][0-9]\s[0-9]{2})"
_WORDS = re.compile(
    rf"(?<![a-z0-9]){_DAY_WORD}\s*{_MONTH_WORD}\s*{_YEAR4}(?![0-9])",
)
_NUMERIC = re.compile(
    r"(?<![0-9])(?P<day>[0-3]?[0-9])\s?(?P<sep>[/.\-])\s?(?P<month>[01]?[0-9])\s?(?P=sep)\s?"
    r"(?P<year>[0-9]{4}|[0-9]{2})(?![0-9])"
)
_ISO = re.compile(
    r"(?<![0-9])(?P<year>[12][0-9]{3})-(?P<month>[01][0-9])-(?P<day>[0-3][0-9])(?![0-9])"
)


@dataclass(frozen=True)
class FoundDate:
    """A date found in a text, with its span in the folded text."""

    value: date
    start: int
    end: int
    written: str  # words | numeric | iso


def month_number(word: str) -> int | None:
    """The month a (folded) word names, tolerating one or two OCR errors; None when the
    word is no month or could be two of them."""
    word = word.rstrip(".")
    if word in MONTHS:
        return MONTHS[word]
    if word in ABBREVIATIONS:
        return ABBREVIATIONS[word]
    if len(word) < 3:
        return None
    word = word.replace("0", "o").replace("1", "l").replace("6", "e")
    if word in MONTHS:
        return MONTHS[word]
    best: set[int] = set()
    best_distance = 99
    for name, number in MONTHS.items():
        if len(word) <= 3 and len(name) != len(word):
            continue  # "jui" could be juin or juillet cut short; "mal" can only be mai
        allowed = 1 if len(name) <= 5 else 2
        distance = levenshtein(word, name, limit=allowed)
        if distance > allowed:
            continue
        if distance < best_distance:
            best, best_distance = {number}, distance
        elif distance == best_distance:
            best.add(number)
    return best.pop() if len(best) == 1 else None


def _number(text: str) -> int | None:
    digits = text.replace(" ", "").translate(_OCR_DIGITS)
    return int(digits) if digits.isdigit() else None


def _day(text: str) -> int | None:
    text = text.replace(" ", "")
    if text == "premier" or re.fullmatch(r"[1li|t]er", text):
        return 1
    return _number(re.sub(r"(er|°|e)$", "", text))


def _year(value: int, digits: int) -> int:
    if digits == 2:
        return 2000 + value if value < 70 else 1900 + value
    return value


def _make(year: int | None, month: int | None, day: int | None) -> date | None:
    if year is None or month is None or day is None or not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _found(folded: str) -> Iterator[FoundDate]:
    for m in _WORDS.finditer(folded):
        month = month_number(m["month"])
        value = _make(_number(m["year"]), month, _day(m["day"]))
        if value is not None:
            yield FoundDate(value, m.start(), m.end(), "words")
    for m in _NUMERIC.finditer(folded):
        year = _number(m["year"])
        value = _make(
            _year(year, len(m["year"])) if year is not None else None,
            _number(m["month"]),
            _number(m["day"]),
        )
        if value is not None:
            yield FoundDate(value, m.start(), m.end(), "numeric")
    for m in _ISO.finditer(folded):
        value = _make(int(m["year"]), int(m["month"]), int(m["day"]))
        if value is not None:
            yield FoundDate(value, m.start(), m.end(), "iso")


def find_dates(text: str) -> list[FoundDate]:
    """Every date in `text`, in reading order (spans index the folded text)."""
    found = sorted(_found(fold(text)), key=lambda f: (f.start, -f.end))
    kept: list[FoundDate] = []
    for item in found:
        if kept and item.start < kept[-1].end:
            continue  # "06/11/2024" inside a longer match already taken
        kept.append(item)
    return kept


def parse_french_date(text: str) -> date | None:
    """The date `text` consists of (surrounding spaces and punctuation allowed), else None.

    >>> parse_french_date("1er mars 2026")
    datetime.date(2026, 3, 1)
    """
    folded = fold(text).strip(" \t\r\n.,;:()")
    found = find_dates(folded)
    if len(found) == 1 and found[0].start == 0 and found[0].end == len(folded):
        return found[0].value
    return None


def first_date(text: str) -> date | None:
    found = find_dates(text)
    return found[0].value if found else None


def find_date_after(text: str, labels: Iterable[str], *, within: int = 40) -> FoundDate | None:
    """The first date starting at most `within` characters after one of the `labels`
    (regular expressions over folded text, tried in order, no digit in between):
    "à jour au 6 novembre 2024"."""
    folded = fold(text)
    dates = find_dates(folded)
    for label in labels:
        for m in re.finditer(label, folded):
            for found in dates:
                if m.end() <= found.start <= m.end() + within and not re.search(
                    r"[0-9]", folded[m.end() : found.start]
                ):
                    return found
    return None


def date_after(text: str, labels: Iterable[str], *, within: int = 40) -> date | None:
    found = find_date_after(text, labels, within=within)
    return found.value if found else None


def french_date_words(value: date) -> str:
    """The form the registries print: "1er mars 2026", "6 novembre 2024"."""
    names = {number: name for name, number in MONTHS.items()}
    accented = {"fevrier": "février", "aout": "août", "decembre": "décembre"}
    month = accented.get(names[value.month], names[value.month])
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {month} {value.year}"
