"""Is this member of staff one of the dossier's people? Names and e-mails seen through spelling.

Pure, and in core so that every floor that must refuse a conflicted operator asks the same
question: review (claims, decisions) and documents (the identity copies).

Both sides are *unmasked* first: Unicode NFKC (full-width and mathematical letters, ligatures),
zero-width, format and control characters removed (category Cf / Cc), and letters of other
scripts that look like Latin ones (Cyrillic « Р », Greek « ο »…) replaced by the Latin letter
they imitate, from the Unicode TR39 confusables data (package `confusable-homoglyphs`). Names
are then folded as the MRZ writes them (`extraction.names.fold`: accents dropped, Æ → AE…).

The rule for names, part by part (a surname or given name split on hyphens, spaces and
apostrophes, each part also taken whole without separators so that LE GALL is LEGALL):
the two are one person when they share a surname part *and* a given-name part (also with
surname and given names swapped, a form filled the other way round). Parts of one letter and
the particles of surnames (DE, LE, VAN…) never count as shared on their own. So
Olivia Perrin is PERRIN-DUPONT Olivia Marie, is PERRIN Olivia Marie, is РЕRRIN (Cyrillic)
Olivia; she is not DUPONT Marie nor PERRIN Claire (a namesake or a relative: the same surname
alone is not the same person).

E-mails are the same after unmasking, lower-casing and dropping every space.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import Protocol, TypeVar

from confusable_homoglyphs.categories import alias as script_of
from confusable_homoglyphs.confusables import confusables_data

from ra_workbench.dossiers.labels import PersonRole
from ra_workbench.extraction.names import fold

# Scripts whose letters are already what the MRZ folding expects (Latin, accents included:
# the folding drops those the ICAO way) or that hold no letters (digits, punctuation).
_NATIVE_SCRIPTS = frozenset({"LATIN", "COMMON", "INHERITED"})
_APOSTROPHES = re.compile(r"['’`ʼ]")
# Surname particles: shared alone they say nothing (Marie DE GAULLE is not Marie DE LA TOUR).
PARTICLES = frozenset(
    {"DE", "DU", "DES", "LA", "LE", "LES", "DA", "DI", "DEL", "DELLA", "DOS", "DAS"}
    | {"VAN", "VON", "DER", "DEN", "TEN", "TER", "EL", "AL", "ST", "STE"}
)


class Named(Protocol):
    """What is compared: a person on a dossier or a member of staff."""

    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str: ...
    @property
    def email(self) -> str: ...


class Member(Named, Protocol):
    """One of a dossier's people."""

    @property
    def role(self) -> str: ...


M = TypeVar("M", bound=Member)


@cache
def _latin_look_alike(char: str) -> str | None:
    """The Latin letters TR39 says `char` is confused with, or None.

    The data lists, for a character that imitates another, that one prototype; the marks
    it may carry (right-to-left marks, combining strokes) are dropped. TR39 takes the
    lower-case l as the prototype of every vertical stroke, capital I included: a capital
    stroke (Cyrillic « І », palochka « Ӏ ») is read I, as it would be in a name in capitals.
    """
    for homoglyph in confusables_data.get(char, ()):
        letters = "".join(c for c in homoglyph["c"] if unicodedata.category(c)[0] == "L")
        if letters and letters.isascii():
            if letters == "l" and char.isupper():
                return "I"
            return letters
    return None


def unmask(text: str) -> str:
    """The text a reader sees: NFKC, invisible characters gone, look-alikes made Latin."""
    out = []
    # NFKC for compatibility forms, then decomposed so that an accented look-alike (Cyrillic
    # « ё ») is its base letter, mapped below, plus a mark the MRZ folding drops.
    for char in unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text)):
        if char.isspace():
            out.append(" ")
        elif unicodedata.category(char) in ("Cf", "Cc"):
            continue
        elif char.isascii() or script_of(char) in _NATIVE_SCRIPTS:
            out.append(char)
        else:
            out.append(_latin_look_alike(char) or char)
    return unicodedata.normalize("NFC", "".join(out))


def folded_email(email: str | None) -> str:
    return re.sub(r"\s+", "", unmask(email or "")).casefold()


def name_parts(name: str | None) -> frozenset[str]:
    """The parts of a surname or of given names that identify someone, folded as the MRZ
    writes them, each also whole: "Le Gall" → {GALL, LEGALL}; "Jean-Pierre" → {JEAN,
    PIERRE, JEANPIERRE}."""
    words = fold(_APOSTROPHES.sub(" ", unmask(name or ""))).split()
    parts = {word for word in words if len(word) > 1 and word not in PARTICLES}
    if len(words) > 1:
        parts.add("".join(words))
    return frozenset(parts)


def same_name(a_first: str, a_last: str, b_first: str, b_last: str) -> bool:
    """A surname part and a given-name part shared (or both crossed: fields swapped)."""
    a_given, a_surname = name_parts(a_first), name_parts(a_last)
    b_given, b_surname = name_parts(b_first), name_parts(b_last)
    return bool(
        (a_surname & b_surname and a_given & b_given)
        or (a_surname & b_given and a_given & b_surname)
    )


def same_person(a: Named, b: Named) -> bool:
    """By e-mail or by name, once unmasked and folded."""
    a_email = folded_email(a.email)
    if a_email and a_email == folded_email(b.email):
        return True
    return same_name(a.first_name or "", a.last_name or "", b.first_name or "", b.last_name or "")


def conflicting_person(people: Iterable[M], staff: Named) -> M | None:
    """The dossier's holder, legal representative or mandataire that this member of staff
    is, if any."""
    for person in people:
        if person.role in PersonRole.ALL and same_person(staff, person):
            return person
    return None
