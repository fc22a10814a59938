"""The OCR-B typeface of machine-readable zones, from Debian's fonts-ocr-b package.

Used twice: the synthetic generator prints MRZs with it, and the glyph classifier learns
its characters from it. Nothing is downloaded.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

OCRB_DIRS = (Path("/usr/share/fonts/opentype/ocr-b"), Path("/usr/share/fonts/truetype/ocr-b"))
OCRB_FILES = ("OCRB.otf", "OCRBS.otf")
# OCR-B advance width and capital height, as fractions of the font size.
ADVANCE_PER_SIZE = 0.723
CAP_HEIGHT_PER_SIZE = 0.71
# MRZ line pitch (baseline to baseline) as a multiple of the character pitch.
LINE_PITCH = 1.65


class FontMissing(RuntimeError):
    """fonts-ocr-b is not installed."""


def ocrb_font_paths() -> list[Path]:
    found = [d / name for d in OCRB_DIRS for name in OCRB_FILES if (d / name).exists()]
    if not found:
        raise FontMissing("police OCR-B introuvable : installer le paquet fonts-ocr-b")
    return found


@functools.lru_cache(maxsize=64)
def ocrb_font(size: int, variant: int = 0) -> ImageFont.FreeTypeFont:
    paths = ocrb_font_paths()
    return ImageFont.truetype(str(paths[variant % len(paths)]), size)


def font_size_for_pitch(pitch_px: float) -> int:
    return max(6, round(pitch_px / ADVANCE_PER_SIZE))


def draw_mrz(
    image: Image.Image,
    lines: Sequence[str],
    origin: tuple[float, float],
    pitch_px: float,
    *,
    fill: int | tuple[int, ...] = 0,
    variant: int = 0,
) -> tuple[int, int, int, int]:
    """Print `lines` one character per pitch at `origin` (top-left). Returns the text box."""
    size = font_size_for_pitch(pitch_px)
    font = ocrb_font(size, variant)
    draw = ImageDraw.Draw(image)
    x0, y0 = origin
    line_pitch = pitch_px * LINE_PITCH
    for row, line in enumerate(lines):
        for col, char in enumerate(line):
            draw.text((x0 + col * pitch_px, y0 + row * line_pitch), char, font=font, fill=fill)
    width = round(pitch_px * max(len(line) for line in lines))
    height = round(line_pitch * (len(lines) - 1) + size)
    return round(x0), round(y0), width, height


def render_line(text: str, pitch_px: float, *, variant: int = 0, margin: float = 0.8) -> np.ndarray:
    """One MRZ line, black on white, as a uint8 grayscale array with a margin around it."""
    size = font_size_for_pitch(pitch_px)
    pad = round(pitch_px * margin)
    width = round(pitch_px * len(text)) + 2 * pad
    height = round(size * 1.1) + 2 * pad
    image = Image.new("L", (width, height), 255)
    draw_mrz(image, [text], (pad, pad - size * 0.1), pitch_px, variant=variant)
    return np.asarray(image)
