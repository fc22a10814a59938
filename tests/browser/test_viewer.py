"""The document viewer at 1366×768 (issue 15, point 1): the operator zooms where she points,
pans by dragging, uses the keyboard, and every corner of every page stays within reach: the
passport's photo after three zoom steps, the top of the Kbis at every zoom step. The toolbar's
icons are drawn (inline SVG), and the MRZ band is outlined where the reader found it."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image, ImageDraw
from playwright.sync_api import Locator, Page, expect

from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_review_screens import sign_in
from tests.factories import (
    make_check_run,
    make_document,
    make_dossier,
    make_extraction,
    make_user,
    pdf_bytes,
    png_bytes,
)

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]
Box = dict[str, float]
_ANY_NUMBER = re.compile(r"^\d+(\.\d+)?(e-?\d+)?$")

# A passport data page drawn to scale (125 × 88 mm at 10 px/mm): the photo at the top left,
# the two MRZ lines across the bottom. Positions as fractions of the page.
PASSPORT_SIZE = (1250, 880)
PHOTO = (0.04, 0.16, 0.26, 0.50)  # x, y, width, height
MRZ_BAND = (0.04, 0.80, 0.92, 0.14)
# pdf_bytes draws its title at x = 72 pt, baseline 760 pt of an 842 pt high A4 page: the
# title's first word « EXTRAIT », in 12 pt Helvetica.
KBIS_TITLE = (72 / 595, (842 - 772) / 842, 48 / 595, 16 / 842)


def _passport_png() -> bytes:
    width, height = PASSPORT_SIZE
    image = Image.new("RGB", PASSPORT_SIZE, "#f3ead8")
    draw = ImageDraw.Draw(image)

    def rect(fraction: tuple[float, float, float, float], colour: str) -> None:
        x, y, w, h = fraction
        draw.rectangle(
            (x * width, y * height, (x + w) * width, (y + h) * height), fill=colour, outline="black"
        )

    draw.text((0.04 * width, 0.05 * height), "PASSEPORT  REPUBLIQUE FRANCAISE", fill="black")
    rect(PHOTO, "#5a6b85")
    draw.text((0.34 * width, 0.20 * height), "Nom / Surname : DURAND", fill="black")
    rect(MRZ_BAND, "#ffffff")
    draw.text(
        (0.05 * width, 0.83 * height), "P<FRADURAND<<CLAIRE<MARIE<<<<<<<<<<<<<<<<<<<", fill="black"
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _dossier_with_passport_and_kbis(kbis_pages: int = 3) -> Dossier:
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier, [])
    passport = make_document(db.session, dossier, side=None, data=_passport_png())
    make_extraction(
        db.session,
        passport,
        "identity",
        {
            "mrz": {
                "surname": "DURAND",
                "given_names": ["CLAIRE", "MARIE"],
                "lines": ["P<FRADURAND<<CLAIRE<MARIE<<<<<<<<<<<<<<<<<<<", "X4RTBPFW4" + "<" * 35],
                "location": {"page": 1, "rotation": 0, "bbox_fraction": list(MRZ_BAND)},
            }
        },
    )
    make_document(
        db.session,
        dossier,
        type="kbis",
        person_role=None,
        side=None,
        data=pdf_bytes(pages=kbis_pages),
        page_count=kbis_pages,
    )
    db.session.commit()
    return dossier


def _open_claimed(page: Page, live_server: str, dossier: Dossier) -> None:
    """The holder's identity images show only to the operator who claimed the dossier."""
    page.goto(f"{live_server}/validation/dossiers/{dossier.id}")
    page.click("#claim-button")
    expect(page.locator(".flash-success")).to_contain_text("Dossier pris en charge")


def _ready(viewer: Locator) -> Locator:
    frame = viewer.locator(".viewer-frame")
    frame.scroll_into_view_if_needed()  # images load lazily
    expect(viewer.locator("img").first).to_have_js_property("complete", True)
    expect(viewer).to_have_attribute("data-zoom", _ANY_NUMBER)
    return frame


def _zoom(viewer: Locator) -> float:
    return float(viewer.get_attribute("data-zoom") or "nan")


def _visible(frame: Locator) -> Box:
    """The frame's client area on screen: its box without borders and scrollbars."""
    box: Box = frame.evaluate(
        """f => { const r = f.getBoundingClientRect();
                  return {x: r.left + f.clientLeft, y: r.top + f.clientTop,
                          width: f.clientWidth, height: f.clientHeight}; }"""
    )
    return box


def _part(box: Box, fraction: tuple[float, float, float, float]) -> Box:
    x, y, w, h = fraction
    return {
        "x": box["x"] + x * box["width"],
        "y": box["y"] + y * box["height"],
        "width": w * box["width"],
        "height": h * box["height"],
    }


def _inside(inner: Box, outer: Box) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


def _box(locator: Locator) -> Box:
    box = locator.bounding_box()
    assert box is not None
    return dict(box)


def _scroll(frame: Locator) -> tuple[int, int]:
    left, top = frame.evaluate("f => [f.scrollLeft, f.scrollTop]")
    return int(left), int(top)


def _shot(element: Locator, name: str) -> Path:
    """The viewer as the operator sees it (a full-page capture would resize the viewport,
    and with it the frame, whose height follows the screen's)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    element.screenshot(path=str(path))
    return path


def _ctrl_wheel(page: Page, x: float, y: float, delta: float) -> None:
    page.mouse.move(x, y)
    page.keyboard.down("Control")
    page.mouse.wheel(0, delta)
    page.keyboard.up("Control")


def test_operator_zooms_three_steps_on_the_passport_and_drags_back_to_its_photo(
    app: Flask, live_server: str, page: Page
) -> None:
    operator = make_user(db.session)
    dossier = _dossier_with_passport_and_kbis()
    sign_in(page, live_server, operator)
    _open_claimed(page, live_server, dossier)

    viewer = page.locator("#person-holder [data-viewer]").first
    frame = _ready(viewer)
    image = viewer.locator("img")
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == list(PASSPORT_SIZE)
    # Opened whole: the page fits the frame, the photo is in sight.
    assert _inside(_box(image), _visible(frame))
    fitted = _zoom(viewer)

    # Three zoom steps with Ctrl + wheel on the right of the page: the point under the pointer
    # stays under it, so the top left (the photo) leaves the frame.
    for _ in range(3):
        img = _box(image)
        x, y = img["x"] + 0.85 * img["width"], img["y"] + 0.6 * img["height"]
        under = ((x - img["x"]) / img["width"], (y - img["y"]) / img["height"])
        before = viewer.get_attribute("data-zoom") or ""
        _ctrl_wheel(page, x, y, -100)
        expect(viewer).not_to_have_attribute("data-zoom", before)
        after = _box(image)
        assert abs(after["x"] + under[0] * after["width"] - x) < 2
        if img["height"] + 16 > _visible(frame)["height"]:  # taller than the frame: scrolls
            assert abs(after["y"] + under[1] * after["height"] - y) < 2
    assert _zoom(viewer) == pytest.approx(fitted * 1.25**3, rel=0.01)
    assert _scroll(frame)[1] > 0  # the last step was anchored in height too
    photo = _part(_box(image), PHOTO)
    assert not _inside(photo, _visible(frame))
    _shot(viewer, "viewer-01-passeport-zoom-x3")

    # Dragging the page right and down brings its top left back.
    frame.evaluate("f => f.scrollIntoView({block: 'center'})")
    seen = _visible(frame)
    assert seen["y"] >= 0
    assert seen["y"] + seen["height"] <= 768
    start = (seen["x"] + 20, seen["y"] + 20)
    for _ in range(4):
        page.mouse.move(*start)
        page.mouse.down()
        page.mouse.move(start[0] + seen["width"] - 60, start[1] + seen["height"] - 60, steps=5)
        page.mouse.up()
    assert _scroll(frame) == (0, 0)
    photo = _part(_box(image), PHOTO)
    assert _inside(photo, _visible(frame))
    assert photo["width"] > 0.26 * PASSPORT_SIZE[0] * fitted * 1.9  # still zoomed
    _shot(viewer, "viewer-02-passeport-photo-atteinte")


def test_top_of_the_first_kbis_page_is_reachable_at_every_zoom_step(
    app: Flask, live_server: str, page: Page
) -> None:
    operator = make_user(db.session)
    dossier = _dossier_with_passport_and_kbis(kbis_pages=3)
    sign_in(page, live_server, operator)
    _open_claimed(page, live_server, dossier)

    viewer = page.locator("#organisation [data-viewer]").first
    frame = _ready(viewer)
    pages = viewer.locator(".viewer-page")
    expect(pages).to_have_count(int(viewer.get_attribute("data-pages") or 0))
    assert pages.count() >= 2
    # One page after the other, at the frame's full width.
    first, second = _box(pages.nth(0)), _box(pages.nth(1))
    assert second["y"] >= first["y"] + first["height"]
    assert first["width"] == pytest.approx(_visible(frame)["width"] - 16, abs=2)  # 8 px padding
    assert viewer.get_attribute("data-fit") == "width"
    _shot(viewer, "viewer-03-kbis-largeur")

    zoom = _zoom(viewer)
    for step in range(6):
        viewer.locator("button[data-action=zoom-in]").click()
        assert _zoom(viewer) == pytest.approx(zoom * 1.25, rel=0.01), step
        zoom = _zoom(viewer)
        frame.evaluate("f => f.scrollTo(0, 0)")
        corner = _box(pages.nth(0))
        seen = _visible(frame)
        assert (corner["x"], corner["y"]) == (
            pytest.approx(seen["x"] + 8, abs=1),
            pytest.approx(seen["y"] + 8, abs=1),
        )
        assert _inside(_part(corner, KBIS_TITLE), seen), step
    assert _box(pages.nth(0))["width"] > 3 * _visible(frame)["width"]
    _shot(viewer, "viewer-04-kbis-zoom-haut-de-page")

    # Turned a quarter, zoomed: the page's top left corner is still at the scroll origin.
    viewer.locator("button[data-action=rotate]").click()
    expect(viewer).to_have_attribute("data-angle", "90")
    frame.evaluate("f => f.scrollTo(0, 0)")
    turned = _box(pages.nth(0))
    sheet = _box(pages.nth(0).locator("img"))
    assert turned["width"] > turned["height"]  # A4 lying on its side
    assert sheet["x"] == pytest.approx(turned["x"], abs=1)
    assert sheet["y"] == pytest.approx(turned["y"], abs=1)
    seen = _visible(frame)
    assert turned["x"] >= seen["x"] - 0.5
    assert turned["y"] >= seen["y"] - 0.5


def test_toolbar_icons_are_drawn_and_named_in_french(
    app: Flask, live_server: str, page: Page
) -> None:
    operator = make_user(db.session)
    dossier = _dossier_with_passport_and_kbis(kbis_pages=1)
    sign_in(page, live_server, operator)
    _open_claimed(page, live_server, dossier)
    viewer = page.locator("#person-holder [data-viewer]").first
    _ready(viewer)

    buttons = viewer.locator(".viewer-tools button")
    labels = [b.get_attribute("aria-label") for b in buttons.all()]
    assert labels == [
        "Réduire",
        "Agrandir",
        "Ajuster à la largeur",
        "Page entière",
        "Taille réelle",
        "Pivoter de 90°",
    ]
    for button in buttons.all():
        assert button.get_attribute("title")
        assert button.inner_text().strip() == ""  # no font glyph to miss
        drawn: Box = button.locator("svg").evaluate(
            "svg => { const b = svg.getBBox(); return {width: b.width, height: b.height}; }"
        )
        name = button.get_attribute("aria-label")
        assert drawn["width"] > 4, name
        assert drawn["height"] > 4, name
        pixels = Image.open(io.BytesIO(button.screenshot())).convert("RGB")
        light = sum(1 for r, g, b in pixels.getdata() if min(r, g, b) > 200)  # white strokes
        assert light > 20, name
    _shot(viewer.locator(".viewer-tools"), "viewer-05-barre-d-outils")


def test_keyboard_zooms_rotates_and_fits_when_the_frame_has_focus(
    app: Flask, live_server: str, page: Page
) -> None:
    operator = make_user(db.session)
    dossier = _dossier_with_passport_and_kbis(kbis_pages=1)
    sign_in(page, live_server, operator)
    _open_claimed(page, live_server, dossier)
    viewer = page.locator("#person-holder [data-viewer]").first
    frame = _ready(viewer)
    assert (frame.get_attribute("aria-label") or "").startswith("Pièce d'identité")
    fitted = _zoom(viewer)

    frame.focus()
    expect(frame).to_be_focused()
    page.keyboard.press("+")
    page.keyboard.press("+")
    assert _zoom(viewer) == pytest.approx(fitted * 1.25**2, rel=0.01)
    expect(viewer.locator(".viewer-zoom")).to_have_text(f"{round(fitted * 156.25)} %")
    page.keyboard.press("-")
    assert _zoom(viewer) == pytest.approx(fitted * 1.25, rel=0.01)
    page.keyboard.press("1")
    assert _zoom(viewer) == 1
    before = _scroll(frame)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    after = _scroll(frame)
    assert after[0] > before[0]
    assert after[1] > before[1]
    page.keyboard.press("r")
    expect(viewer).to_have_attribute("data-angle", "90")
    outer = _box(viewer.locator(".viewer-page"))
    assert outer["height"] > outer["width"]  # the landscape page stands up
    _shot(viewer, "viewer-06-clavier-pivote")
    page.keyboard.press("0")  # back to the page as it opened, whole
    expect(viewer).to_have_attribute("data-fit", "page")
    expect(viewer).to_have_attribute("data-angle", "90")
    assert _inside(_box(viewer.locator(".viewer-page")), _visible(frame))


def test_mrz_band_is_outlined_where_it_was_read_at_every_zoom(
    app: Flask, live_server: str, page: Page, shot: Shot
) -> None:
    operator = make_user(db.session)
    dossier = _dossier_with_passport_and_kbis(kbis_pages=1)
    sign_in(page, live_server, operator)
    _open_claimed(page, live_server, dossier)
    viewer = page.locator("#person-holder [data-viewer]").first
    _ready(viewer)
    band = viewer.locator(".mrz-band")
    expect(band).to_have_attribute("aria-label", "Bande MRZ lue ici")

    def matches() -> bool:
        expected = _part(_box(viewer.locator("img")), MRZ_BAND)
        drawn = _box(band)
        return all(abs(drawn[k] - expected[k]) < 2 for k in ("x", "y", "width", "height"))

    assert matches()
    viewer.locator("button[data-action=zoom-in]").click()
    viewer.locator("button[data-action=zoom-in]").click()
    assert matches()
    # Zoomed further and back at the top left, the band is out of sight; the link by the
    # MRZ lines brings it back into the frame.
    viewer.locator("button[data-action=zoom-in]").click()
    frame = viewer.locator(".viewer-frame")
    frame.evaluate("f => f.scrollTo(0, 0)")
    assert not _inside(_box(band), _visible(frame))
    page.locator("#person-holder [data-show-mrz]").click()
    shown, seen = _box(band), _visible(frame)
    # Wider than the frame at this zoom: its start and both its lines are in sight.
    assert _inside({**shown, "width": min(shown["width"], seen["width"] - 2)}, seen)
    assert matches()
    _shot(viewer, "viewer-07-bande-mrz")
    # The Kbis has no MRZ: nothing drawn there.
    expect(page.locator("#organisation .mrz-band")).to_have_count(0)
    shot(page, "viewer-08-dossier-pleine-page")


def test_recto_and_verso_of_an_identity_card_are_shown_side_by_side(
    app: Flask, live_server: str, page: Page
) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier, [])
    for side, colour in (("recto", "#cfe3f7"), ("verso", "#e7f0d9")):
        card = png_bytes(856, 540, colour, f"CNI {side.upper()}")
        make_document(db.session, dossier, side=side, data=card)
    db.session.commit()
    sign_in(page, live_server, operator)
    _open_claimed(page, live_server, dossier)

    recto, verso = page.locator("#person-holder [data-viewer]").all()
    _ready(recto)
    _ready(verso)
    left, right = _box(recto.locator(".viewer-frame")), _box(verso.locator(".viewer-frame"))
    assert left["y"] == pytest.approx(right["y"], abs=1)  # one row
    assert left["x"] + left["width"] <= right["x"]
    # Each card whole in its frame.
    for viewer in (recto, verso):
        assert _inside(_box(viewer.locator("img")), _visible(viewer.locator(".viewer-frame")))
    _shot(page.locator("#person-holder .pair").first, "viewer-09-recto-verso")
