"""The holder's names for the certificate: from the identity document as read (its MRZ),
transliterated per ICAO 9303 part 3 (EN 319 412-2 NAT-4.2.4-12). Pure functions.

The MRZ already carries the ICAO transliteration, letters only: « SAINT<ANDRE ». When the
declared name transliterates to the same letters, its separators (hyphen, space) are kept,
since the document's visual zone prints them; otherwise the document wins.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

# ICAO Doc 9303 part 3, section 6 (Latin characters transliterated to more than one letter).
_MULTI = {
    "Ä": "AE",
    "Å": "AA",
    "Æ": "AE",
    "Ö": "OE",
    "Ø": "OE",
    "Ü": "UE",
    "ß": "SS",
    "Þ": "TH",
    "Œ": "OE",
    "Ĳ": "IJ",
    "Ð": "D",
    "Đ": "D",
    "Ł": "L",
}
_SEPARATORS = re.compile(r"[\s<]+")


def icao_transliterate(text: str) -> str:
    """« Hélène D'Arc-Müller » → « HELENE DARC-MUELLER »: upper case, diacritics dropped,
    apostrophes removed, hyphens and single spaces kept."""
    out: list[str] = []
    for char in text.upper():
        if char in _MULTI:
            out.append(_MULTI[char])
            continue
        decomposed = unicodedata.normalize("NFKD", char)
        out.append("".join(c for c in decomposed if not unicodedata.combining(c)))
    result = "".join(out)
    result = re.sub(r"['’`ʼ]", "", result)
    result = re.sub(r"[^A-Z0-9 \-]", " ", result)
    return _SEPARATORS.sub(" ", result).strip(" -")


def _letters(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", icao_transliterate(text))


def _letters_plain(text: str) -> str:
    """Diacritics dropped to the bare letter (Ü → U): the other spelling ICAO allows."""
    decomposed = unicodedata.normalize("NFKD", text.upper())
    return re.sub(r"[^A-Z0-9]", "", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _with_typed_separators(typed: str, read: str) -> str:
    """The read name, spelled with the declared separators when the letters agree."""
    if _letters(read) and _letters(typed) == _letters(read):
        return icao_transliterate(typed)
    return _SEPARATORS.sub(" ", read.upper()).strip()


@dataclass(frozen=True)
class CertificateNames:
    given_name: str
    surname: str
    typed_given_name: str
    typed_surname: str

    @property
    def differs_from_typed(self) -> bool:
        return (self.given_name, self.surname) != (self.typed_given_name, self.typed_surname)


def certificate_names(
    *,
    typed_first_name: str,
    typed_last_name: str,
    read_surname: str,
    read_given_names: Sequence[str],
) -> CertificateNames:
    """Surname as read; given name: the declared one when it is among the given names read
    (one or several consecutive, as « JEAN-PAUL » is JEAN<PAUL), all of them otherwise."""
    if not read_surname.strip() or not any(g.strip() for g in read_given_names):
        raise ValueError("nom ou prénoms absents de la lecture de la pièce d'identité")
    surname = _with_typed_separators(typed_last_name, read_surname)
    words = [w for g in read_given_names for w in _SEPARATORS.split(g.upper()) if w]
    wanted = _letters(typed_first_name)
    wanted_plain = _letters_plain(typed_first_name)
    given = " ".join(words)
    for start in range(len(words)):
        for end in range(start + 1, len(words) + 1):
            joined = "".join(words[start:end])
            if joined in (wanted, wanted_plain):
                given = _with_typed_separators(typed_first_name, " ".join(words[start:end]))
                break
        else:
            continue
        break
    return CertificateNames(
        given_name=given,
        surname=surname,
        typed_given_name=typed_first_name,
        typed_surname=typed_last_name,
    )


# -- the subject's serialNumber: EN 319 412-1 5.1.3 natural person identifier -----------------

# ICAO 9303 issuing states (alpha-3, « D » for Germany) → ISO 3166-1 alpha-2, for the
# countries whose documents the RA accepts (EU, EEA, Switzerland, United Kingdom).
_ALPHA2 = {
    "AUT": "AT", "BEL": "BE", "BGR": "BG", "HRV": "HR", "CYP": "CY", "CZE": "CZ",
    "DNK": "DK", "EST": "EE", "FIN": "FI", "FRA": "FR", "D": "DE", "DEU": "DE",
    "GRC": "GR", "HUN": "HU", "IRL": "IE", "ITA": "IT", "LVA": "LV", "LTU": "LT",
    "LUX": "LU", "MLT": "MT", "NLD": "NL", "POL": "PL", "PRT": "PT", "ROU": "RO",
    "SVK": "SK", "SVN": "SI", "ESP": "ES", "SWE": "SE", "ISL": "IS", "LIE": "LI",
    "NOR": "NO", "CHE": "CH", "GBR": "GB", "MCO": "MC", "AND": "AD",
}  # fmt: skip


def natural_person_identifier(document_code: str, issuing_state: str, number: str) -> str:
    """« PASFR-… » for a passport, « IDCFR-… » for an identity card: the identity type
    reference, the issuing country, a hyphen and the document's number (EN 319 412-1
    5.1.3). The number identifies one document, hence one person. ValueError (in French)
    when the document cannot give one."""
    country = _ALPHA2.get(issuing_state.strip("<").upper())
    if country is None:
        raise ValueError(
            f"Pays émetteur de la pièce d'identité non pris en charge ({issuing_state!r}) : "
            "le numéro de série du sujet (EN 319 412-1) ne peut pas être établi."
        )
    reference = number.strip("<").upper()
    if not re.fullmatch(r"[A-Z0-9]{4,20}", reference):
        raise ValueError(
            "Numéro de la pièce d'identité illisible : le numéro de série du sujet "
            "(EN 319 412-1) ne peut pas être établi."
        )
    scheme = "PAS" if document_code.upper().startswith("P") else "IDC"
    return f"{scheme}{country}-{reference}"
