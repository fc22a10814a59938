"""Name comparison as ICAO 9303 writes names in the MRZ: for comparison only, never for display.

Accents are folded (É → E), case ignored, apostrophes dropped (D'ARTAGNAN → DARTAGNAN),
hyphens and spaces become one separator (JEAN-PIERRE, JEAN PIERRE and JEAN<PIERRE are one).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Letters ICAO transliterates to two letters rather than by dropping the accent.
_TRANSLITERATIONS = str.maketrans({"Æ": "AE", "Œ": "OE", "ß": "SS", "æ": "AE", "œ": "OE"})
_SEPARATORS = re.compile(r"[\s\-<,_.]+")
_DROPPED = re.compile(r"['’`ʼ]")


def fold(text: str) -> str:
    """Upper-case ASCII letters and single spaces: "Jean-Pierre d'Arc" → "JEAN PIERRE DARC"."""
    text = text.translate(_TRANSLITERATIONS)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _DROPPED.sub("", text.upper())
    text = _SEPARATORS.sub(" ", text)
    return re.sub(r"[^A-Z0-9 ]", "", text).strip()


def compact(text: str) -> str:
    """Folded without separators: "LE GALL" and "LEGALL" compare equal."""
    return fold(text).replace(" ", "")


def tokens(text: str | Iterable[str]) -> list[str]:
    """Given names as separate folded words, from a string or a list of names."""
    parts = [text] if isinstance(text, str) else list(text)
    return [word for part in parts for word in fold(part).split()]


def first_name_among(declared: str, given_names: str | Iterable[str]) -> bool:
    """The declared first name is one of the given names, or several consecutive ones
    (a hyphenated JEAN-PIERRE is JEAN<PIERRE in the MRZ)."""
    wanted = compact(declared)
    words = tokens(given_names)
    if not wanted:
        return False
    for start in range(len(words)):
        joined = ""
        for word in words[start:]:
            joined += word
            if joined == wanted:
                return True
            if len(joined) >= len(wanted):
                break
    return False
