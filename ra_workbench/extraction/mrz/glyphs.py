"""Reading one straightened MRZ line: cut it into its fixed-pitch cells, classify each cell.

MRZ lines are monospaced and always full (fillers pad them), so a line of N characters is
N equal cells between its first and last ink: no free-form segmentation is needed. Each
cell goes through a small neural network learnt from the OCR-B glyphs of fonts-ocr-b,
rendered and degraded the way scans and photos degrade them. The network is trained once,
by scripts/train_glyphs.py (scikit-learn, the `train` extra), and ships with the package as
plain arrays (ocrb_glyphs.npz) that numpy alone reads.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import logging
import os
import random
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from ra_workbench.extraction.mrz.codec import ALPHABET, FILLER
from ra_workbench.extraction.mrz.ocrb import render_line

log = logging.getLogger(__name__)

CELL_W = 16
CELL_H = 24
MODEL_VERSION = "ocrb-mlp-7"
# Extent of the ink of a full line, in pitches: the first glyph's ink starts ~0.15 pitch in,
# the last one's ends ~0.17 pitch before its advance.
INK_SPAN_DEFICIT = 0.32


@dataclass(frozen=True)
class LineCells:
    """The cells of one line as classifier inputs, plus where they were."""

    features: np.ndarray  # (n, CELL_H * CELL_W) float32
    pitch: float
    band: tuple[int, int]  # text rows in the strip


def percentile_u8(image: np.ndarray, q: float) -> float:
    """np.percentile for a uint8 image, by histogram (several times faster), lower value."""
    if image.dtype != np.uint8:
        return float(np.percentile(image, q))
    counts = np.bincount(image.ravel(), minlength=256)
    rank = q / 100.0 * (image.size - 1)
    return float(np.searchsorted(np.cumsum(counts), rank, side="right"))


def ink_map(gray: np.ndarray) -> np.ndarray:
    """Grayscale strip → ink in [0, 1], background 0, stroke cores 1."""
    background = percentile_u8(gray, 85)
    core = percentile_u8(gray, 1.5)
    g = gray.astype(np.float32)
    if background - core < 12:
        return np.zeros_like(g)
    return np.clip((background - g) / (background - core) * 1.15, 0.0, 1.0)


def _text_band(binary: np.ndarray) -> tuple[int, int] | None:
    rows = binary.sum(axis=1).astype(np.float32)
    if rows.max() <= 0:
        return None
    on = rows > 0.12 * rows.max()
    best: tuple[int, int] | None = None
    best_mass = 0.0
    start = None
    for y, flag in enumerate([*on.tolist(), False]):
        if flag and start is None:
            start = y
        elif not flag and start is not None:
            mass = float(rows[start:y].sum())
            if mass > best_mass:
                best, best_mass = (start, y), mass
            start = None
    return best


def segment_line(gray: np.ndarray, n: int, jitter: random.Random | None = None) -> LineCells | None:
    """Cut a straightened line strip (text horizontal, upright) into `n` classifier inputs.

    The glyphs themselves give the grid: walking left to right, the gap between two
    neighbouring glyphs, in local pitches, says how many cells apart they are, so the pitch
    may drift along the line (perspective) and a glyph may be broken or missing. The cell
    centres are then a smooth function of the index fitted on those glyphs, and the text
    band's top and bottom are fitted along the line too (perspective changes the height).
    `jitter` (training only) perturbs the cell boxes the way imperfect straightening does.
    """
    ink = ink_map(gray)
    binary = ink > 0.45
    band = _text_band(binary)
    if band is None:
        return None
    top, bottom = band
    height = bottom - top
    if height < 4:
        return None
    glyph_boxes = _glyph_boxes(binary, top, bottom)
    if len(glyph_boxes) < max(3, n // 4):
        return None
    grid = _sequential_grid(glyph_boxes, n)
    if grid is None:
        grid = _fitted_grid(glyph_boxes, n)
    if grid is None:
        return None
    centres, steps = grid
    if steps.min() < 0.55 * steps.mean() or steps.max() > 1.6 * steps.mean():
        return None
    pitch = float(steps.mean())
    if pitch < 3:
        return None
    tops, bottoms = _band_lines(glyph_boxes, centres, top, bottom)
    widths = np.concatenate([steps[:1], (steps[1:] + steps[:-1]) / 2, steps[-1:]])
    if jitter is not None:
        centres = centres + np.array([jitter.uniform(-0.1, 0.1) * pitch for _ in range(n)])
        widths = widths * jitter.uniform(0.93, 1.07)
        dy0, dy1 = jitter.uniform(-0.1, 0.1), jitter.uniform(-0.1, 0.1)
    else:
        dy0 = dy1 = 0.0
    features = np.empty((n, CELL_H * CELL_W), dtype=np.float32)
    strip_h, strip_w = ink.shape
    for i, cx in enumerate(centres):
        cell_h = bottoms[i] - tops[i]
        margin = max(1.0, 0.12 * cell_h)
        y0 = max(0, round(tops[i] - margin + dy0 * cell_h))
        y1 = min(strip_h, max(round(bottoms[i] + margin + dy1 * cell_h), y0 + 4))
        x0 = round(cx - 0.5 * widths[i])
        x1 = max(x0 + 1, round(cx + 0.5 * widths[i]))
        cell = np.zeros((y1 - y0, x1 - x0), dtype=np.float32)
        lo, hi = max(0, x0), min(strip_w, x1)
        if hi > lo:
            cell[:, lo - x0 : hi - x0] = ink[y0:y1, lo:hi]
        features[i] = cv2.resize(cell, (CELL_W, CELL_H), interpolation=cv2.INTER_AREA).ravel()
    return LineCells(features=features, pitch=pitch, band=band)


@dataclass(frozen=True)
class _Glyph:
    left: float
    right: float
    top: float
    bottom: float

    @property
    def centre(self) -> float:
        return (self.left + self.right) / 2

    @property
    def width(self) -> float:
        return self.right - self.left


def _glyph_boxes(binary: np.ndarray, top: int, bottom: int) -> list[_Glyph]:
    """Character-sized components of the text band, left to right (in strip pixels)."""
    height = bottom - top
    sub = (binary[top:bottom] * 255).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(sub, connectivity=8)
    boxes = []
    for k in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[k])
        # MRZ glyphs, fillers included, are at least 0.55 of the line height (perspective
        # shrinks the far end); background microtext and specks are smaller.
        if h >= 0.55 * height and w >= 0.2 * height and area >= 0.05 * height * height:
            boxes.append(_Glyph(float(x), float(x + w), float(top + y), float(top + y + h)))
    boxes.sort(key=lambda b: b.centre)
    return boxes


def _sequential_grid(boxes: list[_Glyph], n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Cell index of each glyph by walking the line; None unless it lands on exactly n cells."""
    if len(boxes) < max(6, n // 3):
        return None
    span = boxes[-1].centre - boxes[0].centre
    pitch = span / (n - 1)
    if pitch < 3:
        return None
    # The pitch where the walk starts: that of the first glyphs (perspective), if they agree.
    early = np.diff([b.centre for b in boxes[:7]])
    early = early[(early > 0.6 * pitch) & (early < 1.4 * pitch)]
    local = float(np.median(early)) if early.size >= 3 else pitch
    index = [0]
    centres: list[float] = []
    weights: list[float] = []
    for box in boxes:
        # Touching glyphs (blur) make one wide component: split it into its cells, at the
        # pitch of this part of the line (perspective).
        k = max(1, round(box.width / local - 0.15))
        step_w = box.width / k
        pieces = [(box.left + step_w * (j + 0.5), 1.0 if k == 1 else 0.3) for j in range(k)]
        for cx, weight in pieces:
            if not centres:
                centres.append(cx)
                weights.append(weight)
                continue
            gap = (cx - centres[-1]) / local
            step = round(gap)
            if step == 0:  # a broken glyph: merge with the previous piece
                centres[-1] = (centres[-1] + cx) / 2
                continue
            if abs(gap - step) > 0.3:
                return None
            local = 0.7 * local + 0.3 * (cx - centres[-1]) / step
            index.append(index[-1] + step)
            centres.append(cx)
            weights.append(weight)
    if index[-1] != n - 1:
        return None
    idx = np.array(index, dtype=np.float64)
    xs = np.array(centres, dtype=np.float64)
    w = np.array(weights, dtype=np.float64)
    degree = 2 if len(set(index)) > n // 2 else 1
    coeffs = np.polyfit(idx, xs, degree, w=w)
    # One pass of outlier rejection: narrow glyphs (I, 1) sit off their cell's centre.
    residual = np.abs(np.polyval(coeffs, idx) - xs)
    keep = residual < max(1.0, 0.25 * pitch)
    if keep.sum() >= max(6, n // 3) and not keep.all():
        coeffs = np.polyfit(idx[keep], xs[keep], degree, w=w[keep])
    out = np.polyval(coeffs, np.arange(n, dtype=np.float64))
    return out, np.diff(out)


def _fitted_grid(boxes: list[_Glyph], n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Fallback grid: n equal cells over the ink, refined on the glyphs that fall near one."""
    x_first = boxes[0].left
    x_last = boxes[-1].right
    pitch = (x_last - x_first) / (n - INK_SPAN_DEFICIT)
    if pitch < 3:
        return None
    coeffs = np.array([0.0, pitch, x_first + 0.5 * pitch - 0.16 * pitch])  # c, b, a
    single = [b.centre for b in boxes if b.width <= 1.15 * pitch]
    for _ in range(3):
        idx: list[float] = []
        xs: list[float] = []
        grid = np.polyval(coeffs, np.arange(n))
        for cx in single:
            i = int(np.argmin(np.abs(grid - cx)))
            if abs(cx - grid[i]) < 0.35 * pitch:
                idx.append(i)
                xs.append(cx)
        if len(idx) < max(6, n // 3):
            break
        degree = 2 if len(set(idx)) > n // 2 else 1
        fit = np.polyfit(np.array(idx), np.array(xs), degree)
        coeffs = fit if degree == 2 else np.array([0.0, fit[0], fit[1]])
    out = np.polyval(coeffs, np.arange(n, dtype=np.float64))
    return out, np.diff(out)


def _band_lines(
    boxes: list[_Glyph], centres: np.ndarray, top: int, bottom: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top and bottom of the capitals at each cell: upper and lower envelopes of the glyph
    boxes, fitted as straight lines along the strip (fillers are shorter than capitals)."""
    xs = np.array([b.centre for b in boxes])
    out = []
    for values, upper in (([b.top for b in boxes], True), ([b.bottom for b in boxes], False)):
        ys = np.array(values)
        default = np.full(len(centres), float(top if upper else bottom))
        if len(xs) < 6 or np.ptp(xs) <= 0:
            out.append(default)
            continue
        coeffs = np.polyfit(xs, ys, 1)
        for _ in range(2):
            residual = ys - np.polyval(coeffs, xs)
            # Envelope: keep the glyphs reaching furthest out (smaller top, larger bottom).
            cut = np.quantile(residual, 0.4 if upper else 0.6)
            keep = residual <= cut if upper else residual >= cut
            if keep.sum() < 4:
                break
            coeffs = np.polyfit(xs[keep], ys[keep], 1)
        fitted = np.polyval(coeffs, centres)
        if not np.all(np.isfinite(fitted)):
            out.append(default)
            continue
        out.append(fitted)
    tops, bottoms = out
    bad = bottoms - tops < 4
    if bad.any():
        tops = np.where(bad, float(top), tops)
        bottoms = np.where(bad, float(bottom), bottoms)
    return tops, bottoms


# ---------------------------------------------------------------------------- classifier


@dataclass(frozen=True)
class GlyphModel:
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    mean: np.ndarray

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        hidden = np.maximum(0.0, (features - self.mean) @ self.w1 + self.b1)
        logits = hidden @ self.w2 + self.b2
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class LineReading:
    text: str
    confidence: np.ndarray  # probability of each chosen character
    alternatives: list[str]  # per position, characters ranked close behind

    @property
    def mean_confidence(self) -> float:
        return float(self.confidence.mean()) if self.confidence.size else 0.0


def read_cells(model: GlyphModel, cells: LineCells) -> LineReading:
    probs = model.probabilities(cells.features)
    order = np.argsort(-probs, axis=1)
    text = "".join(ALPHABET[i] for i in order[:, 0])
    best = probs[np.arange(len(probs)), order[:, 0]]
    alternatives = [
        "".join(ALPHABET[j] for j in order[row, 1:3] if probs[row, j] > 0.02)
        for row in range(len(probs))
    ]
    return LineReading(text=text, confidence=best, alternatives=alternatives)


# The trained classifier ships inside the package as plain arrays (no pickle), so reading
# never depends on which scikit-learn, OpenCV or FreeType rendered and fitted it on a given
# machine, and a first run has nothing to train. scripts/train_glyphs.py regenerates it;
# its sha256 is part of EXTRACTOR_VERSION, so cached readings of another model are not reused.
MODEL_FILE = Path(__file__).with_name("ocrb_glyphs.npz")
MODEL_SHA256 = "efe51fe4f5e0ca18bc0cf0098346b2c12719cfad5ac419faa92f4b811beb91a4"
_WEIGHTS = ("w1", "b1", "w2", "b2", "mean")
# Fixed zip entry dates: the same weights always give the same file, hence the same sha256.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class GlyphModelError(RuntimeError):
    """The model file is missing, altered, or was made for other cells or another alphabet."""


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_model(model: GlyphModel, path: Path) -> str:
    """Write `model` to `path` as an .npz readable with numpy alone (atomically: a reader
    never sees half a file). Returns the file's sha256."""
    arrays = {name: getattr(model, name) for name in _WEIGHTS}
    arrays |= {
        "model_version": np.array(MODEL_VERSION),
        "alphabet": np.array(ALPHABET),
        "cell": np.array([CELL_H, CELL_W]),
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
                archive.writestr(
                    zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE), buffer.getvalue()
                )
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return file_sha256(path)


def load_model(path: Path, *, sha256: str | None = None) -> GlyphModel:
    """The model stored at `path`, checked against `sha256` when given and against this
    code's cells and alphabet."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GlyphModelError(f"modèle OCR-B introuvable ({path}) : {exc}") from exc
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise GlyphModelError(f"modèle OCR-B altéré ({path}) : sha256 inattendu")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            weights = {name: arrays[name] for name in _WEIGHTS}
            alphabet = str(arrays["alphabet"])
            cell = tuple(int(v) for v in arrays["cell"])
    except (OSError, KeyError, ValueError) as exc:
        raise GlyphModelError(f"modèle OCR-B illisible ({path}) : {exc}") from exc
    if alphabet != ALPHABET or cell != (CELL_H, CELL_W):
        raise GlyphModelError(
            f"modèle OCR-B fait pour d'autres cellules ou un autre alphabet ({path})"
        )
    return GlyphModel(**weights)


@functools.cache
def glyph_model() -> GlyphModel:
    """The OCR-B cell classifier shipped with the package, read once per process."""
    return load_model(MODEL_FILE, sha256=MODEL_SHA256)


# ---------------------------------------------------------------------------- training


def degrade_line(gray: np.ndarray, rng: random.Random) -> np.ndarray:
    """What a scanner or a phone does to a printed line: resolution, blur, tint, noise, JPEG."""
    img: np.ndarray = gray.astype(np.float32)
    # Stroke weight of the print.
    if rng.random() < 0.3:
        k = np.ones((2, 2), np.uint8)
        img = cv2.erode(img, k) if rng.random() < 0.6 else cv2.dilate(img, k)
    # Background: tint, texture, contrast.
    bg = rng.uniform(150, 255)
    fg = rng.uniform(0, min(110, bg - 45))
    img = fg + (img / 255.0) * (bg - fg)
    h, w = img.shape
    if rng.random() < 0.5:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        f = rng.uniform(0.02, 0.3)
        img += rng.uniform(5, 25) * np.sin(xx * f + yy * f * rng.uniform(-1, 1))
    if rng.random() < 0.3:  # illumination gradient
        img *= np.linspace(rng.uniform(0.75, 1.0), 1.0, w, dtype=np.float32)[None, :]
    # Resolution: the character height goes down to ~8 px, then back up (the reader upsamples).
    pitch_px = w / 40.0
    low = rng.uniform(max(0.18, 7.0 / pitch_px), 1.0) if rng.random() < 0.7 else 1.0
    if low < 0.97:
        small = cv2.resize(img, (max(8, round(w * low)), max(4, round(h * low))),
                           interpolation=cv2.INTER_AREA)  # fmt: skip
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    # Blur up to a tenth of the pitch: a phone photo of a small passport MRZ, slightly out of
    # focus, at ~15 px per character.
    sigma = rng.choice([0.0, 0.0, rng.uniform(0.3, 1.0), rng.uniform(1.0, 3.2)]) * pitch_px / 30
    if sigma > 0.1:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    if rng.random() < 0.6:
        img += np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(2, 18), img.shape)
    out: np.ndarray = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        ok, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(35, 90)])
        if ok:
            out = np.asarray(cv2.imdecode(enc, cv2.IMREAD_GRAYSCALE))
    return out


def keystone(strip: np.ndarray, ratio: float) -> np.ndarray:
    """The strip seen in perspective: its right end `ratio` times as tall as its left end,
    the pitch shrinking or growing along the line accordingly."""
    h, w = strip.shape
    right = h * ratio
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    dst = np.array([[0, 0], [w, (h - right) / 2], [w, (h + right) / 2], [0, h]], dtype=np.float32)
    if ratio > 1:  # keep it inside the canvas: shrink the left end instead
        top, bottom = (h - h / ratio) / 2, (h + h / ratio) / 2
        dst = np.array([[0, top], [w, 0], [w, h], [0, bottom]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    return np.asarray(
        cv2.warpPerspective(strip, matrix, (w, h), borderValue=255, flags=cv2.INTER_AREA)
    )


def _random_line(rng: random.Random, n: int) -> str:
    chars: list[str] = []
    while len(chars) < n:
        roll = rng.random()
        if roll < 0.2:
            chars.extend(FILLER * rng.randint(1, 6))
        elif roll < 0.55:
            chars.extend(rng.choice("0123456789") for _ in range(rng.randint(1, 6)))
        else:
            chars.extend(rng.choice(ALPHABET[:-1]) for _ in range(rng.randint(1, 8)))
    text = chars[:n]
    # Lines never start with a filler in practice, and segmentation needs ink at both ends.
    text[0] = rng.choice(ALPHABET[:-1])
    return "".join(text)


TRAIN_LINES = 2400
TRAIN_SEED = 20240601
HIDDEN_UNITS = 256


def training_set(lines: int = TRAIN_LINES, seed: int = TRAIN_SEED) -> tuple[np.ndarray, np.ndarray]:
    rng = random.Random(seed)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for _ in range(lines):
        n = rng.choice((30, 36, 44))
        text = _random_line(rng, n)
        pitch = rng.uniform(18, 34)
        strip = render_line(text, pitch, variant=rng.randrange(2), margin=rng.uniform(0.3, 1.0))
        if rng.random() < 0.5:  # a slight residual tilt the deskew leaves behind
            h, w = strip.shape
            m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-0.6, 0.6), 1.0)
            strip = cv2.warpAffine(strip, m, (w, h), borderValue=255)
        if rng.random() < 0.35:  # perspective: the far end of the line smaller
            strip = keystone(strip, rng.uniform(0.78, 1.28))
        strip = degrade_line(strip, rng)
        cells = segment_line(strip, n, jitter=rng if rng.random() < 0.7 else None)
        if cells is None:
            continue
        xs.append(cells.features)
        ys.append(np.array([ALPHABET.index(c) for c in text]))
    return np.concatenate(xs), np.concatenate(ys)


def one_blas_thread() -> contextlib.AbstractContextManager[object]:
    return threadpool_limits(limits=1, user_api="blas")


def train_glyph_model(
    lines: int = TRAIN_LINES, seed: int = TRAIN_SEED, hidden: int = HIDDEN_UNITS
) -> GlyphModel:
    """Fit the cell classifier on rendered, degraded OCR-B lines (deterministic for given
    versions of scikit-learn, OpenCV and FreeType). Only scripts/train_glyphs.py calls it."""
    from sklearn.neural_network import MLPClassifier  # noqa: PLC0415 - the `train` extra, not the runtime

    log.info("apprentissage du modèle OCR-B (%d lignes)", lines)
    x, y = training_set(lines, seed)
    mean = x.mean(axis=0)
    clf = MLPClassifier(
        hidden_layer_sizes=(hidden,),
        alpha=1e-4,
        batch_size=256,
        learning_rate_init=2e-3,
        max_iter=40,
        early_stopping=False,
        random_state=seed % (2**31),
    )
    with warnings.catch_warnings(), one_blas_thread():
        # One BLAS thread: the same sums in the same order, so the same weights every time.
        warnings.simplefilter("ignore")  # ConvergenceWarning: a fixed budget is the point
        clf.fit(x - mean, y)
    # The classifier must know all 37 characters even if a class was rare in the sample.
    w2 = np.full((clf.coefs_[1].shape[0], len(ALPHABET)), 0.0, dtype=np.float32)
    b2 = np.full(len(ALPHABET), -1e3, dtype=np.float32)
    for j, cls in enumerate(clf.classes_):
        w2[:, cls] = clf.coefs_[1][:, j]
        b2[cls] = clf.intercepts_[1][j]
    return GlyphModel(
        w1=clf.coefs_[0].astype(np.float32),
        b1=clf.intercepts_[0].astype(np.float32),
        w2=w2,
        b2=b2,
        mean=mean.astype(np.float32),
    )
