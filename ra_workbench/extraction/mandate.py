"""Reading a certification mandate: its date and its electronic signatures, verified.

What counts as "carries an electronic signature": the PDF has a form field of type
`/FT /Sig` whose value `/V` is a signature dictionary with a `/ByteRange` and `/Contents` —
what every PDF signing tool writes (found with pypdf, bounded). We also report the
signature's `/SubFilter` (adbe.pkcs7.detached, ETSI.CAdES.detached...), its `/M` signing
time and whether its byte range covers the whole file. Each signature found is then
verified with pyHanko (`extraction/signatures.py`): intact, valid, what changed after it,
who signed and the certificates it embeds. Whether the signer's chain leads to a trusted
authority is not a property of the bytes: `mandate.valid` asks it of the trust store in
rules/ (`signatures.trust_chain`).

Pure: bytes in, `MandateReading` out; a file pypdf cannot read raises `MediaError`, a
signature pyHanko cannot verify is a `SignatureCheck` with its `error`.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from ra_workbench.extraction import media
from ra_workbench.extraction.kbis.dates import find_date_after, first_date
from ra_workbench.extraction.kbis.text import DocumentText, document_text
from ra_workbench.extraction.media import MediaError
from ra_workbench.extraction.signatures import SignatureCheck, verify_pdf_signatures

__all__ = [
    "MandateReading",
    "SignatureReading",
    "mandate_from_text",
    "parse_pdf_date",
    "read_mandate",
]

MAX_FIELDS = 200  # a form with more fields than this is not a mandate; stop walking
_DATE_LABELS = (
    r"fait\s*a\s*[a-z' \-]{1,40}?\s*,?\s*le(?![a-z])",
    r"(?<![a-z])(?:signe|etabli|date)e?\s*(?:le|du)(?![a-z])",
)
_PDF_DATE = re.compile(
    r"^D:(?P<y>\d{4})(?P<mo>\d{2})?(?P<d>\d{2})?(?P<h>\d{2})?(?P<mi>\d{2})?(?P<s>\d{2})?"
    r"(?P<tz>[Zz]|[+\-]\d{2}'?\d{2}'?)?"
)


@dataclass(frozen=True)
class SignatureReading:
    field_name: str
    sub_filter: str | None
    signing_time: dt.datetime | None
    signer: str | None
    covers_whole_file: bool
    # pyHanko's verification of this signature (None only before `with_verification`).
    verification: SignatureCheck | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "field_name": self.field_name,
            "sub_filter": self.sub_filter,
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "signer": self.signer,
            "covers_whole_file": self.covers_whole_file,
            "verification": self.verification.to_json() if self.verification else None,
        }


@dataclass
class MandateReading:
    has_signature_field: bool
    signatures: tuple[SignatureReading, ...]
    date: dt.date | None  # the mandate's date: in its text, else the signing day
    date_source: str | None  # text | signature
    text_date: dt.date | None
    source: str  # text_layer | ocr
    pages: int
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def signing_time(self) -> dt.datetime | None:
        times = [s.signing_time for s in self.signatures if s.signing_time]
        return min(times) if times else None

    def to_json(self) -> dict[str, Any]:
        signing = self.signing_time
        return {
            "has_signature_field": self.has_signature_field,
            "signing_time": signing.isoformat() if signing else None,
            "date": self.date.isoformat() if self.date else None,
            "date_source": self.date_source,
            "text_date": self.text_date.isoformat() if self.text_date else None,
            "signatures": [s.to_json() for s in self.signatures],
            "source": self.source,
            "pages": self.pages,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }


def parse_pdf_date(value: str) -> dt.datetime | None:
    """A PDF date string ("D:20261120101503+01'00'") as an aware datetime (UTC when the
    string has no offset); None when it is not one."""
    m = _PDF_DATE.match(value.strip())
    if not m:
        return None
    tz = dt.UTC
    if m["tz"] and m["tz"] not in ("Z", "z"):
        digits = m["tz"].replace("'", "")
        sign = -1 if digits[0] == "-" else 1
        tz = dt.timezone(sign * dt.timedelta(hours=int(digits[1:3]), minutes=int(digits[3:5])))
    try:
        return dt.datetime(
            int(m["y"]),
            int(m["mo"] or 1),
            int(m["d"] or 1),
            int(m["h"] or 0),
            int(m["mi"] or 0),
            int(m["s"] or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None


def _covers_whole_file(byte_range: Any, data: bytes) -> bool:
    try:
        start, first_end, second_start, second_length = (int(v) for v in byte_range)
    except (TypeError, ValueError):
        return False
    return (
        start == 0
        and 0 < first_end < second_start <= len(data)
        and second_start + second_length == len(data)
        and data[first_end : first_end + 1] == b"<"
        and data[second_start - 1 : second_start] == b">"
    )


def _text(value: Any) -> str | None:
    """A PDF name or string as plain text ("/adbe.pkcs7.detached" → "adbe.pkcs7.detached")."""
    return str(value).removeprefix("/") if value is not None else None


def pdf_signatures(data: bytes) -> tuple[SignatureReading, ...]:
    """The filled signature fields of a PDF (AcroForm fields, kids included)."""

    signatures: list[SignatureReading] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise MediaError("PDF chiffré ou protégé par mot de passe")
            form = reader.root_object.get("/AcroForm")
            form = form.get_object() if form is not None else None
            pending = list(form.get("/Fields") or []) if isinstance(form, DictionaryObject) else []
            seen = 0
            while pending and seen < MAX_FIELDS:
                node = pending.pop(0).get_object()
                seen += 1
                if not isinstance(node, DictionaryObject):
                    continue
                pending.extend(node.get("/Kids") or [])
                parent = node.get("/Parent")
                parent = parent.get_object() if parent is not None else None
                field_type = node.get("/FT") or (
                    parent.get("/FT") if isinstance(parent, DictionaryObject) else None
                )
                value = node.get("/V")
                value = value.get_object() if value is not None else None
                if field_type != "/Sig" or not isinstance(value, DictionaryObject):
                    continue
                if value.get("/Contents") is None or value.get("/ByteRange") is None:
                    continue
                signing = value.get("/M")
                signatures.append(
                    SignatureReading(
                        field_name=str(node.get("/T") or ""),
                        sub_filter=_text(value.get("/SubFilter")),
                        signing_time=parse_pdf_date(str(signing)) if signing else None,
                        signer=_text(value.get("/Name")),
                        covers_whole_file=_covers_whole_file(value.get("/ByteRange"), data),
                    )
                )
    except MediaError:
        raise
    except RecursionError as exc:
        raise MediaError("PDF malformé (structure récursive)") from exc
    except Exception as exc:
        # pypdf raises many exception types on hostile files; none is ours to handle.
        raise MediaError(f"PDF illisible ou corrompu ({type(exc).__name__})") from exc
    return tuple(signatures)


def with_verification(
    data: bytes, signatures: tuple[SignatureReading, ...]
) -> tuple[SignatureReading, ...]:
    """The signature fields found, each with pyHanko's verification (matched by field name;
    a field the verifier does not see, or a file it cannot read, is an unverifiable one)."""
    if not signatures:
        return signatures
    checks, error = verify_pdf_signatures(data)
    by_name = {c.field_name: c for c in checks}
    verified = []
    for signature in signatures:
        check = by_name.get(signature.field_name)
        if check is None:
            check = SignatureCheck.unverifiable(
                signature.field_name, error or "signature absente pour le vérificateur"
            )
        verified.append(replace(signature, verification=check))
    return tuple(verified)


def read_mandate(data: bytes) -> MandateReading:
    """Signature fields (PDF only) and the date of a mandate file."""
    return mandate_from_text(data, document_text(data))


def mandate_from_text(data: bytes, text: DocumentText) -> MandateReading:
    """`read_mandate` for a file whose text was already read."""
    started = time.perf_counter()
    signatures = pdf_signatures(data) if text.media_type == media.MEDIA_PDF else ()
    signatures = with_verification(data, signatures)
    found = find_date_after(text.text, _DATE_LABELS, within=30)
    text_date = found.value if found else first_date(text.text)
    signing_times = [s.signing_time for s in signatures if s.signing_time]
    if text_date is not None:
        date, source = text_date, "text"
    elif signing_times:
        date, source = min(signing_times).date(), "signature"
    else:
        date, source = None, None
    timings = dict(text.timings)
    timings["total"] = time.perf_counter() - started
    return MandateReading(
        has_signature_field=bool(signatures),
        signatures=signatures,
        date=date,
        date_source=source,
        text_date=text_date,
        source=text.source,
        pages=text.pages,
        timings=timings,
    )
