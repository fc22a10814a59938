"""An administrator opens a week of pickup slots from the French form « Ouvrir des créneaux
récurrents », typing the dates as 03/12/2026; a period ending before it begins is refused
next to its field; the same series submitted twice opens nothing more; an operator may not
open slots. And the administration's own slot form reads what is typed, in French."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import g
from flask.testing import FlaskClient

from ra_workbench.audit.models import AuditEvent
from ra_workbench.clock import PARIS, today_in_paris
from ra_workbench.delivery.models import PickupSlot
from ra_workbench.extensions import db
from tests.auth import sign_in
from tests.factories import make_slot, make_user

URL = "/remise/creneaux/serie"
PLACE = "CertEurope, 26 rue du Faubourg Poissonnière, 75010 Paris"
# What Flask-Admin and WTForms say when left in English.
ENGLISH = ("This field", "Not a valid", "Failed to", "Integrity error", "must be", "Save")


def _next_monday() -> dt.date:
    today = today_in_paris()
    return today + dt.timedelta(days=7 - today.weekday())  # 1 to 7 days ahead


def _week_form(monday: dt.date, **changes: object) -> dict[str, object]:
    """Mondays and Wednesdays of one week, 9:00 to 12:00, hour-long slots: six of them."""
    form: dict[str, object] = {
        "weekdays": ["0", "2"],
        "first_day": monday.strftime("%d/%m/%Y"),
        "last_day": (monday + dt.timedelta(days=6)).strftime("%d/%m/%Y"),
        "opens": "09:00",
        "closes": "12h00",
        "minutes": "60",
        "capacity": "2",
        "location": PLACE,
    }
    form.update(changes)
    return form


def _submit(client: FlaskClient, data: dict[str, object]) -> tuple[int, str]:
    g.pop("_login_user", None)
    response = client.post(URL, data=data, follow_redirects=True)
    db.session.expire_all()
    return response.status_code, response.get_data(as_text=True)


def _signed_in_admin(client: FlaskClient) -> None:
    admin = make_user(db.session, role="admin")
    db.session.commit()
    sign_in(client, admin)


def _slots() -> list[PickupSlot]:
    return list(db.session.scalars(sa.select(PickupSlot).order_by(PickupSlot.starts_at)))


def test_admin_opens_a_week_of_slots_from_dates_typed_the_french_way(
    client: FlaskClient,
) -> None:
    _signed_in_admin(client)
    page = client.get("/remise/creneaux").get_data(as_text=True)
    assert "Ouvrir des créneaux récurrents" in page
    g.pop("_login_user", None)
    form = client.get(URL).get_data(as_text=True)
    for label in ("lundi", "dimanche", "Premier jour", "Dernier jour", "Capacité par créneau"):
        assert label in form
    assert 'data-datepicker="date"' in form
    assert 'placeholder="JJ/MM/AAAA"' in form

    monday = _next_monday()
    status, page = _submit(client, _week_form(monday))

    assert status == 200
    assert "6 créneaux ouverts ; 0 existait déjà." in page
    slots = _slots()
    assert [s.starts_at.astimezone(PARIS).strftime("%a %H:%M") for s in slots] == [
        "Mon 09:00",
        "Mon 10:00",
        "Mon 11:00",
        "Wed 09:00",
        "Wed 10:00",
        "Wed 11:00",
    ]
    assert slots[0].starts_at.astimezone(PARIS).date() == monday
    assert {(s.capacity, s.location) for s in slots} == {(2, PLACE)}
    assert all(s.ends_at - s.starts_at == dt.timedelta(hours=1) for s in slots)
    [entry] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.event_type == "delivery.slots_opened")
    )
    assert entry.actor.startswith("admin")
    assert entry.payload["created"] == 6
    assert entry.payload["first_day"] == monday.isoformat()


def test_a_period_ending_before_it_begins_is_refused_next_to_the_last_day(
    client: FlaskClient,
) -> None:
    _signed_in_admin(client)
    monday = _next_monday()

    status, page = _submit(
        client,
        _week_form(
            monday,
            last_day=(monday - dt.timedelta(days=1)).isoformat(),
            closes="08:00",
            minutes="dix",
        ),
    )

    assert status == 422
    assert "Dernier jour : doit suivre le premier jour" in page
    assert "Heure de fermeture : doit suivre l&#39;heure d&#39;ouverture" in page
    # WTForms' own message, in French through Flask-Babel.
    assert "Durée d&#39;un créneau (minutes) : N&#39;est pas un entier valide." in page
    assert [english for english in ENGLISH if english in page] == []
    assert _slots() == []


def test_an_unreadable_date_and_missing_days_are_named_in_french(client: FlaskClient) -> None:
    _signed_in_admin(client)

    status, page = _submit(
        client, _week_form(_next_monday(), weekdays=[], first_day="3 décembre", location="")
    )

    assert status == 422
    assert "Jours : cochez au moins un jour" in page
    assert "Premier jour : date illisible (attendu : JJ/MM/AAAA)" in page
    assert "Lieu : indiquez le lieu du retrait" in page
    assert [english for english in ENGLISH if english in page] == []


def test_the_same_series_submitted_twice_opens_nothing_more(client: FlaskClient) -> None:
    _signed_in_admin(client)
    monday = _next_monday()
    _submit(client, _week_form(monday))

    status, page = _submit(client, _week_form(monday, first_day=monday.isoformat()))

    assert status == 200
    assert "0 créneau ouvert ; 6 existaient déjà." in page
    assert len(_slots()) == 6
    created = db.session.scalars(
        sa.select(AuditEvent.payload)
        .where(AuditEvent.event_type == "delivery.slots_opened")
        .order_by(AuditEvent.seq)
    )
    assert [p["created"] for p in created] == [6, 0]


def test_an_operator_may_not_open_slots(client: FlaskClient) -> None:
    operator = make_user(db.session)
    db.session.commit()
    sign_in(client, operator)

    page = client.get("/remise/creneaux").get_data(as_text=True)
    assert "Ouvrir des créneaux récurrents" not in page
    g.pop("_login_user", None)
    assert client.get(URL).status_code == 403
    g.pop("_login_user", None)
    assert client.post(URL, data=_week_form(_next_monday())).status_code == 403
    assert _slots() == []


def test_admin_types_a_slot_in_the_administration_as_a_french_date_and_time(
    client: FlaskClient,
) -> None:
    _signed_in_admin(client)
    g.pop("_login_user", None)
    form = client.get("/admin/admin_slots/new/").get_data(as_text=True)
    assert 'data-datepicker="datetime"' in form
    assert "flatpickr" in form
    assert "Enregistrer" in form
    g.pop("_login_user", None)

    response = client.post(
        "/admin/admin_slots/new/",
        data={
            "starts_at": "03/12/2026 10:00",
            "ends_at": "2026-12-03T10:30",
            "location": PLACE,
            "capacity": "1",
        },
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    [slot] = _slots()
    assert slot.starts_at == dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
    assert slot.ends_at == dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC)
    g.pop("_login_user", None)
    edit = client.get(f"/admin/admin_slots/edit/?id={slot.id}").get_data(as_text=True)
    assert 'value="03/12/2026 10:00"' in edit  # shown back in Paris time


def test_the_administration_names_the_field_of_a_slot_it_refuses(client: FlaskClient) -> None:
    _signed_in_admin(client)
    slot = make_slot(db.session, capacity=3)
    slot.booked = 2
    db.session.commit()
    g.pop("_login_user", None)

    backwards = client.post(
        "/admin/admin_slots/new/",
        data={
            "starts_at": "03/12/2026 10:00",
            "ends_at": "03/12/2026 09:30",
            "location": PLACE,
            "capacity": "1",
        },
    ).get_data(as_text=True)
    g.pop("_login_user", None)
    starts = slot.starts_at.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")
    ends = slot.ends_at.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")
    too_small = client.post(
        f"/admin/admin_slots/edit/?id={slot.id}",
        data={"starts_at": starts, "ends_at": ends, "location": PLACE, "capacity": "1"},
    ).get_data(as_text=True)

    assert "La fin doit suivre le début." in backwards
    assert "La capacité ne peut pas être inférieure aux places déjà réservées (2)." in too_small
    for page in (backwards, too_small):
        assert "Échec" not in page
        assert [english for english in ENGLISH if english in page] == []
    db.session.expire_all()
    assert [(s.capacity, s.booked) for s in _slots()] == [(3, 2)]
