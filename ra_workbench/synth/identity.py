"""Synthetic French identity documents: the old CNI (1988-2021), the CNIe (2021) and the
passport, as scans and phone photos, for the demo, the tests and the extraction benchmark.

Seeded and reproducible: every random choice comes from the `random.Random` passed in.
The machine-readable zone is composed by the MRZ codec (so its check digits are right) and
printed in OCR-B from fonts-ocr-b; the rest of the card is plausible decoration.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ra_workbench.extraction.mrz import codec
from ra_workbench.extraction.mrz.ocrb import draw_mrz

KINDS = ("cni1988", "cnie", "passport")
SIDES = ("recto", "verso")
DEGRADATIONS = ("clean", "scan", "photo", "lowres", "hard")
# What real uploads add (issue 17): a flash or window reflected on the card, the
# hologram film printed over the MRZ, the texture of a laminated card, a picture sent
# through messaging apps that re-compress it, a phone that moved or did not focus.
REAL_WORLD_DEGRADATIONS = ("glare", "hologram", "lamination", "recompressed", "phone_blur")
ALL_DEGRADATIONS = DEGRADATIONS + REAL_WORLD_DEGRADATIONS
# Where the MRZ lies on the side that carries it, as fractions of the card's height.
MRZ_BAND = {"cni1988": (0.74, 1.0), "cnie": (0.63, 0.88), "passport": (0.78, 1.0)}
MAX_OUTPUT_BYTES = 3_000_000  # the portal's 3 Mo limit

SURNAMES = (
    "MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU",
    "LAURENT", "SIMON", "MICHEL", "LEFEBVRE", "LEROY", "ROUX", "DAVID", "BERTRAND", "MOREL",
    "FOURNIER", "GIRARD", "BONNET", "DUPONT", "LAMBERT", "FONTAINE", "ROUSSEAU", "VINCENT",
    "MULLER", "LEFEVRE", "FAURE", "ANDRE", "MERCIER", "BLANC", "GUERIN", "BOYER", "GARNIER",
    "CHEVALIER", "FRANCOIS", "LEGRAND", "GAUTHIER", "GARCIA", "PERRIN", "ROBIN", "CLEMENT",
    "MORIN", "NICOLAS", "HENRY", "ROUSSEL", "MATHIEU", "GAUTIER", "MASSON", "MARCHAND",
    "DUVAL", "DENIS", "DUMONT", "MARIE", "LEMAIRE", "NOEL", "MEYER", "DUFOUR", "MEUNIER",
    "BRUN", "BLANCHARD", "GIRAUD", "JOLY", "RIVIERE", "LUCAS", "BRUNET", "GAILLARD", "BARBIER",
    "ARNAUD", "MARTINEZ", "GERARD", "ROCHE", "RENARD", "SCHMITT", "ROY", "LEROUX", "COLIN",
    "VIDAL", "CARON", "PICARD", "ROGER", "FABRE", "AUBERT", "LEMOINE", "RENAUD", "DUMAS",
    "LACROIX", "OLIVIER", "PHILIPPE", "BOURGEOIS", "PIERRE", "BENOIT", "REY", "LECLERC",
    "PAYET", "ROLLAND", "LECLERCQ", "GUILLAUME", "LECOMTE", "LOPEZ", "JEAN", "DUPUY",
    "DE LA FONTAINE", "LE GALL", "SAINT-ANDRE", "BERTHIER", "KERGUELEN", "VAN DER BERG",
)  # fmt: skip
GIVEN_F = (
    "MARIE", "CAMILLE", "LEA", "MANON", "CHLOE", "EMMA", "INES", "SARAH", "JULIE", "LAURA",
    "CLARA", "PAULINE", "MATHILDE", "ANNE", "SOPHIE", "NATHALIE", "ISABELLE", "SYLVIE",
    "CATHERINE", "CORINNE", "VALERIE", "CHRISTINE", "FRANCOISE", "MONIQUE", "HELENE",
    "AGNES", "CELINE", "ELODIE", "AURELIE", "MAELYS", "GAELLE", "ZOE", "LOUISE", "JEANNE",
)  # fmt: skip
GIVEN_M = (
    "JEAN", "PIERRE", "MICHEL", "ANDRE", "PHILIPPE", "ALAIN", "NICOLAS", "LUC", "PAUL",
    "THOMAS", "LUCAS", "HUGO", "LOUIS", "GABRIEL", "ARTHUR", "JULES", "ANTOINE", "MAXIME",
    "ALEXANDRE", "QUENTIN", "JULIEN", "SEBASTIEN", "FRANCOIS", "LAURENT", "ERIC", "OLIVIER",
    "CHRISTOPHE", "STEPHANE", "DAVID", "BENOIT", "YVES", "MARC", "HERVE", "NOE", "JEAN-PAUL",
)  # fmt: skip
CITIES = ("PARIS 1ER", "LYON 3E", "MARSEILLE", "NANTES", "LILLE", "RENNES", "BORDEAUX",
          "TOULOUSE", "STRASBOURG", "DIJON", "BREST", "NICE", "ROUEN", "TOURS", "METZ")  # fmt: skip

SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SANS_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


@dataclass(frozen=True)
class IdentityPerson:
    surname: str
    given_names: tuple[str, ...]
    sex: str  # 'F' or 'M'
    birth_date: date
    nationality: str = "FRA"


@dataclass(frozen=True)
class IdentityDocument:
    kind: str  # 'cni1988' | 'cnie' | 'passport'
    person: IdentityPerson
    document_number: str
    issue_date: date
    expiry_date: date | None
    mrz_lines: tuple[str, ...]

    @property
    def mrz_format(self) -> str:
        return {"cni1988": codec.FR_CNI, "cnie": codec.TD1, "passport": codec.TD3}[self.kind]

    @property
    def mrz_side(self) -> str:
        return "verso" if self.kind == "cnie" else "recto"


def random_person(rng: random.Random) -> IdentityPerson:
    """A plausible French adult or teenager; names without accents (as in an MRZ)."""
    sex = rng.choice("FM")
    pool = GIVEN_F if sex == "F" else GIVEN_M
    count = rng.choices((1, 2, 3), weights=(5, 4, 1))[0]
    given = tuple(rng.sample(pool, count))
    birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 68))
    return IdentityPerson(rng.choice(SURNAMES), given, sex, birth)


def make_identity_document(
    person: IdentityPerson,
    kind: str,
    *,
    issue_date: date,
    rng: random.Random,
    expiry_date: date | None = None,
) -> IdentityDocument:
    if kind == "cni1988":
        office = (
            f"{rng.randrange(1, 976):03d}"
            if rng.random() < 0.85
            else (f"{rng.randrange(10, 99)}{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}")
        )
        sequence = f"{rng.randrange(0, 100000):05d}"
        admin = (
            f"{rng.randrange(1, 96):02d}{rng.randrange(0, 10000):04d}" if rng.random() < 0.8 else ""
        )
        lines: tuple[str, ...] = codec.compose_fr_cni(
            surname=person.surname,
            given_names=person.given_names,
            birth_date=person.birth_date,
            sex=person.sex,
            issue_date=issue_date,
            office_code=office,
            sequence=sequence,
            administrative_code=admin,
        )
        number = lines[1][:12]
        issue_month = issue_date.replace(day=1)
        derived = codec.derive_fr_cni_expiry(issue_month, person.birth_date)
        return IdentityDocument(kind, person, number, issue_date, expiry_date or derived, lines)
    if kind == "cnie":
        alnum = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
        number = rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") + "".join(
            rng.choice(alnum) for _ in range(8)
        )
        expiry = expiry_date or (codec.add_years(issue_date, 10) - timedelta(days=1))
        lines = codec.compose_td1(
            document_code="ID",
            issuing_state="FRA",
            document_number=number,
            birth_date=person.birth_date,
            sex=person.sex,
            expiry_date=expiry,
            nationality=person.nationality,
            surname=person.surname,
            given_names=person.given_names,
        )
        return IdentityDocument(kind, person, number, issue_date, expiry, lines)
    if kind == "passport":
        number = f"{rng.randrange(10, 100)}{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}"
        number += f"{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{rng.randrange(0, 100000):05d}"
        expiry = expiry_date or (codec.add_years(issue_date, 10) - timedelta(days=1))
        lines = codec.compose_td3(
            issuing_state="FRA",
            document_number=number,
            birth_date=person.birth_date,
            sex=person.sex,
            expiry_date=expiry,
            nationality=person.nationality,
            surname=person.surname,
            given_names=person.given_names,
        )
        return IdentityDocument(kind, person, number, issue_date, expiry, lines)
    raise ValueError(f"unknown identity document kind: {kind}")


# ---------------------------------------------------------------------------- card art


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(SANS_BOLD if bold else SANS, size)
    except OSError:
        return ImageFont.load_default()


def _background(
    width: int, height: int, rng: random.Random, tint: tuple[int, int, int]
) -> Image.Image:
    """Pale gradient with a guilloche of sine curves."""
    xs = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    ys = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    base = np.array(tint, dtype=np.float32)[None, None, :]
    other = np.array([255, 255, 255], dtype=np.float32)[None, None, :]
    mix = 0.55 + 0.45 * (xs * rng.uniform(0.3, 1) + ys * rng.uniform(0, 0.7)) / 1.7
    img = base * (1 - mix) + other * mix
    canvas = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    line_colour = tuple(max(0, c - 35) for c in tint)
    for k in range(rng.randint(14, 26)):
        amp = rng.uniform(0.02, 0.12) * height
        freq = rng.uniform(1.5, 6) * 2 * math.pi / width
        phase = rng.uniform(0, 2 * math.pi)
        y0 = (k + rng.random()) * height / 20
        pts = [(x, y0 + amp * math.sin(freq * x + phase)) for x in range(0, width, 6)]
        draw.line(pts, fill=line_colour, width=1)
    return canvas


def _photo_placeholder(
    canvas: Image.Image, box: tuple[int, int, int, int], rng: random.Random
) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    grey = rng.randint(170, 215)
    # Drawn on its own tile and pasted: head and shoulders stay inside the photo's frame, as
    # on a real card (the shoulders used to spill over the MRZ below the photo).
    photo = Image.new("RGB", (w, h), (grey, grey, grey + 8))
    draw = ImageDraw.Draw(photo)
    skin = (rng.randint(60, 120),) * 3
    draw.ellipse((w * 0.3, h * 0.15, w * 0.7, h * 0.6), fill=skin)
    draw.ellipse((w * 0.1, h * 0.62, w * 0.9, h * 1.25), fill=skin)
    canvas.paste(photo, (x0, y0))


def _fr_date(day: date | None) -> str:
    return day.strftime("%d.%m.%Y") if day else ""


def _card_cni1988(doc: IdentityDocument, side: str, rng: random.Random) -> Image.Image:
    width, height = 1030, 650  # 85.6 × 54 mm at 12 px/mm
    canvas = _background(width, height, rng, (rng.randint(170, 200), 225, rng.randint(200, 225)))
    draw = ImageDraw.Draw(canvas)
    p = doc.person
    if side == "recto":
        draw.rectangle((0, 0, width, 70), fill=(30, 60, 150))
        draw.text((40, 14), "RÉPUBLIQUE FRANÇAISE", font=_font(34, True), fill=(255, 255, 255))
        draw.text((40, 80), f"CARTE NATIONALE D'IDENTITÉ N° : {doc.document_number}",
                  font=_font(22), fill=(30, 30, 80))  # fmt: skip
        _photo_placeholder(canvas, (40, 130, 280, 430), rng)
        label, value = _font(18), _font(24, True)
        rows = [("Nom :", p.surname), ("Prénom(s) :", ", ".join(p.given_names)),
                ("Sexe :", p.sex), ("Né(e) le :", _fr_date(p.birth_date)),
                ("à :", rng.choice(CITIES)), ("Taille :", f"1m{rng.randint(50, 95)}")]  # fmt: skip
        for k, (lab, val) in enumerate(rows):
            y = 130 + k * 44
            draw.text((310, y + 4), lab, font=label, fill=(60, 60, 90))
            draw.text((450, y), val, font=value, fill=(20, 20, 20))
        draw.text((310, 400), "Signature du titulaire :", font=label, fill=(60, 60, 90))
        # White MRZ band at the bottom; the 36-character lines fill ~92% of the width.
        draw.rectangle((0, 470, width, height), fill=(246, 246, 240))
        pitch = width * 0.92 / 36
        draw_mrz(canvas, doc.mrz_lines, (width * 0.04, 500), pitch, fill=(15, 15, 15))
    else:
        draw.text((40, 40), "Adresse :", font=_font(20), fill=(60, 60, 90))
        draw.text(
            (180, 36),
            f"{rng.randint(1, 120)} RUE DES LILAS",
            font=_font(24, True),
            fill=(20, 20, 20),
        )
        draw.text(
            (180, 72),
            f"{rng.randint(10, 95)}000 {rng.choice(CITIES)}",
            font=_font(24, True),
            fill=(20, 20, 20),
        )
        draw.text(
            (40, 160),
            f"Carte valable jusqu'au : {_fr_date(doc.expiry_date)}",
            font=_font(22),
            fill=(20, 20, 20),
        )
        draw.text(
            (40, 200),
            f"délivrée le : {_fr_date(doc.issue_date)}",
            font=_font(22),
            fill=(20, 20, 20),
        )
        draw.text((40, 240), "par : LE PRÉFET", font=_font(22), fill=(20, 20, 20))
        draw.ellipse((640, 200, 900, 460), outline=(120, 40, 60), width=4)
        draw.text((680, 310), "TIMBRE FISCAL", font=_font(22, True), fill=(120, 40, 60))
    return canvas


def _card_cnie(doc: IdentityDocument, side: str, rng: random.Random) -> Image.Image:
    width, height = 1030, 650
    canvas = _background(width, height, rng, (rng.randint(185, 210), 215, 240))
    draw = ImageDraw.Draw(canvas)
    p = doc.person
    label, value = _font(17), _font(24, True)
    if side == "recto":
        draw.text((300, 20), "RÉPUBLIQUE FRANÇAISE", font=_font(30, True), fill=(30, 50, 120))
        draw.text(
            (300, 60),
            "CARTE NATIONALE D'IDENTITÉ / IDENTITY CARD",
            font=_font(18),
            fill=(30, 50, 120),
        )
        _photo_placeholder(canvas, (30, 110, 270, 420), rng)
        rows = [("NOM / Surname", p.surname), ("Prénoms / Given names", ", ".join(p.given_names)),
                ("SEXE / Sex", p.sex), ("NATIONALITÉ", "FRA"),
                ("DATE DE NAISS. / Date of birth", p.birth_date.strftime("%d %m %Y")),
                ("N° DU DOCUMENT", doc.document_number),
                ("DATE D'EXPIR.", _fr_date(doc.expiry_date).replace(".", " "))]  # fmt: skip
        for k, (lab, val) in enumerate(rows):
            y = 110 + k * 70
            draw.text((300, y), lab, font=label, fill=(70, 70, 110))
            draw.text((300, y + 22), val, font=value, fill=(20, 20, 20))
    else:
        draw.text((230, 30), "ADRESSE / Address", font=label, fill=(70, 70, 110))
        draw.text(
            (230, 55),
            f"{rng.randint(1, 120)} AVENUE DE LA RÉPUBLIQUE",
            font=value,
            fill=(20, 20, 20),
        )
        draw.text(
            (230, 90),
            f"{rng.randint(10, 95)}000 {rng.choice(CITIES)}",
            font=value,
            fill=(20, 20, 20),
        )
        draw.text((230, 150), "DATE DE DÉLIVRANCE / Date of issue", font=label, fill=(70, 70, 110))
        draw.text((230, 175), doc.issue_date.strftime("%d %m %Y"), font=value, fill=(20, 20, 20))
        for k in range(10):  # the 2D barcode
            for j in range(10):
                if rng.random() < 0.5:
                    draw.rectangle(
                        (40 + k * 15, 30 + j * 15, 54 + k * 15, 44 + j * 15), fill=(10, 10, 10)
                    )
        draw.text((260, 350), "RÉPUBLIQUE FRANÇAISE", font=_font(22, True), fill=(30, 50, 120))
        pitch = 2.54 * 12  # ICAO pitch at 12 px/mm: 30 characters span 76 mm
        draw_mrz(canvas, doc.mrz_lines, ((width - 30 * pitch) / 2, 420), pitch, fill=(10, 10, 10))
    return canvas


def _card_passport(doc: IdentityDocument, side: str, rng: random.Random) -> Image.Image:
    width, height = 1250, 880  # 125 × 88 mm at 10 px/mm
    canvas = _background(width, height, rng, (rng.randint(200, 230), rng.randint(190, 215), 235))
    draw = ImageDraw.Draw(canvas)
    p = doc.person
    label, value = _font(16), _font(24, True)
    if side == "recto":
        draw.text((330, 25), "RÉPUBLIQUE FRANÇAISE", font=_font(30, True), fill=(60, 30, 90))
        draw.text((330, 65), "PASSEPORT / PASSPORT", font=_font(20), fill=(60, 30, 90))
        _photo_placeholder(canvas, (40, 120, 300, 480), rng)
        rows = [("Type / Type", "P"), ("Code du pays / Country code", "FRA"),
                ("Passeport n° / Passport No.", doc.document_number),
                ("Nom / Surname", p.surname), ("Prénoms / Given names", ", ".join(p.given_names)),
                ("Date de naissance / Date of birth", _fr_date(p.birth_date)),
                ("Sexe / Sex", p.sex),
                ("Date d'expiration / Date of expiry", _fr_date(doc.expiry_date))]  # fmt: skip
        for k, (lab, val) in enumerate(rows):
            y = 110 + k * 64
            draw.text((330, y), lab, font=label, fill=(80, 60, 110))
            draw.text((330, y + 20), val, font=value, fill=(20, 20, 20))
        draw.rectangle((0, 680, width, height), fill=(244, 242, 248))
        pitch = 25.4
        draw_mrz(canvas, doc.mrz_lines, ((width - 44 * pitch) / 2, 715), pitch, fill=(10, 10, 10))
    else:
        draw.text((450, 40), "VISAS", font=_font(40, True), fill=(60, 30, 90))
        for k in range(3):
            x0 = 80 + k * 380
            draw.rectangle((x0, 200, x0 + 320, 520), outline=(90, 60, 120), width=3)
            draw.text((x0 + 30, 340), "ENTRÉE", font=_font(28, True), fill=(90, 60, 120))
    return canvas


CARD_PAINTERS = {"cni1988": _card_cni1988, "cnie": _card_cnie, "passport": _card_passport}


# ---------------------------------------------------------------------------- degradations


def _texture(width: int, height: int, rng: random.Random) -> np.ndarray:
    """A table, a floor, a blanket: a coloured textured background for phone photos."""
    colour = np.array([rng.randint(40, 230) for _ in range(3)], dtype=np.float32)
    noise = np.random.default_rng(rng.getrandbits(32)).normal(
        0, 1, (height // 16 + 1, width // 16 + 1)
    )
    low = cv2.resize(noise.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    img = colour[None, None, :] * (1 + 0.12 * low[:, :, None])
    if rng.random() < 0.5:  # tiles or planks
        step = rng.randint(120, 400)
        for x in range(0, width, step):
            img[:, x : x + 3] *= 0.7
        if rng.random() < 0.5:
            for y in range(0, height, step):
                img[y : y + 3] *= 0.7
    return np.clip(img, 0, 255).astype(np.uint8)


def _place(
    card: np.ndarray,
    canvas: np.ndarray,
    rng: random.Random,
    *,
    fill: float,
    skew: float,
    perspective: float,
) -> np.ndarray:
    """Warp the card onto the canvas: scale to `fill` of its width, rotate, keystone."""
    ch, cw = card.shape[:2]
    canvas_h, canvas_w = canvas.shape[:2]
    angle = math.radians(rng.uniform(-skew, skew))
    # Largest scale so that the rotated card fits, then `fill` of the canvas width.
    rot_w = abs(cw * math.cos(angle)) + abs(ch * math.sin(angle))
    rot_h = abs(cw * math.sin(angle)) + abs(ch * math.cos(angle))
    scale = min(fill * canvas_w / rot_w, 0.95 * canvas_h / rot_h)
    cx = canvas_w / 2 + rng.uniform(-0.5, 0.5) * max(0.0, canvas_w - rot_w * scale)
    cy = canvas_h / 2 + rng.uniform(-0.5, 0.5) * max(0.0, canvas_h - rot_h * scale)
    src = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], dtype=np.float32)
    dst = []
    for x, y in src.tolist():
        dx, dy = (x - cw / 2) * scale, (y - ch / 2) * scale
        px = cx + dx * math.cos(angle) - dy * math.sin(angle)
        py = cy + dx * math.sin(angle) + dy * math.cos(angle)
        jitter = perspective * cw * scale
        dst.append([px + rng.uniform(-jitter, jitter), py + rng.uniform(-jitter, jitter)])
    matrix = cv2.getPerspectiveTransform(src, np.array(dst, dtype=np.float32))
    warped = cv2.warpPerspective(card, matrix, (canvas_w, canvas_h), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((ch, cw), 255, np.uint8), matrix, (canvas_w, canvas_h))
    out = canvas.copy()
    out[mask > 127] = warped[mask > 127]
    return out


def _finish(
    img: np.ndarray, rng: random.Random, *, blur: float, noise: float, light: bool
) -> np.ndarray:
    out: np.ndarray = img.astype(np.float32)
    if light:
        h, w = out.shape[:2]
        gx = np.linspace(rng.uniform(0.7, 1.0), rng.uniform(0.95, 1.1), w, dtype=np.float32)
        gy = np.linspace(rng.uniform(0.8, 1.05), rng.uniform(0.9, 1.1), h, dtype=np.float32)
        out *= (gy[:, None] * gx[None, :])[:, :, None]
    if blur > 0.05:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    if noise > 0:
        out += (
            np.random.default_rng(rng.getrandbits(32))
            .normal(0, noise, out.shape)
            .astype(np.float32)
        )
    return np.clip(out, 0, 255).astype(np.uint8)


def _glare(card: np.ndarray, band: tuple[float, float], rng: random.Random) -> np.ndarray:
    """A specular reflection (flash, window): a bright elongated spot that washes the print
    out, centred on the MRZ band or beside it."""
    h, w = card.shape[:2]
    cx = rng.uniform(0.15, 0.85) * w
    cy = rng.uniform(band[0] - 0.1, band[1]) * h
    sx, sy = rng.uniform(0.06, 0.16) * w, rng.uniform(0.04, 0.1) * h
    theta = rng.uniform(0, math.pi)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = xs - cx, ys - cy
    u = dx * math.cos(theta) + dy * math.sin(theta)
    v = -dx * math.sin(theta) + dy * math.cos(theta)
    spot = np.exp(-((u / sx) ** 2 + (v / sy) ** 2))
    strength = rng.uniform(110, 190)
    out = card.astype(np.float32) + strength * spot[:, :, None]
    return np.clip(out, 0, 255).astype(np.uint8)


def _hologram(card: np.ndarray, band: tuple[float, float], rng: random.Random) -> np.ndarray:
    """The iridescent security film over the MRZ: translucent rainbow bands that shift
    with the angle, and a repeated emblem."""
    h, w = card.shape[:2]
    y0, y1 = round(band[0] * h), round(band[1] * h)
    ys, xs = np.mgrid[y0:y1, 0:w].astype(np.float32)
    period = rng.uniform(0.08, 0.2) * w
    slope = rng.uniform(-0.6, 0.6)
    phase = (xs + slope * ys) * 2 * math.pi / period
    rainbow = np.stack([np.sin(phase + k * 2.1) for k in range(3)], axis=-1) * 0.5 + 0.5
    film = np.full((y1 - y0, w, 3), 255.0, np.float32) * (0.55 + 0.45 * rainbow)
    emblems = Image.new("L", (w, y1 - y0), 0)
    draw = ImageDraw.Draw(emblems)
    radius = rng.randint(18, 40)
    for x in range(rng.randint(0, radius), w, radius * 4):
        cy = rng.randint(0, max(1, y1 - y0))
        draw.ellipse((x - radius, cy - radius, x + radius, cy + radius), outline=255, width=3)
        draw.text((x - radius // 2, cy - radius // 2), "RF", font=_font(radius), fill=255)
    alpha = rng.uniform(0.18, 0.32) + 0.25 * np.asarray(emblems, np.float32)[:, :, None] / 255
    out = card.astype(np.float32)
    out[y0:y1] = out[y0:y1] * (1 - alpha) + film * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


def _lamination(card: np.ndarray, rng: random.Random) -> np.ndarray:
    """The plastic of a laminated card: a fine embossed grain, a faint regular pattern and
    a broad sheen across the whole card."""
    h, w = card.shape[:2]
    gen = np.random.default_rng(rng.getrandbits(32))
    grain = np.asarray(
        cv2.GaussianBlur(gen.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.2), np.float32
    )
    grain = grain * np.float32(rng.uniform(10, 18) / max(1e-6, float(grain.std())))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    step = rng.uniform(5, 9)
    weave = 6 * np.sin(xs * 2 * math.pi / step) * np.sin(ys * 2 * math.pi / step)
    sheen = 30 * np.exp(-(((xs - rng.uniform(0, w)) / (0.5 * w)) ** 2))
    out = card.astype(np.float32) + (grain + weave + sheen)[:, :, None]
    return np.clip(out, 0, 255).astype(np.uint8)


def _recompressed(arr: np.ndarray, rng: random.Random) -> np.ndarray:
    """A picture forwarded through messaging apps: each hop scales it down a little and
    JPEG-encodes it again at a low quality."""
    image = Image.fromarray(arr)
    for _ in range(rng.randint(2, 4)):
        factor = rng.uniform(0.8, 0.95)
        image = image.resize((round(image.width * factor), round(image.height * factor)))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=rng.randint(45, 70))
        image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return np.asarray(image)


def _motion_blur(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """A phone that moved during the shot (a line kernel), then out of focus (Gaussian)."""
    length = rng.randint(3, 6)
    kernel = np.zeros((length * 2 + 1, length * 2 + 1), np.float32)
    angle = rng.uniform(0, math.pi)
    for t in np.linspace(-length, length, length * 4):
        kernel[round(length + t * math.sin(angle)), round(length + t * math.cos(angle))] = 1
    out = cv2.filter2D(img, -1, kernel / kernel.sum())
    return cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.0))


def _photographed(arr: np.ndarray, rng: random.Random, quarter: int) -> np.ndarray:
    canvas = _texture(1600, 1200, rng)
    out = _place(arr, canvas, rng, fill=rng.uniform(0.6, 0.85), skew=20, perspective=0.03)
    out = _finish(out, rng, blur=rng.uniform(0.3, 0.9), noise=rng.uniform(2, 6), light=True)
    return np.ascontiguousarray(np.rot90(out, quarter))


def _scanned(arr: np.ndarray, rng: random.Random) -> np.ndarray:
    page = np.full((round(arr.shape[0] * 1.5), round(arr.shape[1] * 1.3), 3), 250, np.uint8)
    out = _place(arr, page, rng, fill=0.75, skew=3, perspective=0.0)
    return _finish(out, rng, blur=rng.uniform(0.3, 0.8), noise=3, light=False)


def degrade(
    card: Image.Image,
    degradation: str,
    rng: random.Random,
    *,
    mrz_band: tuple[float, float] = (0.7, 1.0),
) -> np.ndarray:
    """The card as a scanner or a phone would deliver it (RGB array). `mrz_band` says where
    the MRZ lies (fractions of the card's height), for the glare and the hologram."""
    arr = np.asarray(card.convert("RGB"))
    quarter = rng.choice((0, 1, 2, 3))
    if degradation == "clean":
        return arr
    if degradation == "glare":
        return _photographed(_glare(arr, mrz_band, rng), rng, quarter)
    if degradation == "hologram":
        return _scanned(_hologram(arr, mrz_band, rng), rng)
    if degradation == "lamination":
        return _photographed(_lamination(arr, rng), rng, quarter)
    if degradation == "recompressed":
        return _recompressed(_scanned(arr, rng), rng)
    if degradation == "phone_blur":
        canvas = _texture(1600, 1200, rng)
        out = _place(arr, canvas, rng, fill=rng.uniform(0.65, 0.85), skew=15, perspective=0.03)
        out = _finish(_motion_blur(out, rng), rng, blur=0.0, noise=rng.uniform(2, 5), light=True)
        return np.ascontiguousarray(np.rot90(out, quarter))
    if degradation == "scan":
        page = np.full((round(arr.shape[0] * 1.5), round(arr.shape[1] * 1.3), 3), 250, np.uint8)
        out = _place(arr, page, rng, fill=0.75, skew=3, perspective=0.0)
        out = _finish(out, rng, blur=rng.uniform(0.3, 0.8), noise=3, light=False)
        return np.ascontiguousarray(np.rot90(out, quarter if rng.random() < 0.4 else 0))
    if degradation == "lowres":
        page = np.full((round(arr.shape[0] * 1.1), round(arr.shape[1] * 1.08), 3), 248, np.uint8)
        out = _place(arr, page, rng, fill=0.92, skew=2, perspective=0.0)
        target = rng.randint(376, 480) if arr.shape[1] > 1100 else rng.randint(420, 560)
        factor = target / out.shape[1]
        out = cv2.resize(out, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        return _finish(out, rng, blur=0.0, noise=2, light=False)
    if degradation in ("photo", "hard"):
        hard = degradation == "hard"
        size = (960, 1280) if hard else (1200, 1600)
        canvas = _texture(size[1], size[0], rng)
        out = _place(
            arr,
            canvas,
            rng,
            fill=rng.uniform(0.55, 0.7) if hard else rng.uniform(0.6, 0.85),
            skew=30 if hard else 20,
            perspective=0.05 if hard else 0.03,
        )
        out = _finish(
            out,
            rng,
            blur=rng.uniform(0.8, 1.5) if hard else rng.uniform(0.3, 0.9),
            noise=rng.uniform(6, 10) if hard else rng.uniform(2, 6),
            light=True,
        )
        return np.ascontiguousarray(np.rot90(out, quarter))
    raise ValueError(f"unknown degradation: {degradation}")


def _encode(arr: np.ndarray, fmt: str, quality: int) -> bytes:
    image = Image.fromarray(arr)
    for _ in range(4):
        buffer = io.BytesIO()
        if fmt == "png":
            image.save(buffer, format="PNG", optimize=False)
        else:
            image.save(buffer, format="JPEG", quality=quality)
        data = buffer.getvalue()
        if len(data) <= MAX_OUTPUT_BYTES:
            return data
        image = image.resize((image.width * 3 // 4, image.height * 3 // 4))
    return data


JPEG_QUALITY = {"clean": 92, "scan": 85, "photo": 80, "lowres": 75, "hard": 55, "glare": 80,
                "hologram": 85, "lamination": 80, "recompressed": 60, "phone_blur": 80}  # fmt: skip


def render_identity_side(
    doc: IdentityDocument,
    side: str,
    *,
    rng: random.Random,
    degradation: str = "clean",
    fmt: str = "jpeg",
) -> bytes:
    """One side of the document as image bytes (JPEG or PNG), degraded as asked."""
    if side not in SIDES:
        raise ValueError(f"unknown side: {side}")
    if degradation not in ALL_DEGRADATIONS:
        raise ValueError(f"unknown degradation: {degradation}")
    card = CARD_PAINTERS[doc.kind](doc, side, rng)
    arr = degrade(card, degradation, rng, mrz_band=MRZ_BAND[doc.kind])
    quality = JPEG_QUALITY[degradation] + (rng.randint(-5, 5) if degradation != "clean" else 0)
    return _encode(arr, fmt, quality)
