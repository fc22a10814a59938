"""Synthetic portal packages (format `portail-commande/1`, see shared/portal-export/FORMAT.md)
for the demo, the tests and the benchmarks.

`generate_dossier` writes one package — a directory holding `dossier.json` and the uploaded
files, or a `.zip` of it — and, beside it (never inside), `<name>.expected.json`: the truth
the package was built from and the rules the automated checks must fail on it.
`generate_batch` writes a mix of clean and defective dossiers; `generate_broken_package`
writes packages the ingestion must refuse outright.

Seeded and reproducible: the same arguments give byte-identical files. Every random choice
comes from `random.Random` streams derived from the seed, one per concern (facts, defects,
each person's identity document, the Kbis…), so injecting a defect changes what it targets
and little else. Timestamps are pinned (reportlab's invariant mode, fixed zip entry dates,
no EXIF); an electronically signed mandate's signatures are Ed25519 (deterministic) by keys
derived from the signers' names (synth/signing.py), at a time drawn from the seed.

Clean dossiers follow the portal's rules (guide, section 5): no accents in declared fields,
names consistent between the form, the MRZ and the Kbis, a Luhn-valid SIREN, a Kbis under
3 months, identity documents valid on `today`, French mobiles, every required document, file
names without dots other than the extension's, each file under 3 Mo.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import shutil
import stat
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from dateutil.relativedelta import relativedelta
from PIL import Image

from ra_workbench.extraction.kbis.dates import french_date_words
from ra_workbench.extraction.kbis.identifiers import format_siren, siren_is_valid
from ra_workbench.extraction.mrz import codec
from ra_workbench.extraction.names import compact, first_name_among
from ra_workbench.synth.documents import render_mandate_pdf, render_payment_proof_pdf
from ra_workbench.synth.identity import (
    GIVEN_F,
    GIVEN_M,
    SURNAMES,
    IdentityDocument,
    make_identity_document,
    random_person,
    render_identity_side,
)
from ra_workbench.synth.kbis import make_siren, random_company, render_kbis_pdf
from ra_workbench.synth.offers import OFFERS, PICKUP_FEE

FORMAT = "portail-commande/1"
MAX_FILE_BYTES = 3_000_000  # the portal's 3 Mo, read as 10^6 bytes (the stricter reading)
# An oversize file is over 3 Mo in either reading (3 × 10^6 or 3 × 2^20 bytes).
OVERSIZE_MIN_BYTES = 3_300_000
ZIP_BOMB_BYTES = 100 * 1024 * 1024  # 100 MiB of zeros: ~100 KB once deflated
ZIP_DATE = (2026, 1, 1, 0, 0, 0)  # pinned date of every zip entry written here
# Margin by which a clean identity document outlives `today`: a demo evaluated some weeks
# after generation still finds it valid.
VALIDITY_MARGIN = timedelta(days=120)
CNIE_FIRST_ISSUE = date(2021, 8, 2)  # the old card (1988 model) was issued until then
CNI1988_LAST_ISSUE = date(2021, 8, 1)

# Defect name -> the rule id (issue 4's catalogue) that must come out `fail` for it.
DEFECTS: dict[str, str] = {
    "old_kbis": "kbis.age",
    "siren_mismatch": "kbis.siren_match",
    "bad_siren": "organisation.siren",
    "expired_id": "identity.valid_on_date",
    "name_mismatch": "identity.name_match",
    "missing_verso": "identity.both_sides",
    "dotted_name": "file.name",
    "oversize": "file.size",
    "wrong_format": "file.format",
    "accented_fields": "fields.no_accents",
    "bad_mobile": "contact.mobile",
    "missing_documents": "dossier.documents_complete",
    "kbis_manager_missing": "kbis.legal_representative",
    "not_attested": "dossier.attestation",
    "bad_email": "contact.email",
    "visa": "identity.document_type",
}
# Defects whose rule sends the dossier to a human rather than failing it: a mandate without a
# PDF signature field is `manual` under mandate.valid (rules/checks.toml, [mandate]).
REVIEW_DEFECTS: dict[str, str] = {"unsigned_mandate": "mandate.valid"}
ALL_DEFECTS: dict[str, str] = DEFECTS | REVIEW_DEFECTS
# Defects that live in dossier.json or in the files' names, sizes and types: they need no
# real document content, so light packages can carry them.
STRUCTURAL_DEFECTS = frozenset(
    {
        "bad_siren",
        "missing_verso",
        "dotted_name",
        "oversize",
        "wrong_format",
        "accented_fields",
        "bad_mobile",
        "missing_documents",
        "not_attested",
        "bad_email",
    }
)
BROKEN_KINDS = (
    "bad_json",
    "unknown_format",
    "missing_keys",
    "path_traversal",
    "missing_file",
    "two_holders",
    "zip_slip",
    "zip_absolute",
    "zip_symlink",
    "zip_bomb",
)
DEGRADATIONS = ("clean", "scan", "photo", "lowres", "hard")

HOLDER, LEGAL_REPRESENTATIVE, MANDATAIRE = "holder", "legal_representative", "mandataire"
IDENTITY_RULES = (
    "identity.both_sides",
    "identity.mrz",
    "identity.document_type",
    "identity.valid_on_date",
    "identity.name_match",
)
KBIS_RULES = (
    "kbis.read",
    "kbis.age",
    "kbis.siren_match",
    "kbis.name_match",
    "kbis.legal_representative",
)

DELIVERY_NOTES = (
    "",
    "",
    "Accueil au 2e etage",
    "Livraison a l'accueil, batiment B",
    "Sonner a l'interphone SOCIETE",
    "Present du lundi au jeudi",
)
STREETS = (
    "RUE DES LILAS", "AVENUE FOCH", "BOULEVARD VICTOR HUGO", "RUE DE LA REPUBLIQUE",
    "RUE JEAN JAURES", "ALLEE DES TANNEURS", "CHEMIN DE LA GARENNE", "RUE PASTEUR",
    "IMPASSE DES VIGNES", "PLACE DU MARCHE", "RUE DU GENERAL DE GAULLE", "QUAI DE LA FOSSE",
)  # fmt: skip
TOWNS = (
    ("44000", "NANTES"), ("69006", "LYON"), ("35000", "RENNES"), ("75015", "PARIS"),
    ("33000", "BORDEAUX"), ("59000", "LILLE"), ("31000", "TOULOUSE"), ("44600", "SAINT-NAZAIRE"),
    ("13100", "AIX-EN-PROVENCE"), ("29200", "BREST"), ("21000", "DIJON"), ("67000", "STRASBOURG"),
)  # fmt: skip
# Accented spellings the customer may type although the portal forbids them.
ACCENTED = {
    "HELENE": "HÉLÈNE", "CELINE": "CÉLINE", "ELODIE": "ÉLODIE", "FRANCOIS": "FRANÇOIS",
    "FRANCOISE": "FRANÇOISE", "SEBASTIEN": "SÉBASTIEN", "STEPHANE": "STÉPHANE",
    "HERVE": "HERVÉ", "NOE": "NOÉ", "VALERIE": "VALÉRIE", "AGNES": "AGNÈS", "LEA": "LÉA",
    "AURELIE": "AURÉLIE", "GAELLE": "GAËLLE", "MAELYS": "MAËLYS", "ZOE": "ZOÉ", "INES": "INÈS",
    "CHLOE": "CHLOÉ", "ANDRE": "ANDRÉ", "GERARD": "GÉRARD", "RIVIERE": "RIVIÈRE",
    "LEFEVRE": "LEFÈVRE", "GUERIN": "GUÉRIN", "CLEMENT": "CLÉMENT", "NOEL": "NOËL",
    "BENOIT": "BENOÎT", "JEROME": "JÉRÔME", "REPUBLIQUE": "RÉPUBLIQUE", "GENERAL": "GÉNÉRAL",
    "MARCHE": "MARCHÉ", "GENERALE": "GÉNÉRALE", "SOCIETE": "SOCIÉTÉ", "ELECTRICITE": "ÉLECTRICITÉ",
    "BATIMENT": "BÂTIMENT", "INGENIERIE": "INGÉNIERIE", "ETAGE": "ÉTAGE", "ASSOCIES": "ASSOCIÉS",
}  # fmt: skip
BAD_MOBILES = ("0512345678", "0700123456", "0145678912", "06123456", "+33145678912", "0812345678")
HTML_PAYMENT_PAGE = (
    '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
    "<title>Confirmation de paiement</title></head>\n<body><h1>Paiement accepte</h1>"
    "<p>Commande {order}</p><p>Montant : {amount} EUR</p><p>Reference : {reference}</p>"
    "</body></html>\n"
)


# -- the scenario ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """The shape of one dossier: every choice `variant` may pin."""

    delivery_mode: str = "shipping"  # shipping | pickup
    payment_method: str = "card"  # card | transfer
    has_mandataire: bool = False
    holder_is_legal_representative: bool = False
    holder_kind: str = "cnie"  # cni1988 | cnie | passport
    legal_representative_kind: str = "cnie"
    mandataire_kind: str = "passport"
    identity_format: str = "jpeg"  # jpeg | png
    kbis_kind: str = "kbis"  # kbis | extrait_k | rne | sirene
    kbis_scanned: bool = False  # image-only PDF instead of a text layer
    activation_code_channel: str = "sms"  # sms | email
    repeat_holder_fields: bool = False  # holder same as legal rep: person fields repeated
    identity_filed_as: str = HOLDER  # holder same as legal rep: role their documents carry
    offer: str = "PP-RGS2-USB"


CHOICES: dict[str, tuple[Any, ...]] = {
    "delivery_mode": ("shipping", "pickup"),
    "payment_method": ("card", "transfer"),
    "has_mandataire": (False, True),
    "holder_is_legal_representative": (False, True),
    "holder_kind": ("cni1988", "cnie", "passport"),
    "legal_representative_kind": ("cni1988", "cnie", "passport"),
    "mandataire_kind": ("cni1988", "cnie", "passport"),
    "identity_format": ("jpeg", "png"),
    "kbis_kind": ("kbis", "extrait_k", "rne", "sirene"),
    "kbis_scanned": (False, True),
    "activation_code_channel": ("sms", "email"),
    "repeat_holder_fields": (False, True),
    "identity_filed_as": (HOLDER, LEGAL_REPRESENTATIVE),
    "offer": tuple(code for code, _, _ in OFFERS),
}
# What a defect needs of the scenario: a key and the values it may take.
DEFECT_REQUIREMENTS: dict[str, dict[str, tuple[Any, ...]]] = {
    # The holder is checked against their MRZ; as the legal representative the Kbis would
    # disagree too, and the defect would no longer say one thing.
    "name_mismatch": {"holder_is_legal_representative": (False,)},
    # No CNIe (first issued August 2021, valid 10 years) has expired yet.
    "expired_id": {"holder_kind": ("cni1988", "passport")},
    # The customer uploads the visa page of a (foreign) passport.
    "visa": {"holder_kind": ("passport",)},
    # An avis de situation SIRENE names no managers.
    "kbis_manager_missing": {"kbis_kind": ("kbis", "extrait_k", "rne")},
    "unsigned_mandate": {"has_mandataire": (True,)},
}


def _draw_scenario(rng: random.Random) -> Scenario:
    kinds = CHOICES["holder_kind"]
    return Scenario(
        delivery_mode=rng.choices(CHOICES["delivery_mode"], weights=(3, 1))[0],
        payment_method=rng.choices(CHOICES["payment_method"], weights=(3, 1))[0],
        has_mandataire=rng.random() < 0.3,
        holder_is_legal_representative=rng.random() < 0.35,
        holder_kind=rng.choice(kinds),
        legal_representative_kind=rng.choice(kinds),
        mandataire_kind=rng.choice(kinds),
        identity_format=rng.choices(CHOICES["identity_format"], weights=(4, 1))[0],
        kbis_kind=rng.choices(("kbis", "extrait_k", "rne"), weights=(16, 2, 2))[0],
        kbis_scanned=rng.random() < 0.3,
        activation_code_channel=rng.choices(CHOICES["activation_code_channel"], (3, 1))[0],
        repeat_holder_fields=rng.random() < 0.5,
        identity_filed_as=rng.choices(CHOICES["identity_filed_as"], weights=(4, 1))[0],
        offer=rng.choice(CHOICES["offer"]),
    )


def _resolve_scenario(
    rng: random.Random, variant: dict[str, Any] | None, defects: Sequence[str]
) -> Scenario:
    """The drawn scenario, with `variant` pinned over it and the defects' needs met. A
    variant that contradicts a defect is an error, not a silent override."""
    scenario = _draw_scenario(rng)
    variant = dict(variant or {})
    unknown = sorted(set(variant) - set(CHOICES))
    if unknown:
        raise ValueError(f"unknown variant keys {unknown}; known: {sorted(CHOICES)}")
    for key, value in variant.items():
        if value not in CHOICES[key]:
            raise ValueError(f"variant {key}={value!r}: expected one of {CHOICES[key]}")
    scenario = replace(scenario, **variant)
    for defect in defects:
        for key, allowed in DEFECT_REQUIREMENTS.get(defect, {}).items():
            if getattr(scenario, key) in allowed:
                continue
            if key in variant:
                raise ValueError(f"defect {defect!r} needs {key} in {allowed}, variant says "
                                 f"{variant[key]!r}")  # fmt: skip
            scenario = replace(scenario, **{key: rng.choice(allowed)})
    return scenario


# -- people ----------------------------------------------------------------------------------------


@dataclass
class Person:
    """A declared person, their true identity and the document they upload."""

    role: str
    civility: str
    first_name: str
    last_name: str
    email: str
    mobile: str
    address: dict[str, str]
    identity: Any  # synth.identity.IdentityPerson
    document: Any  # synth.identity.IdentityDocument

    def declared(self) -> dict[str, Any]:
        return {
            "civility": self.civility,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "mobile": self.mobile,
            "address": dict(self.address),
        }

    def truth(self) -> dict[str, Any]:
        doc = self.document
        return {
            "surname": self.identity.surname,
            "given_names": list(self.identity.given_names),
            "sex": self.identity.sex,
            "birth_date": self.identity.birth_date.isoformat(),
            "nationality": self.identity.nationality,
            "declared": {"first_name": self.first_name, "last_name": self.last_name},
            "document": {
                "kind": "visa" if doc.mrz_lines[0].startswith("V") else doc.kind,
                "number": doc.document_number,
                "issue_date": doc.issue_date.isoformat(),
                "expiry_date": doc.expiry_date.isoformat() if doc.expiry_date else None,
                "mrz": list(doc.mrz_lines),
            },
        }


def slug(text: str) -> str:
    """ "DE LA FONTAINE" → "de-la-fontaine": ASCII, lower case, no dot (file names, e-mails)."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    words = "".join(c if c.isascii() and c.isalnum() else " " for c in folded).split()
    return "-".join(words)


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _mobile(rng: random.Random) -> str:
    """A French mobile as customers type it: 06…, 07… (never 0700…) or +33 6…."""
    form = rng.choice(("06", "07", "+336"))
    if form == "07":
        return "07" + str(rng.randint(1, 9)) + "".join(str(rng.randrange(10)) for _ in range(7))
    return form + "".join(str(rng.randrange(10)) for _ in range(8))


def _address(rng: random.Random) -> dict[str, str]:
    postcode, city = rng.choice(TOWNS)
    line2 = rng.choice(("", "", "", "BAT B", "APPARTEMENT 12", "RESIDENCE LES PINS"))
    return {
        "line1": f"{rng.randint(1, 140)} {rng.choice(STREETS)}",
        "line2": line2,
        "postcode": postcode,
        "city": city,
        "country": "FR",
    }


def _issue_window(kind: str, birth: date, today: date) -> tuple[date, date]:
    """Issue dates that give a clean document of `kind` (still valid well past `today`)."""
    adult_from = codec.add_years(birth, 18)
    if kind == "cni1988":
        # Adult at issue: 15 years of validity, counted from the month of issue.
        # The derived expiry falls a month short of 15 years: keep that month in hand.
        earliest = today - relativedelta(years=15) + VALIDITY_MARGIN + timedelta(days=62)
        start = max(adult_from + timedelta(days=31), earliest)
        return start, min(CNI1988_LAST_ISSUE, today - timedelta(days=30))
    start = today - relativedelta(years=10) + VALIDITY_MARGIN
    if kind == "cnie":
        start = max(start, CNIE_FIRST_ISSUE)
    return start, today - timedelta(days=30)


def _random_day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, max(0, (end - start).days)))


def _make_person(
    rng: random.Random,
    role: str,
    kind: str,
    *,
    today: date,
    address: dict[str, str],
    taken: set[tuple[str, str]],
) -> tuple[Person, str]:
    """A clean person: adult, a valid document whose MRZ carries the declared names (so the
    form, the MRZ and the Kbis agree). Returns the person and the kind actually used (an
    old card cannot be valid for everyone: born too late, or `today` too far on)."""

    kinds = [kind, *(k for k in ("cnie", "passport") if k != kind)]
    for attempt in range(60):
        identity = random_person(rng)
        if _age_on(identity.birth_date, today) < 18:
            continue
        if (identity.surname, identity.given_names[0]) in taken:
            continue
        use = kinds[min(attempt // 20, len(kinds) - 1)]
        start, end = _issue_window(use, identity.birth_date, today)
        if start > end:
            continue
        document = make_identity_document(
            identity, use, issue_date=_random_day(rng, start, end), rng=rng
        )
        if document.expiry_date is None or document.expiry_date < today + VALIDITY_MARGIN:
            continue
        # The customer types the usual first name: mostly the first given name.
        given = identity.given_names
        first = given[1] if len(given) > 1 and rng.random() < 0.1 else given[0]
        facts = codec.parse_mrz(document.mrz_lines, document.mrz_format, today=today)
        if compact(facts.surname) != compact(identity.surname) or not first_name_among(
            first, facts.given_names
        ):
            continue  # truncated in the MRZ: not a clean dossier
        taken.add((identity.surname, identity.given_names[0]))
        local = rng.choice(
            (
                f"{slug(first)[0]}.{slug(identity.surname)}",
                f"{slug(first)}.{slug(identity.surname)}",
            )
        )
        person = Person(
            role=role,
            civility="MME" if identity.sex == "F" else "M",
            first_name=first,
            last_name=identity.surname,
            email=f"{local}@organisme.fr",  # the domain follows from the Kbis
            mobile=_mobile(rng),
            address=dict(address),
            identity=identity,
            document=document,
        )
        return person, use
    raise RuntimeError("could not draw a clean person (check `today`)")


# -- files -----------------------------------------------------------------------------------------


@dataclass
class PackageFile:
    path: str
    type: str
    data: bytes
    content_type: str  # what the bytes are, whatever the name says
    person: str | None = None
    side: str | None = None
    key: str = ""  # stable handle for defects: "identity:holder:recto", "kbis", ...

    def entry(self) -> dict[str, str]:
        entry = {"path": self.path, "type": self.type}
        if self.person is not None:
            entry["person"] = self.person
        if self.side is not None:
            entry["side"] = self.side
        return entry


def _encode_image(image: Image.Image, fmt: str, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    if fmt == "png":
        image.save(buffer, format="PNG", compress_level=6)
    else:
        image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _under_limit(data: bytes, fmt: str) -> bytes:
    """Re-encode an image until it is under the portal's limit (JPEG quality first)."""
    if len(data) <= MAX_FILE_BYTES:
        return data
    image: Image.Image = Image.open(io.BytesIO(data))
    image.load()
    quality = 80
    while len(data) > MAX_FILE_BYTES:
        if fmt == "jpeg" and quality > 40:
            quality -= 10
        else:
            image = image.resize((image.width * 4 // 5, image.height * 4 // 5))
        data = _encode_image(image, fmt, quality)
    return data


def tiny_image(rng: random.Random, fmt: str) -> bytes:
    """A small but real JPEG or PNG (light packages)."""
    colour = tuple(rng.randrange(256) for _ in range(3))
    image = Image.new("RGB", (48, 30), colour)
    image.putpixel((rng.randrange(48), rng.randrange(30)), (0, 0, 0))
    return _encode_image(image, fmt, 80)


def _pdf_text(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if c.isascii() and not unicodedata.combining(c))
    return folded.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def minimal_pdf(lines: Sequence[str]) -> bytes:
    """A small but real one-page PDF with a text layer (light packages): written by hand,
    so it is fast and byte-stable."""
    ops = ["BT", "/F1 11 Tf", "14 TL", "56 780 Td"]
    for line in lines:
        ops += [f"({_pdf_text(line)}) Tj", "T*"]
    ops.append("ET")
    content = "\n".join(ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    return pdf_from_objects(objects)


def pdf_from_objects(
    objects: Sequence[bytes], header: bytes = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
) -> bytes:
    """A PDF of these objects (numbered from 1, the first the catalog) with its xref table
    and trailer: the bodies are written as given, so they may say anything."""
    out = bytearray(header)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def oversize_png(image_bytes: bytes, rng: random.Random) -> bytes:
    """The image as a customer's high-resolution PNG export: upscaled, with sensor grain,
    losslessly stored; over 3 Mo in either reading of the limit."""
    image = Image.open(io.BytesIO(image_bytes)).convert("RGB")
    grain = np.random.default_rng(rng.getrandbits(32))
    scale = 1.6
    while True:
        size = (round(image.width * scale), round(image.height * scale))
        big = np.asarray(image.resize(size, Image.Resampling.BICUBIC), dtype=np.int16)
        big = big + grain.integers(-6, 7, big.shape, dtype=np.int16)
        data = _encode_image(Image.fromarray(np.clip(big, 0, 255).astype(np.uint8)), "png")
        if len(data) >= OVERSIZE_MIN_BYTES:
            return data
        scale *= 1.3


def noise_png(rng: random.Random, min_bytes: int = OVERSIZE_MIN_BYTES) -> bytes:
    """A real PNG over `min_bytes`, fast to make (light packages): incompressible pixels."""
    width = 1200
    height = min_bytes // (width * 3) + 8
    pixels = np.frombuffer(rng.randbytes(width * height * 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels.reshape(height, width, 3)).save(buffer, format="PNG", compress_level=0)
    return buffer.getvalue()


# -- the plan of one dossier -----------------------------------------------------------------------


@dataclass
class Plan:
    """Everything one package is made of, before it is written."""

    order_number: str
    revision: int
    today: date
    seed: int
    light: bool
    degradation: str
    scenario: Scenario
    submitted_at: datetime
    company: Any  # synth.kbis.CompanyFacts as printed on the extract
    organisation: dict[str, Any]
    people: dict[str, Person]
    manifest: dict[str, Any] = field(default_factory=dict)
    files: list[PackageFile] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)
    manual: set[str] = field(default_factory=set)
    notes: dict[str, str] = field(default_factory=dict)
    mandate_signed: bool = True

    def file(self, key: str) -> PackageFile | None:
        return next((f for f in self.files if f.key == key), None)

    def identity_roles(self) -> list[str]:
        roles = [HOLDER]
        if not self.scenario.holder_is_legal_representative:
            roles.append(LEGAL_REPRESENTATIVE)
        if self.scenario.has_mandataire:
            roles.append(MANDATAIRE)
        return roles


def _rng(seed: int, *parts: object) -> random.Random:
    """An independent, reproducible stream per concern (string seeds hash with SHA-512)."""
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def _submitted_at(rng: random.Random, today: date, revision: int) -> datetime:
    try:
        paris: Any = ZoneInfo("Europe/Paris")
    except Exception:  # no tz database: winter time is close enough for synthetic data
        paris = timezone(timedelta(hours=1))
    day = today - timedelta(days=rng.randint(0, 3))
    clock = time(rng.randint(8, 17), rng.randint(0, 59), rng.randint(0, 59))
    # A re-export comes a little later (the same day: never after `today`).
    return datetime.combine(day, clock, tzinfo=paris) + timedelta(minutes=17 * (revision - 1))


def _plan(
    *,
    seed: int,
    order_number: str,
    today: date,
    defects: Sequence[str],
    revision: int,
    degradation: str,
    variant: dict[str, Any] | None,
    light: bool,
) -> Plan:

    if not order_number.isdigit():
        raise ValueError(f"order number must be digits: {order_number!r}")
    if revision < 1:
        raise ValueError("revision starts at 1")
    if degradation not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {degradation!r}; known: {DEGRADATIONS}")
    unknown = sorted(set(defects) - set(ALL_DEFECTS))
    if unknown:
        raise ValueError(f"unknown defects {unknown}; known: {sorted(ALL_DEFECTS)}")
    if light and set(defects) - STRUCTURAL_DEFECTS:
        raise ValueError(
            f"light packages carry no real document content: defects "
            f"{sorted(set(defects) - STRUCTURAL_DEFECTS)} need it"
        )
    rng = _rng(seed, "facts")
    scenario = _resolve_scenario(rng, variant, defects)
    submitted_at = _submitted_at(rng, today, revision)
    submitted_on = submitted_at.date()

    # People first: the Kbis names the legal representative at the head of its management
    # section (and often after them the company); e-mail domains follow from the Kbis.
    taken: set[tuple[str, str]] = set()
    org_address = _address(rng)
    people: dict[str, Person] = {}
    lr, lr_kind = _make_person(
        rng,
        LEGAL_REPRESENTATIVE,
        scenario.holder_kind
        if scenario.holder_is_legal_representative
        else scenario.legal_representative_kind,
        today=today,
        address=org_address,
        taken=taken,
    )
    people[LEGAL_REPRESENTATIVE] = lr
    if scenario.holder_is_legal_representative:
        scenario = replace(scenario, holder_kind=lr_kind, legal_representative_kind=lr_kind)
    else:
        scenario = replace(scenario, legal_representative_kind=lr_kind)
        holder, holder_kind = _make_person(
            rng, HOLDER, scenario.holder_kind, today=today,
            address=_address(rng), taken=taken,
        )  # fmt: skip
        people[HOLDER] = holder
        scenario = replace(scenario, holder_kind=holder_kind)
    if scenario.has_mandataire:
        mandataire, mandataire_kind = _make_person(
            rng, MANDATAIRE, scenario.mandataire_kind, today=today,
            address=org_address, taken=taken,
        )  # fmt: skip
        people[MANDATAIRE] = mandataire
        scenario = replace(scenario, mandataire_kind=mandataire_kind)

    kbis_rng = _rng(seed, "kbis")
    updated_on = submitted_on - timedelta(days=kbis_rng.randint(0, 50))
    representative = (lr.identity.surname, " ".join(lr.identity.given_names))
    company = random_company(
        kbis_rng,
        updated_on=updated_on,
        legal_representative=representative,
        kind=scenario.kbis_kind,
    )
    organisation: dict[str, Any] = {
        "siren": company.siren,
        "name": _ascii(company.name),
        "legal_form": company.legal_form,
        "manual_entry": kbis_rng.random() < 0.1,
        "address": {
            "line1": _ascii(company.address_line),
            "line2": "",
            "postcode": company.postcode,
            "city": _ascii(company.city),
            "country": "FR",
        },
    }
    # Everyone writes from the organisation's domain, known now that the Kbis is drawn.
    domain = f"{slug(organisation['name'])[:30].strip('-') or 'organisme'}.fr"
    for person in people.values():
        person.email = f"{person.email.split('@', 1)[0]}@{domain}"
        if person.role != HOLDER:
            person.address = dict(organisation["address"])
    return Plan(
        order_number=order_number,
        revision=revision,
        today=today,
        seed=seed,
        light=light,
        degradation=degradation,
        scenario=scenario,
        submitted_at=submitted_at,
        company=company,
        organisation=organisation,
        people=people,
        defects=list(dict.fromkeys(defects)),
    )


def _ascii(text: str) -> str:
    """Upper-case ASCII as the portal accepts it: "Créteil" → "CRETEIL"."""
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if c.isascii()).upper()


# -- content defects (before rendering) ------------------------------------------------------------


def _apply_content_defects(plan: Plan, rng: random.Random) -> None:
    """Defects that change what the documents say: applied to the facts, then rendered."""

    defects = set(plan.defects)
    today = plan.today
    if "old_kbis" in defects:
        oldest = today - relativedelta(months=3)
        plan.company = replace(
            plan.company, updated_on=oldest - timedelta(days=rng.randint(20, 400))
        )
    if "kbis_manager_missing" in defects:
        lr = plan.people[LEGAL_REPRESENTATIVE]
        kbis_rng = _rng(plan.seed, "kbis", "other-managers")
        for _ in range(50):
            other = random_company(
                kbis_rng, updated_on=plan.company.updated_on, kind=plan.company.kind
            )
            if not any(
                compact(m.surname) == compact(lr.last_name)
                and first_name_among(lr.first_name, m.given_names)
                for m in other.managers
            ):
                break
        # Same company, other people at its head: the declared one is not among them.
        plan.company = replace(plan.company, managers=other.managers)
    if "siren_mismatch" in defects:
        other_siren = plan.company.siren
        while other_siren == plan.company.siren:
            other_siren = make_siren(rng)
        plan.organisation["siren"] = other_siren
        plan.notes["siren_mismatch"] = f"declared {other_siren}, Kbis {plan.company.siren}"
    holder = plan.people.get(HOLDER) or plan.people[LEGAL_REPRESENTATIVE]
    if "expired_id" in defects:
        identity = holder.identity
        kind = holder.document.kind
        age = _age_on(identity.birth_date, today)
        if age < 40:
            # Old enough to have held this document for over 15 years as an adult.
            older = codec.add_years(identity.birth_date, -(40 - age + rng.randint(0, 15)))
            identity = replace(identity, birth_date=older)
            holder.identity = identity
        if kind == "cni1988":
            # An old card: valid 15 years from its month of issue (10 for a minor), and
            # that validity is over.
            last = today - relativedelta(years=15) - timedelta(days=62)
            issue = _random_day(rng, last - timedelta(days=2500), last)
            document = make_identity_document(identity, kind, issue_date=issue, rng=rng)
        else:
            expiry = today - timedelta(days=rng.randint(10, 900))
            issue = codec.add_years(expiry + timedelta(days=1), -10)
            document = make_identity_document(
                identity, kind, issue_date=issue, rng=rng, expiry_date=expiry
            )
        if document.expiry_date is None or document.expiry_date >= today:
            raise RuntimeError(f"expired_id: {document.kind} still valid on {today}")
        holder.document = document
    if "visa" in defects:
        identity = replace(holder.identity, nationality=rng.choice(("USA", "CAN", "BRA", "IND")))
        issue = today - timedelta(days=rng.randint(30, 200))
        expiry = today + timedelta(days=rng.randint(60, 300))
        number = f"{rng.randint(10, 99)}FR{rng.randint(10000, 99999)}"
        lines = codec.compose_mrv(
            codec.MRVA,
            document_code="VC",
            issuing_state="FRA",
            document_number=number,
            birth_date=identity.birth_date,
            sex=identity.sex,
            expiry_date=expiry,
            nationality=identity.nationality,
            surname=identity.surname,
            given_names=identity.given_names,
        )
        # Printed on a passport-like page: the renderer paints the page, the MRZ is a visa's.
        holder.identity = identity
        holder.document = IdentityDocument("passport", identity, number, issue, expiry, lines)
    if "name_mismatch" in defects:
        _mismatch_name(holder, rng)
    if "unsigned_mandate" in defects:
        plan.mandate_signed = False


def _mismatch_name(person: Person, rng: random.Random) -> None:
    """The customer typed another name than the one on the document."""

    given = person.identity.given_names
    if rng.random() < 0.5:
        candidates = [
            s
            for s in SURNAMES
            if compact(s) != compact(person.identity.surname)
            and not compact(s).startswith(compact(person.identity.surname))
        ]
        person.last_name = rng.choice(candidates)
    else:
        pool = GIVEN_F if person.identity.sex == "F" else GIVEN_M
        # Not among the given names, nor readable as a truncation of the last one.
        person.first_name = rng.choice(
            [
                g
                for g in pool
                if not first_name_among(g, given) and not compact(g).startswith(compact(given[-1]))
            ]
        )
    local = f"{slug(person.first_name)[0]}.{slug(person.last_name)}"
    person.email = f"{local}@{person.email.split('@', 1)[1]}"


# -- rendering -------------------------------------------------------------------------------------


def _identity_name(doc: Any, person: Person, side: str, ext: str) -> str:
    surname = slug(person.last_name) or "porteur"
    if doc.mrz_lines[0].startswith("V"):
        return f"visa-{surname}-{'p1' if side == 'recto' else 'p2'}.{ext}"
    if doc.kind == "passport":
        return f"passeport-{surname}-{'p1' if side == 'recto' else 'p2'}.{ext}"
    return f"cni-{surname}-{side}.{ext}"


def _unique(name: str, used: set[str], person: Person) -> str:
    if name not in used:
        return name
    stem, _, ext = name.rpartition(".")
    head, _, tail = stem.rpartition("-")
    candidate = f"{head}-{slug(person.first_name)}-{tail}.{ext}"
    counter = 2
    while candidate in used:
        candidate = f"{head}-{counter}-{tail}.{ext}"
        counter += 1
    return candidate


def _render_files(plan: Plan) -> None:
    scenario = plan.scenario
    fmt = scenario.identity_format
    ext = "png" if fmt == "png" else "jpg"
    media = "image/png" if fmt == "png" else "image/jpeg"
    used: set[str] = set()
    files: list[PackageFile] = []

    kbis_rng = _rng(plan.seed, "kbis", "render")
    if plan.light:
        kbis_pdf = minimal_pdf(_kbis_lines(plan.company))
    else:
        kbis_pdf = render_kbis_pdf(plan.company, scanned=scenario.kbis_scanned, rng=kbis_rng)
        if len(kbis_pdf) > MAX_FILE_BYTES and scenario.kbis_scanned:
            # A scan too heavy for the portal: the customer sends the digital original.
            kbis_pdf = render_kbis_pdf(plan.company, scanned=False, rng=kbis_rng)
            plan.scenario = replace(scenario, kbis_scanned=False)
    kbis_name = f"kbis-{slug(plan.organisation['name'])[:40].strip('-') or 'organisme'}.pdf"
    files.append(PackageFile(kbis_name, "kbis", kbis_pdf, "application/pdf", key="kbis"))
    used.add(kbis_name)

    for role in plan.identity_roles():
        person = plan.people[role] if role in plan.people else plan.people[LEGAL_REPRESENTATIVE]
        filed_as = role
        if role == HOLDER and scenario.holder_is_legal_representative:
            person = plan.people[LEGAL_REPRESENTATIVE]
            filed_as = scenario.identity_filed_as
        side_rng = _rng(plan.seed, "identity", role, plan.revision)
        for side in ("recto", "verso"):
            if plan.light:
                data = tiny_image(side_rng, fmt)
            else:
                data = render_identity_side(
                    person.document, side, rng=side_rng, degradation=plan.degradation, fmt=fmt
                )
                data = _under_limit(data, fmt)
            name = _unique(_identity_name(person.document, person, side, ext), used, person)
            used.add(name)
            files.append(
                PackageFile(
                    name, "identity", data, media, filed_as, side, f"identity:{role}:{side}"
                )
            )

    if scenario.payment_method == "transfer":
        payment = plan.manifest["payment"]
        proof_rng = _rng(plan.seed, "payment")
        paid_on = plan.submitted_at.date() - timedelta(days=proof_rng.randint(0, 5))
        if plan.light:
            proof = minimal_pdf(
                [
                    "AVIS D'OPERATION",
                    f"Commande {plan.order_number}",
                    f"Montant {payment['amount_ttc']}",
                ]
            )
        else:
            proof = render_payment_proof_pdf(
                order_number=plan.order_number,
                amount_ttc=payment["amount_ttc"],
                transaction_id=f"VIR-{paid_on:%Y%m%d}-{proof_rng.randint(1000, 9999)}",
                paid_on=paid_on,
                rng=proof_rng,
            )
        files.append(
            PackageFile(
                "preuve-paiement.pdf",
                "payment_proof",
                proof,
                "application/pdf",
                key="payment_proof",
            )
        )

    if scenario.has_mandataire:
        mandataire, lr = plan.people[MANDATAIRE], plan.people[LEGAL_REPRESENTATIVE]
        mandate_rng = _rng(plan.seed, "mandate")
        signed_on = plan.submitted_at.date() - timedelta(days=mandate_rng.randint(1, 40))
        if plan.light:
            mandate = minimal_pdf(["MANDAT DE CERTIFICATION", f"Fait le {signed_on:%d/%m/%Y}"])
        else:
            mandate = render_mandate_pdf(
                organisation=plan.organisation["name"],
                legal_representative=f"{lr.first_name} {lr.last_name}",
                mandataire=f"{mandataire.first_name} {mandataire.last_name}",
                signed_on=signed_on,
                electronically_signed=plan.mandate_signed,
                rng=mandate_rng,
            )
        name = f"mandat-{slug(mandataire.last_name)}.pdf"
        files.append(PackageFile(name, "mandate", mandate, "application/pdf", key="mandate"))
    plan.files = files


def _kbis_lines(company: Any) -> list[str]:
    """The text of a light package's Kbis: the real document's wording, on one page."""

    lines = [
        f"Greffe du Tribunal de Commerce de {company.greffe}",
        "Extrait Kbis",
        "EXTRAIT D'IMMATRICULATION PRINCIPALE AU REGISTRE DU COMMERCE ET DES SOCIETES",
        f"a jour au {french_date_words(company.updated_on)}",
        f"Immatriculation au RCS, numero {format_siren(company.siren)} R.C.S. {company.greffe}",
        f"Denomination ou raison sociale {company.name}",
        f"Forme juridique {company.legal_form}",
        "GESTION, DIRECTION, ADMINISTRATION, CONTROLE, ASSOCIES OU MEMBRES",
    ]
    for manager in company.managers:
        lines += [manager.role, f"Nom, prenoms {manager.surname} {manager.given_names}"]
    return lines


# -- the manifest ----------------------------------------------------------------------------------


def _build_manifest(plan: Plan) -> None:
    rng = _rng(plan.seed, "manifest")
    scenario = plan.scenario
    code, label, price = next(o for o in OFFERS if o[0] == scenario.offer)
    amount = price + (PICKUP_FEE if scenario.delivery_mode == "pickup" else Decimal(0))
    lr = plan.people[LEGAL_REPRESENTATIVE]
    if scenario.holder_is_legal_representative:
        holder: dict[str, Any] = {"same_as_legal_representative": True}
        if scenario.repeat_holder_fields:
            holder |= lr.declared()
    else:
        holder = {"same_as_legal_representative": False} | plan.people[HOLDER].declared()
    holder["activation_code_channel"] = scenario.activation_code_channel
    mandataire = None
    if scenario.has_mandataire:
        mandataire = plan.people[MANDATAIRE].declared() | {"has_valid_mandate": True}
    paid = plan.submitted_at.date()
    payment: dict[str, Any] = {"method": scenario.payment_method, "amount_ttc": f"{amount:.2f}"}
    payment["transaction_id"] = (
        f"PAY-{paid:%Y%m%d}-{rng.randint(1, 9999):04d}"
        if scenario.payment_method == "card"
        else None
    )
    plan.manifest = {
        "format": FORMAT,
        "order_number": plan.order_number,
        "revision": plan.revision,
        "submitted_at": plan.submitted_at.isoformat(timespec="seconds"),
        "offer": {"code": code, "label": label, "price_ttc": f"{price:.2f}"},
        "delivery_mode": scenario.delivery_mode,
        "dossier_type": "dematerialised",
        "organisation": plan.organisation,
        "legal_representative": lr.declared(),
        "mandataire": mandataire,
        "holder": holder,
        "delivery_info": rng.choice(DELIVERY_NOTES) if scenario.delivery_mode == "shipping" else "",
        "payment": payment,
        "documents_valid_attested": True,
        "documents": [],
    }


def _declared_people(plan: Plan) -> list[dict[str, Any]]:
    """The person objects of the manifest a customer typed (the holder's fields when they
    are repeated for a holder who is the legal representative are one typing)."""
    manifest = plan.manifest
    people = [manifest["legal_representative"]]
    if not plan.scenario.holder_is_legal_representative:
        people.append(manifest["holder"])
    if manifest["mandataire"]:
        people.append(manifest["mandataire"])
    return people


def _sync_repeated_holder(plan: Plan) -> None:
    """A holder who is the legal representative, with fields repeated: same values."""
    if plan.scenario.holder_is_legal_representative and plan.scenario.repeat_holder_fields:
        for key, value in plan.manifest["legal_representative"].items():
            plan.manifest["holder"][key] = json.loads(json.dumps(value))


# -- structural defects (after rendering) ----------------------------------------------------------


def _apply_structural_defects(plan: Plan, rng: random.Random) -> None:
    defects = plan.defects
    touched: set[str] = set()  # file keys a defect already changed
    for defect in defects:
        plan.failing.add(DEFECTS.get(defect, ""))
    plan.failing.discard("")
    plan.manual.update(rule for defect, rule in REVIEW_DEFECTS.items() if defect in defects)
    if "bad_siren" in defects:
        siren = plan.organisation["siren"]
        digit = (int(siren[-1]) + rng.randint(1, 9)) % 10
        plan.organisation["siren"] = siren[:-1] + str(digit)
        if siren_is_valid(plan.organisation["siren"]):
            raise RuntimeError("bad_siren: the altered SIREN is still valid")
        plan.failing.add("kbis.siren_match")  # a typo: the Kbis says otherwise
    if "not_attested" in defects:
        plan.manifest["documents_valid_attested"] = False
    if "bad_mobile" in defects:
        person = rng.choice(_declared_people(plan))
        person["mobile"] = rng.choice(BAD_MOBILES)
    if "bad_email" in defects:
        person = rng.choice(_declared_people(plan))
        local, _, domain = person["email"].partition("@")
        person["email"] = rng.choice(
            (
                f"{local}@{domain.rsplit('.', 1)[0]}",
                f"{local}.{domain}",
                f"{local}@@{domain}",
                f"{local.replace('.', ' ')}@{domain}",
            )
        )
    if "accented_fields" in defects:
        _accent(plan, rng)
    _sync_repeated_holder(plan)
    if "missing_verso" in defects:
        _drop_verso(plan, rng, touched)
    if "missing_documents" in defects:
        _drop_document(plan, rng, touched)
    if "oversize" in defects:
        _make_oversize(plan, rng, touched)
    if "wrong_format" in defects:
        _wrong_format(plan, rng, touched)
    if "dotted_name" in defects:
        candidates = [f for f in plan.files if f.key not in touched]
        target = rng.choice(candidates or plan.files)
        stem, _, ext = target.path.rpartition(".")
        dotted = stem.replace("-", ".") if "-" in stem else f"{stem}.{plan.today.year}"
        target.path = f"{dotted}.{ext}"
        touched.add(target.key)


def _accent(plan: Plan, rng: random.Random) -> None:
    """Accents where a French customer would type them; at least one, somewhere."""
    fields_to_try: list[tuple[dict[str, Any], str]] = []
    for person in _declared_people(plan):
        fields_to_try += [
            (person, "first_name"),
            (person, "last_name"),
            (person["address"], "line1"),
        ]
    fields_to_try += [(plan.organisation, "name"), (plan.organisation["address"], "line1")]
    rng.shuffle(fields_to_try)
    changed = 0
    for holder, key in fields_to_try:
        words = holder[key].split(" ")
        accented = [ACCENTED.get(w, w) for w in words]
        if accented != words:
            holder[key] = " ".join(accented)
            changed += 1
            if changed >= 2:
                break
    if not changed:
        plan.manifest["delivery_info"] = "Accueil au 2e étage, bâtiment B"


def _identity_targets(plan: Plan, touched: set[str], side: str | None = None) -> list[PackageFile]:
    return [
        f
        for f in plan.files
        if f.type == "identity" and f.key not in touched and (side is None or f.side == side)
    ]


def _mrz_side(plan: Plan, role: str) -> str:
    person = plan.people.get(role) or plan.people[LEGAL_REPRESENTATIVE]
    return str(person.document.mrz_side)


def _drop_verso(plan: Plan, rng: random.Random, touched: set[str]) -> None:
    versos = _identity_targets(plan, touched, "verso")
    target = rng.choice(versos)
    role = target.key.split(":")[1]
    plan.files.remove(target)
    touched.add(target.key)
    if _mrz_side(plan, role) == "verso" and not plan.light:
        plan.failing.add("identity.mrz")  # a CNIe's MRZ is on its verso
    plan.notes["missing_verso"] = f"{role}: {target.path}"


def _drop_document(plan: Plan, rng: random.Random, touched: set[str]) -> None:
    options = ["kbis"]
    kbis_defects = {"old_kbis", "siren_mismatch", "kbis_manager_missing", "bad_siren"}
    if kbis_defects & set(plan.defects):
        options = []
    if plan.scenario.payment_method == "transfer":
        options.append("payment_proof")
    if not plan.scenario.holder_is_legal_representative:
        options.append(LEGAL_REPRESENTATIVE)
    if plan.scenario.has_mandataire:
        options += [MANDATAIRE, "mandate"]
    options = [o for o in options if not any(k.startswith(("identity:" + o, o)) for k in touched)]
    if not options:
        options = ["kbis"]
    what = rng.choice(options)
    if what in (LEGAL_REPRESENTATIVE, MANDATAIRE):
        plan.files = [f for f in plan.files if not f.key.startswith(f"identity:{what}:")]
        plan.failing.update(IDENTITY_RULES)
    else:
        plan.files = [f for f in plan.files if f.key != what]
        if what == "kbis":
            plan.failing.update(KBIS_RULES)
        elif what == "payment_proof":
            plan.failing.add("payment.settled")
        else:
            plan.manifest["mandataire"]["has_valid_mandate"] = False
            plan.failing.add("mandate.valid")
            plan.manual.discard("mandate.valid")
    touched.add(what)
    plan.notes["missing_documents"] = what


def _make_oversize(plan: Plan, rng: random.Random, touched: set[str]) -> None:
    """A high-resolution PNG of the side without the MRZ (reading stays unaffected)."""

    candidates = [
        f
        for f in _identity_targets(plan, touched)
        if f.side != _mrz_side(plan, f.key.split(":")[1])
    ]
    target = rng.choice(candidates or _identity_targets(plan, touched) or plan.files)
    if plan.light:
        data = noise_png(rng)
    else:
        role = target.key.split(":")[1]
        person = plan.people.get(role) or plan.people[LEGAL_REPRESENTATIVE]
        source = render_identity_side(
            person.document, target.side or "recto", rng=_rng(plan.seed, "oversize"),
            degradation="clean", fmt="png",
        )  # fmt: skip
        data = oversize_png(source, rng)
    target.data, target.content_type = data, "image/png"
    target.path = target.path.rsplit(".", 1)[0] + ".png"
    touched.add(target.key)
    plan.notes["oversize"] = f"{target.path}: {len(data)} bytes"


def _wrong_format(plan: Plan, rng: random.Random, touched: set[str]) -> None:
    """Content the extension does not announce: a PNG named .jpg, a PDF named .jpg, the
    payment page saved as HTML and named .pdf."""
    modes = ["png_behind_jpg"]
    proof = plan.file("payment_proof")
    if proof is not None and "payment_proof" not in touched:
        modes += ["pdf_behind_jpg", "html_behind_pdf"]
    mode = rng.choice(modes)
    if mode == "png_behind_jpg":
        candidates = [
            f
            for f in _identity_targets(plan, touched)
            if f.side != _mrz_side(plan, f.key.split(":")[1])
        ]
        target = rng.choice(candidates or _identity_targets(plan, touched))
        if target.content_type == "image/png":
            target.path = target.path.rsplit(".", 1)[0] + ".jpg"
        else:
            image = Image.open(io.BytesIO(target.data))
            target.data = _under_limit(_encode_image(image, "png"), "png")
            target.content_type = "image/png"
    elif mode == "pdf_behind_jpg" and proof is not None:
        target = proof
        target.path = "preuve-paiement.jpg"
    elif proof is not None:
        target = proof
        payment = plan.manifest["payment"]
        target.data = HTML_PAYMENT_PAGE.format(
            order=plan.order_number,
            amount=payment["amount_ttc"],
            reference=f"VIR-{rng.randint(100000, 999999)}",
        ).encode("utf-8")
        target.content_type = "text/html"
    touched.add(target.key)
    plan.notes["wrong_format"] = f"{mode}: {target.path}"


# -- writing ---------------------------------------------------------------------------------------


def package_name(order_number: str, revision: int) -> str:
    return f"dossier-{order_number}" + (f"-r{revision}" if revision > 1 else "")


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def zip_info(
    name: str, *, mode: int = 0o100644, method: int = zipfile.ZIP_DEFLATED
) -> zipfile.ZipInfo:
    """A zip entry's header as every package written here has it: pinned date, Unix mode."""
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = method
    info.create_system = 3  # Unix: the mode bits below mean what they say
    info.external_attr = mode << 16
    return info


def _write_zip(path: Path, entries: Sequence[tuple[str, bytes]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for name, data in entries:
            archive.writestr(zip_info(name), data, compresslevel=6)
    tmp.replace(path)


def _write_directory(root: Path, entries: Sequence[tuple[str, bytes]]) -> None:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for name, data in entries:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _entries(plan: Plan) -> list[tuple[str, bytes]]:
    return [("dossier.json", _manifest_bytes(plan.manifest))] + [
        (f.path, f.data) for f in plan.files
    ]


def _expected(plan: Plan, package: Path) -> dict[str, Any]:
    people = {role: p.truth() for role, p in plan.people.items()}
    holder_role = LEGAL_REPRESENTATIVE if plan.scenario.holder_is_legal_representative else HOLDER
    failing = sorted(plan.failing)
    return {
        "order_number": plan.order_number,
        "revision": plan.revision,
        "package": package.name,
        "seed": plan.seed,
        "today": plan.today.isoformat(),
        "light": plan.light,
        # Light packages hold placeholder images: MRZ and document reading say nothing.
        "content_checks": not plan.light,
        "degradation": plan.degradation,
        "defects": list(plan.defects),
        "clean": not plan.defects,
        "expected_failing_rules": failing,
        "failing_rules": failing,
        "expected_manual_rules": sorted(plan.manual),
        "notes": dict(plan.notes),
        "variant": {f.name: getattr(plan.scenario, f.name) for f in fields(Scenario)},
        "holder": people[holder_role],
        "people": people,
        "organisation": {
            "declared_siren": plan.organisation["siren"],
            "kbis_siren": plan.company.siren,
            "name": plan.organisation["name"],
            "kbis_kind": plan.company.kind,
            "kbis_date": plan.company.updated_on.isoformat(),
            "kbis_managers": [
                {"role": m.role, "surname": m.surname, "given_names": m.given_names}
                for m in plan.company.managers
            ],
        },
        "files": [
            {
                **f.entry(),
                "content_type": f.content_type,
                "size": len(f.data),
                "sha256": hashlib.sha256(f.data).hexdigest(),
            }
            for f in plan.files
        ],
    }


def _build(
    *,
    seed: int,
    order_number: str,
    today: date,
    defects: Sequence[str],
    revision: int,
    degradation: str,
    variant: dict[str, Any] | None,
    light: bool,
) -> Plan:
    plan = _plan(
        seed=seed,
        order_number=order_number,
        today=today,
        defects=defects,
        revision=revision,
        degradation=degradation,
        variant=variant,
        light=light,
    )
    defect_rng = _rng(seed, "defects", *sorted(plan.defects))
    _apply_content_defects(plan, defect_rng)
    _build_manifest(plan)
    _render_files(plan)
    _apply_structural_defects(plan, defect_rng)
    plan.manifest["documents"] = [f.entry() for f in plan.files]
    if not plan.defects:
        _assert_clean(plan)
    return plan


def _assert_clean(plan: Plan) -> None:
    """The promises a clean package makes, checked on what is about to be written."""
    for f in plan.files:
        if len(f.data) > MAX_FILE_BYTES:
            raise RuntimeError(f"{f.path}: {len(f.data)} bytes, over the portal's limit")
        if "." in f.path.rsplit(".", 1)[0]:
            raise RuntimeError(f"{f.path}: dot in the name")
    text = json.dumps(plan.manifest, ensure_ascii=False)
    if not text.isascii():
        raise RuntimeError("non-ASCII character in a clean dossier's fields")


def generate_dossier(
    out_dir: Path,
    *,
    seed: int,
    order_number: str,
    today: date,
    defects: Sequence[str] = (),
    revision: int = 1,
    zip_package: bool = False,
    degradation: str = "scan",
    variant: dict[str, Any] | None = None,
    light: bool = False,
) -> Path:
    """Write one portal package into `out_dir` (a directory, or a `.zip` with
    `zip_package`) and `<name>.expected.json` beside it. Returns the package's path.

    `defects` are names from DEFECTS or REVIEW_DEFECTS; `variant` pins scenario choices
    (keys of `CHOICES`, e.g. {"payment_method": "transfer", "has_mandataire": True});
    `light` writes tiny placeholder documents (structural defects only)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plan = _build(
        seed=seed,
        order_number=order_number,
        today=today,
        defects=defects,
        revision=revision,
        degradation=degradation,
        variant=variant,
        light=light,
    )
    name = package_name(order_number, revision)
    entries = _entries(plan)
    if zip_package:
        path = out_dir / f"{name}.zip"
        _write_zip(path, entries)
    else:
        path = out_dir / name
        _write_directory(path, entries)
    expected = _expected(plan, path)
    (out_dir / f"{name}.expected.json").write_text(
        json.dumps(expected, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return path


# -- batches ---------------------------------------------------------------------------------------


def _balanced(rng: random.Random, options: Sequence[Any], count: int) -> list[Any]:
    """`count` values cycling through `options`, shuffled: every option shows up."""
    values = [options[i % len(options)] for i in range(count)]
    rng.shuffle(values)
    return values


def plan_batch(
    out_dir: Path,
    *,
    count: int,
    seed: int,
    today: date,
    defect_rate: float = 0.3,
    zip_package: bool = False,
    degradation: str = "scan",
    light: bool = False,
    defects: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """What `generate_batch` makes, one `generate_dossier` keyword set per package, so that a
    caller can build them elsewhere (another process) in the same order: about `defect_rate`
    of them with one defect (every defect in turn), the rest clean; shipping and pickup, card
    and transfer, with and without mandataire, holder the legal representative or not, old CNI,
    CNIe and passport, each in turn. `defects` given: every package carries exactly those."""
    if not 0 <= defect_rate <= 1:
        raise ValueError("defect_rate is a fraction between 0 and 1")
    rng = _rng(seed, "batch")
    dimensions = {
        "delivery_mode": ("shipping", "pickup", "shipping"),
        "payment_method": ("card", "transfer", "card"),
        "has_mandataire": (False, True, False),
        "holder_is_legal_representative": (False, True, False),
        "holder_kind": CHOICES["holder_kind"],
    }
    plan = {key: _balanced(rng, options, count) for key, options in dimensions.items()}
    pool = sorted(STRUCTURAL_DEFECTS if light else ALL_DEFECTS)
    rng.shuffle(pool)
    defective = set(rng.sample(range(count), round(count * defect_rate)))
    order = 100000 + rng.randrange(0, 800000)
    specs = []
    next_defect = 0
    for index in range(count):
        order += rng.randint(1, 40)
        chosen: list[str] = []
        if defects is not None:
            chosen = list(defects)
        elif index in defective:
            chosen = [pool[next_defect % len(pool)]]
            next_defect += 1
        variant = {key: values[index] for key, values in plan.items()}
        for defect in chosen:
            for key in DEFECT_REQUIREMENTS.get(defect, {}):
                variant.pop(key, None)
        specs.append(
            {
                "out_dir": out_dir,
                "seed": rng.getrandbits(32),
                "order_number": str(order),
                "today": today,
                "defects": chosen,
                "zip_package": zip_package,
                "degradation": degradation,
                "variant": variant,
                "light": light,
            }
        )
    return specs


def build_dossier(spec: dict[str, Any]) -> Path:
    """One package of a `plan_batch` plan (a top-level function, so a process pool can run it)."""
    return generate_dossier(**spec)


def generate_batch(out_dir: Path, **plan: Any) -> list[Path]:
    """`count` packages as `plan_batch` describes them, built here one after the other."""
    return [build_dossier(spec) for spec in plan_batch(out_dir, **plan)]


def read_expected(package: Path) -> dict[str, Any]:
    """The expected outcome written beside a package (directory or zip)."""
    name = package.name[: -len(".zip")] if package.name.endswith(".zip") else package.name
    data: dict[str, Any] = json.loads(
        (package.parent / f"{name}.expected.json").read_text(encoding="utf-8")
    )
    return data


# -- broken packages -------------------------------------------------------------------------------


def _symlink_info(name: str) -> zipfile.ZipInfo:
    return zip_info(name, mode=stat.S_IFLNK | 0o777, method=zipfile.ZIP_STORED)


def _zeros(total: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    block = bytes(chunk)
    while total > 0:
        yield block[: min(chunk, total)]
        total -= chunk


def generate_broken_package(out_dir: Path, kind: str, *, seed: int) -> Path:
    """A package the ingestion must refuse, broken the way `kind` says (BROKEN_KINDS). Built
    from a valid light dossier; `<name>.expected.json` beside it says `refused`."""
    if kind not in BROKEN_KINDS:
        raise ValueError(f"unknown broken kind {kind!r}; known: {BROKEN_KINDS}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    order_number = str(900000 + (seed % 1000) * 10 + BROKEN_KINDS.index(kind))
    plan = _build(
        seed=seed,
        order_number=order_number,
        today=date(2026, 11, 20),
        defects=(),
        revision=1,
        degradation="clean",
        variant={"holder_is_legal_representative": False},
        light=True,
    )
    name = f"broken-{kind.replace('_', '-')}"
    manifest = plan.manifest
    entries = _entries(plan)
    identity = next(f for f in plan.files if f.type == "identity")
    why = ""
    path = out_dir / name
    if kind == "bad_json":
        text = _manifest_bytes(manifest)
        entries[0] = ("dossier.json", text[: len(text) * 2 // 3])
        why = "dossier.json cut short: not JSON"
    elif kind == "unknown_format":
        manifest["format"] = "portail-commande/2"
        why = "format portail-commande/2"
    elif kind == "missing_keys":
        for key in ("organisation", "payment", "holder"):
            del manifest[key]
        why = "organisation, payment and holder missing"
    elif kind == "path_traversal":
        outside = f"{name}-outside.jpg"
        (out_dir / outside).write_bytes(identity.data)  # the escape leads to a real file
        manifest["documents"][plan.files.index(identity)]["path"] = f"../{outside}"
        entries = [e for e in entries if e[0] != identity.path]
        why = f"documents[].path ../{outside} escapes the package"
    elif kind == "missing_file":
        entries = [e for e in entries if e[0] != identity.path]
        why = f"{identity.path} named in dossier.json, absent from the package"
    elif kind == "two_holders":
        other = dict(manifest["legal_representative"])
        manifest["holder"] = [manifest["holder"], other | {"same_as_legal_representative": False}]
        why = "holder given as a list of two (grouped order)"
    if kind.startswith("zip_"):
        path = out_dir / f"{name}.zip"
        entries[0] = ("dossier.json", _manifest_bytes(manifest))
        tmp = path.with_name(path.name + ".tmp")
        with zipfile.ZipFile(tmp, "w") as archive:
            for entry_name, data in entries:
                archive.writestr(zip_info(entry_name), data, compresslevel=6)
            if kind == "zip_slip":
                archive.writestr(zip_info("../evil"), b"written outside the extraction root\n")
                why = "zip entry ../evil"
            elif kind == "zip_absolute":
                archive.writestr(zip_info("/etc/x"), b"absolute path\n")
                why = "zip entry /etc/x"
            elif kind == "zip_symlink":
                archive.writestr(_symlink_info("lien-porteur.jpg"), b"/etc/passwd")
                why = "zip entry lien-porteur.jpg is a symbolic link to /etc/passwd"
            else:
                with archive.open(zip_info("scan-porteur.png"), "w", force_zip64=True) as handle:
                    for block in _zeros(ZIP_BOMB_BYTES):
                        handle.write(block)
                why = f"scan-porteur.png inflates to {ZIP_BOMB_BYTES} bytes of zeros"
        tmp.replace(path)
    else:
        if kind != "bad_json":
            entries[0] = ("dossier.json", _manifest_bytes(manifest))
        _write_directory(path, entries)
    (out_dir / f"{name}.expected.json").write_text(
        json.dumps(
            {"order_number": order_number, "package": path.name, "refused": True,
             "broken_kind": kind, "why": why},
            indent=2,
        ) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    return path
