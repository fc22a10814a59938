"""Hostile and broken files: each gives an `error` result, quickly and in bounded memory,
whatever type the file was declared as; none raises."""

from __future__ import annotations

import io
import resource
import time
from collections.abc import Callable

import pytest

from ra_workbench.extraction import extract_document
from tests.extraction.hostile import (
    HTML_AS_PDF,
    blank_pdf,
    corrupt_pdf,
    encrypted_pdf,
    png_bomb,
    small_image,
    truncated,
)

KINDS = (None, "kbis", "identity", "mandate", "payment_proof")
MAX_SECONDS = 5.0


def _kbis_pdf() -> bytes:
    import random
    from datetime import date

    from ra_workbench.synth.kbis import random_company, render_kbis_pdf

    rng = random.Random(1)
    return render_kbis_pdf(random_company(rng, updated_on=date(2026, 3, 1)), rng=rng)


CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "zero-byte file": (lambda: b"", "fichier vide"),
    "truncated PNG": (lambda: truncated(small_image("PNG")), "image illisible"),
    "truncated JPEG": (lambda: truncated(small_image("JPEG")), "image illisible"),
    "corrupt PDF": (corrupt_pdf, "PDF illisible"),
    "truncated PDF": (lambda: truncated(_kbis_pdf()), "PDF illisible"),
    "encrypted PDF": (lambda: encrypted_pdf(_kbis_pdf()), "PDF chiffré"),
    "500-page PDF": (lambda: blank_pdf(500), "PDF de 500 pages"),
    "30000x30000 PNG bomb": (png_bomb, "image"),
    "HTML saved as .pdf": (lambda: HTML_AS_PDF, "HTML"),
}


@pytest.fixture(scope="module")
def hostile_files() -> dict[str, bytes]:
    return {name: make() for name, (make, _message) in CASES.items()}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_gives_an_error_result_not_a_crash(
    hostile_files: dict[str, bytes], case: str, kind: str | None
) -> None:
    started = time.perf_counter()
    result = extract_document(hostile_files[case], kind, filename=f"{case}.pdf")
    assert time.perf_counter() - started < MAX_SECONDS
    assert result["error"] is not None
    assert CASES[case][1] in result["error"]
    assert result["mrz"] is None
    assert result["kbis"] is None
    assert result["mandate"] is None
    assert result["type"] == (kind or "unknown")
    assert result["file"] == f"{case}.pdf"


def test_the_png_bomb_is_small_on_disk_and_refused_before_decoding(
    hostile_files: dict[str, bytes],
) -> None:
    bomb = hostile_files["30000x30000 PNG bomb"]
    assert len(bomb) < 1_000_000  # 900 million pixels behind it
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = extract_document(bomb, None)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert "bombe" in result["error"] or "trop grande" in result["error"]
    assert (after - before) < 200 * 1024  # KiB: nothing near 900 MB was allocated


def test_a_pdf_with_a_huge_page_is_rendered_at_a_bounded_resolution() -> None:
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    from ra_workbench.extraction import media

    buffer, jpeg = io.BytesIO(), io.BytesIO()
    Image.new("L", (200, 200), 255).save(jpeg, format="JPEG")
    jpeg.seek(0)
    canvas = Canvas(buffer, pagesize=(14400, 14400))  # 200 inches square, PDF's maximum
    canvas.drawImage(ImageReader(jpeg), 0, 0, width=14400, height=14400)
    canvas.showPage()
    canvas.save()
    data = buffer.getvalue()
    assert media.bounded_dpi(data, 250, 1, 1, 16_000_000) == 20
    result = extract_document(data, "kbis")
    assert result["error"] is None
    assert result["kbis"]["kind"] == "unknown"


def test_an_unsupported_format_is_named_in_the_error() -> None:
    result = extract_document(b"GIF89a" + b"\x00" * 100, None, filename="logo.gif")
    assert result["media_type"] == "image/gif"
    assert "format non pris en charge" in result["error"]


def test_a_good_file_has_no_error_and_counts_its_pages() -> None:
    result = extract_document(_kbis_pdf(), "kbis", filename="kbis.pdf")
    assert result["error"] is None
    assert result["media_type"] == "application/pdf"
    assert result["pages"] >= 1
    assert result["kbis"]["kind"] == "kbis"


def _jpeg(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.linear_gradient("L").resize((width, height)).convert("RGB").save(out, format="JPEG")
    return out.getvalue()


def test_a_large_jpeg_is_decoded_downscaled_by_libjpeg_not_at_full_size() -> None:
    from ra_workbench.extraction import media

    data = _jpeg(2400, 1800)  # 4.3 Mpx, a few kilobytes on disk
    image = media.load_image(data, decode_max_pixels=1_000_000)
    # 1/4 scale, exactly what libjpeg's reduced decode gives (half scale would be 1.08 Mpx):
    # a full decode resized afterwards would give about 1155×866.
    assert image.shape == (450, 600, 3)
    assert media.load_image(data).shape == (1800, 2400, 3)  # under the default bound


def test_every_image_the_extractor_reads_is_bounded_in_pixels_whatever_its_declared_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ra_workbench.extraction import media

    decoded: list[int] = []
    load_image = media.load_image

    def spy(data: bytes, *args: object, **kwargs: object) -> object:
        image = load_image(data, decode_max_pixels=250_000)
        decoded.append(image.shape[0] * image.shape[1])
        return image

    monkeypatch.setattr(media, "load_image", spy)
    for kind in KINDS:
        extract_document(_jpeg(1200, 900), kind)
    assert decoded
    assert max(decoded) <= 250_000


def test_a_jpeg_declaring_too_many_pixels_is_refused_before_decoding() -> None:
    from ra_workbench.extraction import media

    data = bytearray(_jpeg(64, 48))
    sof = data.index(b"\xff\xc0")  # baseline frame header: length, precision, height, width
    data[sof + 5 : sof + 9] = (9000).to_bytes(2, "big") + (9000).to_bytes(2, "big")
    with pytest.raises(media.MediaError, match="image trop grande"):
        media.load_image(bytes(data))
