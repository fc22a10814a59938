"""Finding and reading the MRZ in a page image.

1. Locate: at a normalised size, a black-hat filter keeps dark strokes on lighter ground, a
   closing joins characters into text lines, and long thin blobs (minAreaRect) are MRZ-line
   candidates, whatever their angle.
2. Straighten: around each candidate, cut a rotated crop from the full-resolution image,
   refine the angle by projection profile, split it into text lines, keep the run of 2 or 3
   long, equal lines, and re-straighten each line on its own (perspective).
3. Read: each line is cut into its fixed-pitch cells and classified (glyphs.py), upright and
   upside down, for every shape that fits (2×36, 2×44, 3×30); check digits and the
   classifier's confidence pick the reading. Tesseract is the second opinion on lines the
   classifier finds doubtful.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import date

import cv2
import numpy as np
from PIL import Image

from ra_workbench.extraction import tools
from ra_workbench.extraction.mrz import codec, glyphs

log = logging.getLogger(__name__)

LOCATE_SIZE = 1000  # longest side of the image the locator works on
LINE_WIDTH_PX = 1400  # straightened crops are resampled so an MRZ line is about this wide
MAX_CANDIDATES = 6
TARGET_CHAR_PX = 30.0  # character height the straightened crops are resampled to
# Below this character height (page pixels) an image is "small": a TD1 card scanned at about
# 316×414 px has characters of 7-9 px, whose glyphs blur into each other.
SMALL_CHAR_PX = 12.0
# Share of digit positions (dates, check digits) that must hold digits as read: an MRZ read
# from a hard photo keeps above 0.9, a card's printed recto read as 2×36 about 0.4.
MIN_DIGIT_SHARE = 0.6
TESSERACT_CPU_S = 4  # CPU seconds for one line strip (a strip takes ~0.1 s)
NAME_LETTER_CONFIDENCE = 0.8  # ceiling when a digit read in a name was taken as a letter
TESSERACT_WHITELIST = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"


@dataclass
class Candidate:
    centre: tuple[float, float]  # in full-resolution pixels
    length: float  # long side of the blob, full-resolution pixels
    thickness: float
    angle: float  # degrees, direction of the long side
    score: float


@dataclass
class Reading:
    """A full MRZ reading on one page."""

    lines: list[str]
    raw_lines: list[str]
    format: str
    facts: codec.MrzFacts
    corrections: list[codec.Correction]
    confidence: float
    rotation: int  # degrees the page was turned to read the MRZ upright (0/90/180/270)
    angle: float  # exact angle of the MRZ lines in the page, degrees
    bbox: tuple[int, int, int, int]  # x, y, width, height in page pixels
    timings: dict[str, float] = field(default_factory=dict)
    engine: str = "ocrb"
    strips: list[np.ndarray] = field(default_factory=list, repr=False)  # upright line images

    @property
    def rank(self) -> tuple[bool, int, int, float]:
        return rank_of(self.facts, self.confidence)


def rank_of(facts: codec.MrzFacts, confidence: float) -> tuple[bool, int, int, float]:
    """How good a reading is: valid and plausible first; then the check digits that hold
    over real data, each a 1-in-10 event in garbage, so that the layout (3×30, 2×36, 2×44)
    whose check digits hold is the one chosen, whatever number of checks it has (a country
    code that does not exist, or an impossible date, takes one away); then the fewest
    failing checks; then the classifier's confidence."""
    checks = facts.checks
    doubts = (0 if facts.plausible else 1) + len(facts.problems)
    failures = len(checks) - sum(checks.values())
    return (facts.valid and facts.plausible, facts.confirmed_checks - doubts, -failures, confidence)


def looks_like_mrz(raw_lines: list[str], fmt: str) -> bool:
    """Whether lines read are an MRZ at all, however misread: at least one check digit
    holds as read (a repair makes its check hold by construction), and the positions the
    format reserves for digits mostly hold digits. Lines of ordinary print of the right
    length (the recto of a card, a form) pass a check digit by chance one time in ten, but
    hold letters where dates are. Anything else is no reading, rather than garbage marked
    invalid."""
    return (
        codec.confirmed_checks(raw_lines, fmt) > 0
        and codec.digit_share(raw_lines, fmt) >= MIN_DIGIT_SHARE
    )


def _good_enough(reading: Reading) -> bool:
    return reading.facts.valid and reading.facts.plausible and reading.confidence > 0.9


# ---------------------------------------------------------------------------- locate


def _to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        image = image[:, :, :3]
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def locate_candidates(gray: np.ndarray) -> list[Candidate]:
    """Long thin dark-text blobs, best first, in full-resolution coordinates."""
    h, w = gray.shape
    scale = LOCATE_SIZE / max(h, w)
    small = cv2.resize(
        gray,
        (max(1, round(w * scale)), max(1, round(h * scale))),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
    )
    found: list[Candidate] = []
    for kernel in (25, 45):
        blackhat = cv2.morphologyEx(
            small, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (kernel, kernel))
        )
        mask = _threshold_strokes(blackhat, 255)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
        for close in (9, 17, 27):
            # A square kernel is separable: ten times faster than an ellipse of this size.
            joined = cv2.morphologyEx(
                mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (close, close))
            )
            count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
            for k in range(1, count):
                x, y, bw, bh, area = stats[k]
                if max(bw, bh) < 0.2 * LOCATE_SIZE or area < 200:
                    continue
                ys, xs = np.nonzero(labels[y : y + bh, x : x + bw] == k)
                step = max(1, xs.size // 3000)  # the rectangle of a subsample is the same
                points = np.column_stack([xs[::step] + x, ys[::step] + y]).astype(np.float32)
                (cx, cy), (rw, rh), angle = cv2.minAreaRect(points)
                length, thickness = max(rw, rh), min(rw, rh)
                if thickness < 4 or length < 0.2 * LOCATE_SIZE:
                    continue
                aspect = length / thickness
                if aspect < 3.5:
                    continue
                if rw < rh:
                    angle += 90.0
                fill = area / max(1.0, rw * rh)
                if fill < 0.35:
                    continue
                # A line of the MRZ is long and thin (aspect 20-45); a whole MRZ block 4-15.
                score = length * fill * (1.0 if aspect >= 12 else 0.8)
                found.append(
                    Candidate(
                        centre=(cx / scale, cy / scale),
                        length=length / scale,
                        thickness=thickness / scale,
                        angle=angle,
                        score=score,
                    )
                )
    found.sort(key=lambda c: -c.score)
    unique: list[Candidate] = []
    for cand in found:
        if any(_same_region(cand, other) for other in unique):
            continue
        unique.append(cand)
        if len(unique) >= MAX_CANDIDATES:
            break
    return unique


def _same_region(a: Candidate, b: Candidate) -> bool:
    dist = math.hypot(a.centre[0] - b.centre[0], a.centre[1] - b.centre[1])
    dangle = abs(((a.angle - b.angle) + 90) % 180 - 90)
    return dist < 0.5 * max(a.thickness, b.thickness) + 0.05 * a.length and dangle < 4


# ---------------------------------------------------------------------------- straighten


def rotated_crop(
    gray: np.ndarray,
    centre: tuple[float, float],
    angle: float,
    size: tuple[float, float],
    out_scale: float,
) -> np.ndarray:
    """The `size` (w, h) rectangle centred on `centre` at `angle`, made horizontal, scaled."""
    out_w = max(8, round(size[0] * out_scale))
    out_h = max(8, round(size[1] * out_scale))
    rad = math.radians(angle)
    cos, sin = math.cos(rad), math.sin(rad)
    # Affine map from output pixels to source pixels, inverted for warpAffine.
    ux = (cos / out_scale, sin / out_scale)
    uy = (-sin / out_scale, cos / out_scale)
    ox = centre[0] - ux[0] * out_w / 2 - uy[0] * out_h / 2
    oy = centre[1] - ux[1] * out_w / 2 - uy[1] * out_h / 2
    src_from_dst = np.array([[ux[0], uy[0], ox], [ux[1], uy[1], oy]], dtype=np.float64)
    return cv2.warpAffine(
        gray,
        src_from_dst,
        (out_w, out_h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def _ink_mask(gray: np.ndarray, char_px: float) -> np.ndarray:
    k = max(9, int(char_px * 1.6) | 1)
    blackhat = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(
        cv2.MORPH_RECT, (k, k)))  # fmt: skip
    return _threshold_strokes(blackhat, 1)


def _threshold_strokes(blackhat: np.ndarray, value: int) -> np.ndarray:
    """Dark strokes: Otsu, raised to half the strongest response so that pale background
    print (guilloche, microtext) stays out while the black MRZ print stays in."""
    otsu, _ = cv2.threshold(blackhat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    strong = glyphs.percentile_u8(blackhat, 99.5)
    level = max(float(otsu), 0.45 * strong)
    return np.where(blackhat > level, value, 0).astype(np.uint8)


def _refine_angle(mask: np.ndarray) -> float:
    """Small residual angle (degrees) maximising the sharpness of the row profile."""
    small = cv2.resize(mask.astype(np.float32), None, fx=0.35, fy=0.35,
                       interpolation=cv2.INTER_AREA)  # fmt: skip
    h, w = small.shape
    best, best_score = 0.0, -1.0
    for deg in np.arange(-3.0, 3.01, 0.5):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), float(deg), 1.0)
        rot = cv2.warpAffine(small, m, (w, h))
        profile = rot.sum(axis=1)
        score = float((profile**2).sum())
        if score > best_score:
            best, best_score = float(deg), score
    return best


@dataclass
class TextLine:
    top: int
    bottom: int
    left: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left


def _glyph_mask(mask: np.ndarray, *, merged: bool = False) -> tuple[np.ndarray, float]:
    """Keep the character-sized components of the dominant text size (the MRZ's: the
    largest, densest text), and return that character height. `merged` keeps the
    components of that height whatever their width: on a small or blurred image the glyphs
    of a line run together into blobs, and only the fillers stay apart."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return np.zeros_like(mask), 0.0
    heights = stats[1:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    widths = stats[1:, cv2.CC_STAT_WIDTH].astype(np.float64)
    areas = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    plausible = (heights >= 5) & (widths <= 2.5 * heights) & (heights <= 0.5 * mask.shape[0])
    if not plausible.any():
        return np.zeros_like(mask), 0.0
    h = heights[plausible]
    weights = areas[plausible]
    order = np.argsort(h)
    cumulative = np.cumsum(weights[order])
    char_h = float(h[order][np.searchsorted(cumulative, 0.6 * cumulative[-1])])
    keep = plausible & (heights >= 0.5 * char_h) & (heights <= 1.5 * char_h)
    if merged:
        # Up to three lines touching each other (not a photo or a frame): the rows
        # between them still hold little ink, which splits them in _text_lines.
        keep = (heights >= 0.5 * char_h) & (heights <= 4.0 * char_h)
    else:
        keep &= widths <= 1.6 * char_h
    lut = np.zeros(count, dtype=np.uint8)
    lut[1:][keep] = 1
    return lut[labels], char_h


def _text_lines(mask: np.ndarray, *, merged: bool = False) -> list[TextLine]:
    glyph_mask, char_h = _glyph_mask(mask, merged=merged)
    if char_h <= 0:
        return []
    rows = glyph_mask.sum(axis=1).astype(np.float32)
    if rows.max() <= 0:
        return []
    on = rows > 0.2 * rows.max()
    lines: list[TextLine] = []
    start = None
    for y, flag in enumerate([*on.tolist(), False]):
        if flag and start is None:
            start = y
        elif not flag and start is not None:
            if y - start >= 4:
                line = _longest_chain(glyph_mask[start:y], char_h)
                if line is not None:
                    lines.append(TextLine(start, y, line[0], line[1]))
            start = None
    return lines


def _longest_chain(band: np.ndarray, char_h: float) -> tuple[int, int] | None:
    """Left and right of the longest run of glyphs closer than a character to each other."""
    cols = np.nonzero(band.sum(axis=0))[0]
    if cols.size == 0:
        return None
    best = (0, 0)
    best_len = -1
    run_start = prev = int(cols[0])
    for col in [*cols[1:].tolist(), None]:
        if col is None or col - prev > 1.4 * char_h:
            if prev - run_start > best_len:
                best, best_len = (run_start, prev), prev - run_start
            if col is None:
                break
            run_start = col
        prev = col
    return best


def _mrz_runs(lines: list[TextLine]) -> list[list[TextLine]]:
    """Runs of 2 or 3 consecutive lines that look like an MRZ: long, equal, evenly spaced."""
    if not lines:
        return []
    longest = max(line.width for line in lines)
    runs: list[list[TextLine]] = []
    for count in (3, 2):
        for i in range(len(lines) - count + 1):
            run = lines[i : i + count]
            widths = [line.width for line in run]
            heights = [line.height for line in run]
            if min(widths) < 0.55 * longest or min(widths) < 0.8 * max(widths):
                continue
            if max(heights) > 2.2 * min(heights):
                continue
            gaps = [run[k + 1].top - run[k].bottom for k in range(count - 1)]
            if max(gaps) > 2.5 * np.median(heights):
                continue
            if max(h / w for h, w in zip(heights, widths, strict=True)) > 0.12:
                continue
            runs.append(run)
    # Longest first; three equal lines beat two of them (a TD1 read as 2×36 is garbage).
    runs.sort(key=lambda run: -min(line.width for line in run) * (1.05 if len(run) == 3 else 1))
    return runs


# ---------------------------------------------------------------------------- read


@dataclass
class LineImage:
    gray: np.ndarray  # straightened strip, upright


def _line_strips(crop: np.ndarray, run: list[TextLine]) -> list[np.ndarray]:
    strips = []
    for k, line in enumerate(run):
        # Never reach into the neighbouring lines: half the gap at most.
        above = run[k - 1].bottom if k > 0 else line.top - line.height
        below = run[k + 1].top if k + 1 < len(run) else line.bottom + line.height
        pad_top = max(1, min(round(line.height * 0.6), (line.top - above) // 2))
        pad_bottom = max(1, min(round(line.height * 0.6), (below - line.bottom) // 2))
        pad_x = round(line.height * 1.0)
        y0 = max(0, line.top - pad_top)
        y1 = min(crop.shape[0], line.bottom + pad_bottom)
        x0 = max(0, line.left - pad_x)
        x1 = min(crop.shape[1], line.right + pad_x)
        strip = crop[y0:y1, x0:x1]
        strips.append(_straighten_strip(strip, line.height))
    return strips


def _straighten_strip(strip: np.ndarray, char_px: float) -> np.ndarray:
    """Remove the strip's own residual tilt (perspective gives each line its angle)."""
    mask = _ink_mask(strip, char_px)
    # One point per inked column (its ink's mean row): the line through them is the tilt.
    counts = mask.sum(axis=0).astype(np.float32)
    inked = np.nonzero(counts > 0)[0]
    if inked.size < 20:
        return strip
    rows = np.arange(mask.shape[0], dtype=np.float32)[:, None]
    means = (mask[:, inked] * rows).sum(axis=0) / counts[inked]
    vx, vy, _, _ = cv2.fitLine(
        np.column_stack([inked, means]).astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01
    ).ravel()
    angle = math.degrees(math.atan2(float(vy), float(vx)))
    if abs(angle) < 0.2 or abs(angle) > 4:
        return strip
    h, w = strip.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(strip, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


def _shapes_for(count: int) -> list[int]:
    return [30] if count == 3 else [36, 44]


def read_strips(
    strips: list[np.ndarray], model: glyphs.GlyphModel
) -> list[tuple[list[str], list[glyphs.LineReading]]]:
    """Every plausible reading of upright strips: one per line width that fits."""
    out = []
    for n in _shapes_for(len(strips)):
        readings = []
        for strip in strips:
            cells = glyphs.segment_line(strip, n)
            if cells is None:
                break
            readings.append(glyphs.read_cells(model, cells))
        if len(readings) == len(strips):
            out.append(([r.text for r in readings], readings))
    return out


def interpret(
    raw_lines: list[str], readings: list[glyphs.LineReading] | None, today_: date
) -> tuple[str, list[str], list[codec.Correction], codec.MrzFacts] | None:
    fmt = codec.detect_format(raw_lines)
    if fmt is None:
        return None
    hints: dict[tuple[int, int], str] = {}
    if readings is not None:
        for li, reading in enumerate(readings):
            for pos, alts in enumerate(reading.alternatives):
                if alts:
                    hints[(li, pos)] = alts
    lines, corrections = codec.correct_lines(raw_lines, fmt, hints)
    fmt2 = codec.detect_format(lines) or fmt
    facts = codec.parse_mrz(lines, fmt2, today=today_, corrections=corrections)
    return fmt2, lines, corrections, facts


def read_page(image: np.ndarray, *, today: date, use_tesseract: bool = True) -> Reading | None:
    """The best MRZ reading on one page image (RGB or gray array), or None."""
    # The classifier's small matrix products are slower with BLAS threads than without (and
    # the service reads several files at once): one thread while reading a page.
    with glyphs.one_blas_thread():
        return _read_page(image, today=today, use_tesseract=use_tesseract)


def _read_page(image: np.ndarray, *, today: date, use_tesseract: bool) -> Reading | None:
    started = time.perf_counter()
    timings: dict[str, float] = {}
    gray = _to_gray(image)
    model = glyphs.glyph_model()
    timings["model"] = time.perf_counter() - started
    t0 = time.perf_counter()
    candidates = locate_candidates(gray)
    timings["locate"] = time.perf_counter() - t0
    best: Reading | None = None
    t0 = time.perf_counter()
    tried_regions: list[tuple[float, float, float, float]] = []
    for cand in candidates:
        reading = _read_candidate(gray, cand, model, today, tried_regions)
        if reading is None:
            continue
        if best is None or reading.rank > best.rank:
            best = reading
        if _good_enough(best):
            break
    timings["read"] = time.perf_counter() - t0
    if best is not None and use_tesseract and not (best.facts.valid and best.facts.plausible):
        t0 = time.perf_counter()
        best = _tesseract_second_opinion(best, today) or best
        timings["tesseract"] = time.perf_counter() - t0
    if best is not None:
        best.timings = {**timings, "total": time.perf_counter() - started}
    return best


def _read_candidate(
    gray: np.ndarray,
    cand: Candidate,
    model: glyphs.GlyphModel,
    today: date,
    tried: list[tuple[float, float, float, float]],
) -> Reading | None:
    # A window around the candidate wide enough for the whole MRZ whether the blob was one
    # of its lines or all of it.
    # The blob may be a fragment of a line (background print, gaps): look across the page.
    page_diag = math.hypot(*gray.shape)
    width = min(page_diag, cand.length * 3.0)
    height = cand.thickness + cand.length * 0.3
    out_scale = min(4.0, LINE_WIDTH_PX / cand.length, 3000 / width)
    crop = rotated_crop(gray, cand.centre, cand.angle, (width, height), out_scale)
    mask = _ink_mask(crop, max(6.0, cand.length * out_scale / 40))
    _, char_h = _glyph_mask(mask)
    small = False
    if char_h > 0:
        # Now that the character height is known, a window that holds a whole MRZ whichever
        # part of it the blob was: ±5 lines vertically, ±50 characters along the line.
        char_orig = char_h / out_scale
        small = char_orig < SMALL_CHAR_PX
        width = 100 * char_orig
        height = 14 * char_orig
        out_scale = min(4.0, TARGET_CHAR_PX / char_orig)
        crop = rotated_crop(gray, cand.centre, cand.angle, (width, height), out_scale)
    char_px = TARGET_CHAR_PX
    mask = _ink_mask(crop, char_px)
    residual = _refine_angle(mask)
    if residual:
        crop = rotated_crop(gray, cand.centre, cand.angle - residual, (width, height), out_scale)
        mask = _ink_mask(crop, char_px)
    angle = cand.angle - residual
    runs = _mrz_runs(_text_lines(mask))[:3]
    if small:
        # A small image: its glyphs run together, so lines are found again with the merged
        # blobs, and three-line runs (TD1) are read before two-line ones (2×36, 2×44), whose
        # shapes a TD1 read with a line missing would otherwise take.
        runs = sorted(
            _mrz_runs(_text_lines(mask, merged=True))[:3] + runs, key=lambda run: -len(run)
        )
    best: Reading | None = None
    for run in runs:
        centre_y = (run[0].top + run[-1].bottom) / 2
        key = (*_crop_to_page(cand, angle, out_scale, crop.shape, (crop.shape[1] / 2, centre_y)),
               angle % 180, float(len(run)))  # fmt: skip
        if any(
            math.hypot(key[0] - t[0], key[1] - t[1]) < 0.05 * cand.length
            and abs(((key[2] - t[2]) + 90) % 180 - 90) < 3
            and key[3] == t[3]
            for t in tried
        ):
            continue
        tried.append(key)
        strips = _line_strips(crop, run)
        for flipped in (False, True):
            upright = (
                [cv2.rotate(s, cv2.ROTATE_180) for s in reversed(strips)] if flipped else strips
            )
            for raw, readings in read_strips(upright, model):
                result = interpret(raw, readings, today)
                if result is None:
                    continue
                fmt, fixed, corrections, facts = result
                if not looks_like_mrz(raw, codec.detect_format(raw) or fmt):
                    continue
                conf = float(np.mean([r.mean_confidence for r in readings]))
                conf = min(conf, 0.5 + 0.5 * facts.name_confidence)
                if facts.names_corrected:
                    conf = min(conf, NAME_LETTER_CONFIDENCE)  # a name we had to interpret
                rotation_angle = (angle + (180 if flipped else 0)) % 360
                reading = Reading(
                    lines=fixed,
                    raw_lines=raw,
                    format=fmt,
                    facts=facts,
                    corrections=corrections,
                    confidence=round(conf, 4),
                    rotation=round(rotation_angle / 90.0) % 4 * 90,
                    angle=round(rotation_angle, 2),
                    bbox=_bbox_in_page(cand, angle, out_scale, crop.shape, run),
                    strips=upright,
                )
                if best is None or reading.rank > best.rank:
                    best = reading
        if best is not None and best.facts.valid and best.facts.plausible:
            break
    return best


def _crop_to_page(
    cand: Candidate,
    angle: float,
    out_scale: float,
    shape: tuple[int, ...],
    point: tuple[float, float],
) -> tuple[float, float]:
    x, y = point
    rad = math.radians(angle)
    dx = (x - shape[1] / 2) / out_scale
    dy = (y - shape[0] / 2) / out_scale
    return (
        cand.centre[0] + dx * math.cos(rad) - dy * math.sin(rad),
        cand.centre[1] + dx * math.sin(rad) + dy * math.cos(rad),
    )


def _bbox_in_page(
    cand: Candidate,
    angle: float,
    out_scale: float,
    shape: tuple[int, ...],
    run: list[TextLine],
) -> tuple[int, int, int, int]:
    left = min(line.left for line in run)
    right = max(line.right for line in run)
    top, bottom = run[0].top, run[-1].bottom
    corners = [
        _crop_to_page(cand, angle, out_scale, shape, (x, y))
        for x, y in ((left, top), (right, top), (left, bottom), (right, bottom))
    ]
    xs = [c[0] for c in corners]
    ys = [c[1] for c in corners]
    return (round(min(xs)), round(min(ys)), round(max(xs) - min(xs)), round(max(ys) - min(ys)))


# ---------------------------------------------------------------------------- tesseract


def _tesseract_line(strip: np.ndarray, width: int) -> str | None:
    """Tesseract's reading of one upright line strip, if it has the expected width."""
    # Tesseract likes ~30-40 px capitals, dark on white, and a quiet margin.
    ink = glyphs.ink_map(strip)
    image: np.ndarray = np.clip(255.0 - ink * 255.0, 0, 255).astype(np.uint8)
    scale = 40.0 / max(8.0, strip.shape[0] * 0.55)
    if abs(scale - 1.0) > 0.1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    image = cv2.copyMakeBorder(image, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=255)
    config = f"--psm 7 -c tessedit_char_whitelist={TESSERACT_WHITELIST}"
    try:
        text = tools.tesseract_text(
            Image.fromarray(image), lang="eng", config=config, budget=tools.Budget(TESSERACT_CPU_S)
        )
    except tools.ToolError as exc:
        # Over its CPU budget, or a missing binary: the second opinion is only a fallback.
        log.debug("tesseract indisponible ou trop long : %s", exc)
        return None
    text = "".join(c for c in text.upper() if c in TESSERACT_WHITELIST)
    return text if len(text) == width else None


def _tesseract_second_opinion(best: Reading, today: date) -> Reading | None:
    """When our reading fails a check digit (or names a country that does not exist), read
    its line images again with tesseract and try every mix of our lines and tesseract's;
    the mix whose check digits hold best wins, if it beats ours. None if nothing better."""
    if not best.strips or len(best.strips) != len(best.raw_lines):
        return None
    width = len(best.raw_lines[0])
    theirs = [_tesseract_line(strip, width) for strip in best.strips]
    if all(t is None for t in theirs):
        return None
    improved: Reading | None = None
    options = [[ours] if t is None or t == ours else [ours, t]
               for ours, t in zip(best.raw_lines, theirs, strict=True)]  # fmt: skip
    for mix in itertools.product(*options):
        raw = list(mix)
        if raw == best.raw_lines:
            continue
        result = interpret(raw, None, today)
        if result is None:
            continue
        fmt, fixed, corrections, facts = result
        if not looks_like_mrz(raw, codec.detect_format(raw) or fmt):
            continue
        # Tesseract gives no per-character confidence here: a mix is as sure as our reading.
        candidate = Reading(
            lines=fixed,
            raw_lines=raw,
            format=fmt,
            facts=facts,
            corrections=corrections,
            confidence=min(best.confidence, 0.5 + 0.5 * facts.name_confidence),
            rotation=best.rotation,
            angle=best.angle,
            bbox=best.bbox,
            engine="ocrb+tesseract",
            strips=best.strips,
        )
        if candidate.rank[:3] > (improved or best).rank[:3]:  # evidence, not confidence
            improved = candidate
    return improved
