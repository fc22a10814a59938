"""An administrator opens pickup slots in a real browser (issue 14, point 5): the calendar of
« Ouvrir des créneaux récurrents » is French and starts on Monday, a day is picked in it and
another typed by hand; a period ending before it begins is refused next to its field and
what was typed stays; in the administration, a slot typed as 10/12/2026 10:00 is saved at
that Paris time, with the same French calendar."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from ra_workbench.clock import PARIS, today_in_paris
from ra_workbench.delivery.models import PickupSlot
from ra_workbench.extensions import db
from tests.browser.test_review_screens import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]
PLACE = "CertEurope, 26 rue du Faubourg Poissonnière, 75010 Paris"
FRENCH_MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def _admin_signed_in(page: Page, base: str) -> None:
    admin = make_user(db.session, role="admin", first_name="Claire", last_name="Fontaine")
    db.session.commit()
    sign_in(page, base, admin)


def _pick(page: Page, day: dt.date) -> None:
    """Click `day` in the open calendar, turning its months forward as a person would."""
    calendar = page.locator(".flatpickr-calendar.open")
    label = f"{WEEKDAYS[day.weekday()]} {day.day} {FRENCH_MONTHS[day.month - 1]} {day.year}"
    target = calendar.locator(f'.flatpickr-day[aria-label="{label}"]:not(.prevMonthDay)')
    for _ in range(13):
        if target.count():
            break
        calendar.locator(".flatpickr-next-month").click()
    target.first.click()


def _slots() -> list[PickupSlot]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(PickupSlot).order_by(PickupSlot.starts_at)))


def test_admin_opens_a_series_with_the_french_calendar(
    app: Flask, live_server: str, page: Page, shot: Shot
) -> None:
    today = today_in_paris()
    monday = today + dt.timedelta(days=7 - today.weekday())
    _admin_signed_in(page, live_server)
    page.goto(f"{live_server}/remise/creneaux/serie")

    page.click("#first_day")
    calendar = page.locator(".flatpickr-calendar.open")
    expect(calendar).to_be_visible()
    weekdays = calendar.locator(".flatpickr-weekday").all_inner_texts()
    assert [w.strip().lower() for w in weekdays] == [
        "lun",
        "mar",
        "mer",
        "jeu",
        "ven",
        "sam",
        "dim",
    ]
    month = calendar.locator(".cur-month, .flatpickr-monthDropdown-months option:checked")
    assert month.first.inner_text().strip().lower() in FRENCH_MONTHS
    shot(page, "slots-01-calendrier-francais")
    _pick(page, monday)
    expect(page.locator("#first_day")).to_have_value(f"{monday:%d/%m/%Y}")

    # The last day typed by hand, before the first: refused next to its field, kept as typed.
    page.fill("#last_day", f"{monday - dt.timedelta(days=1):%d/%m/%Y}")
    page.keyboard.press("Escape")
    for day in ("1", "3", "4"):  # Mondays and Wednesdays only
        page.uncheck(f"#weekdays-{day}")
    page.fill("#opens", "09:00")
    page.fill("#closes", "12:00")
    page.fill("#minutes", "60")
    page.fill("#location", PLACE)
    page.click("text=Ouvrir les créneaux")
    expect(page.locator(".field-error")).to_contain_text(
        "Dernier jour : doit suivre le premier jour"
    )
    expect(page.locator("#first_day")).to_have_value(f"{monday:%d/%m/%Y}")
    expect(page.locator("#location")).to_have_value(PLACE)
    shot(page, "slots-02-periode-refusee")
    assert _slots() == []

    page.fill("#last_day", f"{monday + dt.timedelta(days=6):%d/%m/%Y}")
    page.keyboard.press("Escape")
    page.click("text=Ouvrir les créneaux")
    expect(page.locator(".flash-success")).to_contain_text("6 créneaux ouverts")
    shot(page, "slots-03-serie-ouverte")
    opened = [s.starts_at.astimezone(PARIS) for s in _slots()]
    assert [(s.date(), s.hour) for s in opened] == [
        (monday + dt.timedelta(days=d), h) for d in (0, 2) for h in (9, 10, 11)
    ]


def test_admin_types_a_slot_in_the_administration_in_french(
    app: Flask, live_server: str, page: Page, shot: Shot
) -> None:
    day = today_in_paris() + dt.timedelta(days=7)
    _admin_signed_in(page, live_server)
    page.goto(f"{live_server}/admin/admin_slots/new/")
    page.click("#starts_at")
    calendar = page.locator(".flatpickr-calendar.open")
    expect(calendar).to_be_visible()
    first = calendar.locator(".flatpickr-weekday").first.inner_text()
    assert first.strip().lower() == "lun"
    shot(page, "slots-04-administration-calendrier")
    page.fill("#starts_at", f"{day:%d/%m/%Y} 10:00")
    page.keyboard.press("Escape")
    page.fill("#ends_at", f"{day:%d/%m/%Y} 10:30")
    page.keyboard.press("Escape")
    page.fill("#location", PLACE)
    page.fill("#capacity", "2")
    page.locator("input[type=submit][value='Enregistrer']").click()
    expect(page).to_have_url(re.compile(r"/admin/admin_slots/"))
    expect(page.locator(".alert-danger")).to_have_count(0)
    shot(page, "slots-05-administration-enregistre")
    [slot] = _slots()
    assert slot.starts_at.astimezone(PARIS).replace(tzinfo=None) == dt.datetime.combine(
        day, dt.time(10)
    )
    assert slot.ends_at - slot.starts_at == dt.timedelta(minutes=30)
