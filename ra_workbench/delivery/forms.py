"""The staff form that opens pickup slots as a series (« Ouvrir des créneaux récurrents »),
and the French date fields the staff screens and the administration share.

Dates are text inputs shown as 03/12/2026 with a French, Monday-first calendar
(`static/datepicker.js`, flatpickr served locally): the browser's own `<input type="date">`
follows the browser's locale, and Debian's Chromium only ships en-US (mm/dd/yyyy, Sunday
first, and its time input says 05:00 PM). What people type is read too: 03/12/2026,
3.12.2026, 2026-12-03; hours as 09:00 or 9h30. Every error is French and stays next to its field;
the series itself is checked again by `SlotSeries`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    IntegerField,
    SelectMultipleField,
    StringField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from ra_workbench.clock import FRENCH_DAY_FORMATS, PARIS, today_in_paris
from ra_workbench.delivery.slots import SlotSeries

WEEKDAY_LABELS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
LONGEST_PERIOD = dt.timedelta(days=366)
MAX_CAPACITY = 500  # as the administration's slot form


class _PickerInput(TextInput):
    """A text input the French calendar attaches to (`data-datepicker`)."""

    def __init__(self, kind: str, placeholder: str) -> None:
        super().__init__()
        self.kind, self.placeholder = kind, placeholder

    def __call__(self, field: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("data-datepicker", self.kind)
        kwargs.setdefault("placeholder", self.placeholder)
        kwargs.setdefault("autocomplete", "off")
        return super().__call__(field, **kwargs)


class _LenientInput:
    """What the French fields share: the first accepted format is the one shown (and the
    calendar writes), the others what people type; an empty value is left to the required
    validator, so that it says « indiquez… » rather than « illisible »."""

    accepted: tuple[str, ...]
    unreadable: str
    data: Any

    def _convert(self, parsed: dt.datetime) -> Any:
        return parsed

    def process_formdata(self, valuelist: list[str]) -> None:
        text = " ".join(valuelist).strip().lower() if valuelist else ""
        self.data = None
        if not text:
            return
        for pattern in self.accepted:
            try:
                parsed = dt.datetime.strptime(text, pattern)  # noqa: DTZ007 - Paris wall time
            except ValueError:
                continue
            self.data = self._convert(parsed)
            return
        raise ValueError(self.unreadable)

    def _value(self) -> str:
        return self.data.strftime(self.accepted[0]) if self.data is not None else ""


class FrenchDateField(_LenientInput, DateField):
    widget = _PickerInput("date", "JJ/MM/AAAA")
    accepted = FRENCH_DAY_FORMATS
    unreadable = "date illisible (attendu : JJ/MM/AAAA)"

    def _convert(self, parsed: dt.datetime) -> dt.date:
        return parsed.date()


class FrenchTimeField(_LenientInput, TimeField):
    widget = _PickerInput("time", "HH:MM")
    accepted = ("%H:%M", "%H:%M:%S", "%Hh%M", "%Hh", "%H")
    unreadable = "heure illisible (attendu : HH:MM)"

    def _convert(self, parsed: dt.datetime) -> dt.time:
        return parsed.time()


class ParisDateTimeField(_LenientInput, DateTimeLocalField):
    """A Paris wall time, naive, picked in the French calendar or typed; a stored (UTC)
    value is shown back in Paris time."""

    widget = _PickerInput("datetime", "JJ/MM/AAAA HH:MM")
    accepted = (
        "%d/%m/%Y %H:%M",
        "%d/%m/%Y %H:%M:%S",
        "%d/%m/%Y %Hh%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    )
    unreadable = "date et heure illisibles (attendu : JJ/MM/AAAA HH:MM)"

    def _value(self) -> str:
        value = self.data
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(PARIS).replace(tzinfo=None)
        return value.strftime(self.accepted[0]) if value is not None else ""


class WeekdaysField(SelectMultipleField):
    """Seven checkboxes, Monday first as in France."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SlotSeriesForm(FlaskForm):
    weekdays = WeekdaysField(
        "Jours",
        choices=list(enumerate(WEEKDAY_LABELS_FR)),
        coerce=int,
        default=[0, 1, 2, 3, 4],
        validators=[DataRequired("cochez au moins un jour")],
    )
    first_day = FrenchDateField("Premier jour", validators=[InputRequired("indiquez une date")])
    last_day = FrenchDateField("Dernier jour", validators=[InputRequired("indiquez une date")])
    opens = FrenchTimeField(
        "Heure d'ouverture", default=dt.time(9), validators=[InputRequired("indiquez une heure")]
    )
    closes = FrenchTimeField(
        "Heure de fermeture",
        default=dt.time(17),
        validators=[InputRequired("indiquez une heure")],
    )
    minutes = IntegerField(
        "Durée d'un créneau (minutes)",
        default=30,
        validators=[
            InputRequired("indiquez une durée"),
            NumberRange(5, 480, "de 5 à 480 minutes"),
        ],
    )
    capacity = IntegerField(
        "Capacité par créneau (personnes)",
        default=1,
        validators=[
            InputRequired("indiquez une capacité"),
            NumberRange(1, MAX_CAPACITY, f"de 1 à {MAX_CAPACITY} personnes"),
        ],
    )
    location = StringField(
        "Lieu",
        validators=[DataRequired("indiquez le lieu du retrait"), Length(max=300)],
    )

    def validate_last_day(self, field: FrenchDateField) -> None:
        first, last = self.first_day.data, field.data
        if last is None:
            return
        if first is not None and last < first:
            raise ValidationError("doit suivre le premier jour")
        if first is not None and last - first >= LONGEST_PERIOD:
            raise ValidationError("une série couvre au plus un an")
        if last < today_in_paris():
            raise ValidationError("est déjà passé")

    def validate_closes(self, field: FrenchTimeField) -> None:
        if self.opens.data is not None and field.data is not None and field.data <= self.opens.data:
            raise ValidationError("doit suivre l'heure d'ouverture")

    def validate_minutes(self, field: IntegerField) -> None:
        opens, closes = self.opens.data, self.closes.data
        if field.data is None or opens is None or closes is None or closes <= opens:
            return
        day = dt.date(2000, 1, 3)
        span = dt.datetime.combine(day, closes) - dt.datetime.combine(day, opens)
        if dt.timedelta(minutes=field.data) > span:
            raise ValidationError(
                f"plus longue que la plage d'ouverture ({int(span.total_seconds()) // 60} min)"
            )

    def series(self) -> SlotSeries:
        """The series the valid form describes (SlotSeries checks it once more)."""
        first, last = self.first_day.data, self.last_day.data
        opens, closes = self.opens.data, self.closes.data
        if first is None or last is None or opens is None or closes is None:
            raise ValueError("formulaire incomplet")
        return SlotSeries(
            first_day=first,
            last_day=last,
            opens=opens,
            closes=closes,
            minutes=int(self.minutes.data or 0),
            capacity=int(self.capacity.data or 0),
            location=(self.location.data or "").strip(),
            weekdays=frozenset(self.weekdays.data or ()),
        )
