"""The OCR-B glyph model ships with the package: read with numpy alone, never trained on a
first run, named by the extractor version."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ra_workbench import extraction
from ra_workbench.checks.models import CheckRun
from ra_workbench.documents.models import Extraction
from ra_workbench.extraction import mrz
from ra_workbench.extraction.mrz import glyphs
from ra_workbench.extraction.mrz.codec import ALPHABET


def test_the_extractor_version_names_the_shipped_model_file():
    assert glyphs.file_sha256(glyphs.MODEL_FILE) == glyphs.MODEL_SHA256
    assert mrz.EXTRACTOR_VERSION.endswith(glyphs.MODEL_SHA256[:8])
    assert mrz.EXTRACTOR_VERSION in extraction.EXTRACTOR_VERSION


def test_the_extractor_version_fits_the_columns_that_store_it():
    for column in (
        Extraction.__table__.c.extractor_version,
        CheckRun.__table__.c.extractor_version,
    ):
        assert len(extraction.EXTRACTOR_VERSION) <= column.type.length


def test_the_glyph_model_is_read_from_the_package_not_trained(monkeypatch):
    def no_training(*args: object, **kwargs: object) -> glyphs.GlyphModel:
        raise AssertionError("the shipped model is read, never trained on first use")

    monkeypatch.setattr(glyphs, "train_glyph_model", no_training)
    glyphs.glyph_model.cache_clear()
    try:
        model = glyphs.glyph_model()
    finally:
        glyphs.glyph_model.cache_clear()
    assert model.w1.shape == (glyphs.CELL_H * glyphs.CELL_W, glyphs.HIDDEN_UNITS)
    assert model.w2.shape == (glyphs.HIDDEN_UNITS, len(ALPHABET))


@pytest.mark.slow
def test_an_mrz_is_read_without_scikit_learn_installed():
    # A fresh interpreter where importing scikit-learn fails, as in a runtime-only install.
    script = (
        "import sys; sys.modules['sklearn'] = None\n"
        "from pathlib import Path\n"
        "from ra_workbench.extraction.mrz import read_identity\n"
        "from ra_workbench.synth.identity import render_identity_side, make_identity_document,"
        " random_person\n"
        "import random, datetime\n"
        "rng = random.Random(7)\n"
        "doc = make_identity_document(random_person(rng), 'cnie', issue_date=datetime.date(2022,"
        " 3, 1), rng=rng)\n"
        "data = render_identity_side(doc, doc.mrz_side, rng=rng, degradation='clean')\n"
        "reading = read_identity(data, today=datetime.date(2026, 1, 15))\n"
        "assert reading is not None and list(reading.facts.lines) == list(doc.mrz_lines)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


def test_an_altered_model_file_is_refused(tmp_path):
    data = bytearray(glyphs.MODEL_FILE.read_bytes())
    data[len(data) // 2] ^= 0x01
    altered = tmp_path / "ocrb_glyphs.npz"
    altered.write_bytes(bytes(data))
    with pytest.raises(glyphs.GlyphModelError):
        glyphs.load_model(altered, sha256=glyphs.MODEL_SHA256)


def test_retraining_writes_the_same_file_byte_for_byte(tmp_path):
    pytest.importorskip("sklearn", reason="training needs the `train` extra")
    first = glyphs.train_glyph_model(lines=40, hidden=8)
    second = glyphs.train_glyph_model(lines=40, hidden=8)
    sha_first = glyphs.save_model(first, tmp_path / "first.npz")
    assert glyphs.save_model(second, tmp_path / "second.npz") == sha_first

    loaded = glyphs.load_model(tmp_path / "first.npz", sha256=sha_first)
    cells = np.random.default_rng(3).random((5, glyphs.CELL_H * glyphs.CELL_W), dtype=np.float32)
    np.testing.assert_array_equal(loaded.probabilities(cells), first.probabilities(cells))
