"""Reading one straightened MRZ line: cut it into its fixed-pitch cells, classify each cell.

MRZ lines are monospaced and always full (fillers pad them), so a line of N characters is
N equal cells between its first and last ink: no free-form segmentation is needed. Each
cell goes through a small neural network learnt from the OCR-B glyphs of fonts-ocr-b,
rendered and degraded the way scans and photos degrade them. The network is trained on
first use (a few seconds) and cached as plain arrays under the data directory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ra_workbench.extraction.mrz.codec import ALPHABET, FILLER
from ra_workbench.extraction.mrz.ocrb import render_line

log = logging.getLogger(__name__)

CELL_W = 16
CELL_H = 24
MODEL_VERSION = "ocrb-mlp-4"
# Extent of the ink of a full line, in pitches: the first glyph's ink starts ~0.15 pitch in,
# the last one's ends ~0.17 pitch before its advance.
INK_SPAN_DEFICIT = 0.32


@dataclass(frozen=True)
class LineCells:
    """The cells of one line as classifier inputs, plus where they were."""

    features: np.ndarray  # (n, CELL_H * CELL_W) float32
    pitch: float
    band: tuple[int, int]  # text rows in the strip


def ink_map(gray: np.ndarray) -> np.ndarray:
    """Grayscale strip → ink in [0, 1], background 0, stroke cores 1."""
    g = gray.astype(np.float32)
    background = float(np.percentile(g, 85))
    core = float(np.percentile(g, 1.5))
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
    # Components in the band that are character-sized give the grid.
    sub = (binary[top:bottom] * 255).astype(np.uint8)
    count, _, stats, centroids = cv2.connectedComponentsWithStats(sub, connectivity=8)
    boxes = []
    for k in range(1, count):
        x, _y, w, h, area = stats[k]
        # MRZ glyphs, fillers included, are at least 0.6 of the line height; background
        # microtext and specks are smaller.
        if h >= 0.6 * height and w >= 0.28 * height and area >= 0.06 * height * height:
            boxes.append((x, w, centroids[k][0]))
    if len(boxes) < max(3, n // 4):
        return None
    # The band from the tall glyphs themselves: stable whatever the background.
    tall = [k for k in range(1, count) if stats[k][3] >= 0.75 * height]
    if len(tall) >= 3:
        top_g = int(np.median([stats[k][1] for k in tall]))
        bottom_g = int(np.median([stats[k][1] + stats[k][3] for k in tall]))
        top, bottom = top + top_g, top + bottom_g
        height = bottom - top
    x_first = min(b[0] for b in boxes)
    x_last = max(b[0] + b[1] for b in boxes)
    pitch = (x_last - x_first) / (n - INK_SPAN_DEFICIT)
    if pitch < 3:
        return None
    # Grid: centre of cell i = a + b*i + c*i², fitted on single-glyph components (perspective
    # makes the pitch drift along the line).
    coeffs = np.array([0.0, pitch, x_first + 0.5 * pitch - 0.16 * pitch])  # c, b, a
    single = [b for b in boxes if b[1] <= 1.15 * pitch]
    for _ in range(3):
        idx: list[float] = []
        xs: list[float] = []
        for _, _, cx in single:
            guess = _grid_index(coeffs, cx, n)
            if guess is None:
                continue
            i, residual = guess
            if abs(residual) < 0.35 * pitch:
                idx.append(i)
                xs.append(cx)
        if len(idx) < max(6, n // 3):
            break
        degree = 2 if len(set(idx)) > n // 2 else 1
        fit = np.polyfit(np.array(idx), np.array(xs), degree)
        coeffs = fit if degree == 2 else np.array([0.0, fit[0], fit[1]])
    centres = np.polyval(coeffs, np.arange(n))
    steps = np.diff(centres)
    if steps.size and (steps.min() < 0.6 * pitch or steps.max() > 1.5 * pitch):
        return None
    pitch = float(np.mean(steps)) if steps.size else pitch
    margin = max(1, round(0.12 * height))
    y0 = top - margin
    y1 = bottom + margin
    if jitter is not None:
        y0 += round(jitter.uniform(-0.1, 0.1) * height)
        y1 += round(jitter.uniform(-0.1, 0.1) * height)
        centres = centres + np.array([jitter.uniform(-0.1, 0.1) * pitch for _ in range(n)])
        pitch *= jitter.uniform(0.93, 1.07)
    y0 = max(0, y0)
    y1 = min(ink.shape[0], max(y1, y0 + 4))
    half = 0.5 * pitch
    features = np.empty((n, CELL_H * CELL_W), dtype=np.float32)
    width = ink.shape[1]
    for i, cx in enumerate(centres):
        x0 = round(cx - half)
        x1 = round(cx + half)
        cell = np.zeros((y1 - y0, max(1, x1 - x0)), dtype=np.float32)
        lo, hi = max(0, x0), min(width, x1)
        if hi > lo:
            cell[:, lo - x0 : hi - x0] = ink[y0:y1, lo:hi]
        features[i] = cv2.resize(cell, (CELL_W, CELL_H), interpolation=cv2.INTER_AREA).ravel()
    return LineCells(features=features, pitch=pitch, band=band)


def _grid_index(coeffs: np.ndarray, cx: float, n: int) -> tuple[int, float] | None:
    centres = np.polyval(coeffs, np.arange(n))
    i = int(np.argmin(np.abs(centres - cx)))
    return i, float(cx - centres[i])


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


_model_lock = threading.Lock()
_model: GlyphModel | None = None


def _cache_dir() -> Path:
    base = os.environ.get("RA_WORKBENCH_DATA")
    candidates = [Path(base) / "cache"] if base else []
    candidates += [Path.home() / ".cache" / "ra_workbench", Path(tempfile.gettempdir())]
    for directory in candidates:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            if os.access(directory, os.W_OK):
                return directory
        except OSError:
            continue
    return Path(tempfile.gettempdir())


def _model_path() -> Path:
    digest = hashlib.sha256(f"{MODEL_VERSION}:{CELL_W}x{CELL_H}".encode()).hexdigest()[:12]
    return _cache_dir() / f"mrz-glyphs-{digest}.npz"


def glyph_model() -> GlyphModel:
    """The OCR-B cell classifier: from the cache, or trained now and cached."""
    global _model  # noqa: PLW0603 - one model per process, loaded once
    with _model_lock:
        if _model is not None:
            return _model
        path = _model_path()
        if path.exists():
            try:
                with np.load(path, allow_pickle=False) as data:
                    _model = GlyphModel(
                        data["w1"], data["b1"], data["w2"], data["b2"], data["mean"]
                    )
                    return _model
            except (OSError, KeyError, ValueError):
                log.warning("cache du modèle OCR-B illisible, nouvel apprentissage")
        _model = train_glyph_model()
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        try:
            np.savez(tmp, w1=_model.w1, b1=_model.b1, w2=_model.w2, b2=_model.b2, mean=_model.mean)
            tmp.replace(path)
        except OSError:
            log.warning("impossible d'écrire le cache du modèle OCR-B")
        return _model


# ---------------------------------------------------------------------------- training


def degrade_line(gray: np.ndarray, rng: random.Random) -> np.ndarray:
    """What a scanner or a phone does to a printed line: resolution, blur, tint, noise, JPEG."""
    img = gray.astype(np.float32)
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
    sigma = rng.choice([0.0, 0.0, rng.uniform(0.3, 1.0), rng.uniform(1.0, 2.2)]) * pitch_px / 30
    if sigma > 0.1:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    if rng.random() < 0.6:
        img += np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(2, 18), img.shape)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        ok, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(35, 90)])
        if ok:
            out = cv2.imdecode(enc, cv2.IMREAD_GRAYSCALE)
    return out


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


def training_set(lines: int = 1200, seed: int = 20240601) -> tuple[np.ndarray, np.ndarray]:
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
        strip = degrade_line(strip, rng)
        cells = segment_line(strip, n, jitter=rng if rng.random() < 0.7 else None)
        if cells is None:
            continue
        xs.append(cells.features)
        ys.append(np.array([ALPHABET.index(c) for c in text]))
    return np.concatenate(xs), np.concatenate(ys)


def train_glyph_model(lines: int = 1200, seed: int = 20240601) -> GlyphModel:
    """Fit the cell classifier on rendered, degraded OCR-B lines (deterministic)."""
    from sklearn.neural_network import MLPClassifier

    log.info("apprentissage du modèle OCR-B (%d lignes)", lines)
    x, y = training_set(lines, seed)
    mean = x.mean(axis=0)
    clf = MLPClassifier(
        hidden_layer_sizes=(160,),
        alpha=1e-4,
        batch_size=256,
        learning_rate_init=2e-3,
        max_iter=40,
        early_stopping=False,
        random_state=seed % (2**31),
    )
    with warnings.catch_warnings():
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
