"""Text folding for matching French labels in extracted or OCR'd text.

Matching happens on a folded copy (lower-case ASCII, accents and stray accent marks
dropped, typographic quotes made plain) while values are cut from the original text, so
`Folded` keeps, for each folded character, where it came from.
"""

from __future__ import annotations

import re
import unicodedata

# Characters OCR and PDF text layers use for the same thing.
_PLAIN = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "`": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u0153": "oe",
        "\u0152": "OE",
        "\u00e6": "ae",
        "\u00c6": "AE",
        "\ufb01": "fi",
        "\ufb02": "fl",
    }
)
# Spacing accents OCR sometimes emits beside the letter instead of on it.
_STRAY_ACCENTS = {"\u00b4", "\u00a8", "^", "\u02c6", "\u02dc", "\u00b8"}


def _fold_char(char: str) -> str:
    char = char.translate(_PLAIN)
    if char in _STRAY_ACCENTS:
        return ""
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


class _FoldTable(dict[int, str]):
    """str.translate table computing each character's fold once, on first sight."""

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        self[code] = folded
        return folded


_TABLE = _FoldTable()


def fold(text: str) -> str:
    """Lower-case ASCII without accents: "Dénomination" → "denomination"."""
    return text.translate(_TABLE)


class Folded:
    """A folded copy of `original` and, per folded character, its index in `original`
    (worked out only when a value is cut from the original)."""

    __slots__ = ("_origins", "original", "text")

    def __init__(self, original: str) -> None:
        self.original = original
        self.text = fold(original)
        self._origins: list[int] | None = None

    @classmethod
    def of(cls, original: str) -> Folded:
        return cls(original)

    def _map(self) -> list[int]:
        if self._origins is None:
            if len(self.text) == len(self.original) and all(
                len(_TABLE[ord(c)]) == 1 for c in self.original
            ):
                self._origins = list(range(len(self.original)))
            else:
                self._origins = [
                    index for index, char in enumerate(self.original) for _ in _TABLE[ord(char)]
                ]
        return self._origins

    def origin(self, folded_index: int) -> int:
        """Index in the original text of the folded character at `folded_index` (the end
        of the text for an index past the end)."""
        origins = self._map()
        if folded_index >= len(origins):
            return len(self.original)
        return origins[folded_index]

    def original_after(self, folded_index: int) -> str:
        return self.original[self.origin(folded_index) :]


_SPACES = re.compile(r"\s+")


def squeeze(text: str) -> str:
    """Single spaces, no leading or trailing space."""
    return _SPACES.sub(" ", text.translate(_PLAIN)).strip()


def levenshtein(a: str, b: str, limit: int = 3) -> int:
    """Edit distance, giving up (returning limit + 1) once it exceeds `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]
