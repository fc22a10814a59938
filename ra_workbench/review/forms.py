"""The decision forms (Flask-WTF: every POST carries the CSRF token)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ra_workbench.checks.models import CheckResult
from ra_workbench.checks.results import Outcome
from ra_workbench.review.decisions import MIN_JUSTIFICATION_LENGTH
from ra_workbench.review.reasons import ReviewReasons, rule_label

CONFIRM_PREFIX = "confirm_"


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (claim, release, re-run the checks)."""


class NoteForm(FlaskForm):
    """An internal note on the dossier (staff only)."""

    body = TextAreaField(
        "Nouvelle note interne",
        validators=[
            DataRequired("la note est vide"),
            Length(max=4000, message="4 000 caractères au plus"),
        ],
    )


class _WithConfirmations(FlaskForm):
    check_run_id = HiddenField()

    def confirmations(self) -> dict[int, str]:
        out: dict[int, str] = {}
        for name, field_ in self._fields.items():
            if name.startswith(CONFIRM_PREFIX):
                out[int(name.removeprefix(CONFIRM_PREFIX))] = str(field_.data or "")
        return out

    def confirmation_fields(self) -> list[tuple[int, Field]]:
        return [
            (int(name.removeprefix(CONFIRM_PREFIX)), f)
            for name, f in self._fields.items()
            if name.startswith(CONFIRM_PREFIX)
        ]

    def run_id(self) -> int | None:
        raw = self.check_run_id.data
        return int(raw) if raw and str(raw).isdigit() else None


class ApproveForm(_WithConfirmations):
    comment = TextAreaField("Commentaire (facultatif)", validators=[Optional(), Length(max=4000)])


class OverrideForm(_WithConfirmations):
    justification = TextAreaField(
        "Justification de la dérogation",
        validators=[DataRequired(), Length(min=MIN_JUSTIFICATION_LENGTH, max=4000)],
    )


F = TypeVar("F", bound=_WithConfirmations)


def _with_manual_fields(form_class: type[F], results: Sequence[CheckResult], prefix: str) -> F:
    """A form with one confirmation comment per `manual` result of the run."""

    class Bound(form_class):  # type: ignore[valid-type,misc]
        pass

    for result in results:
        if result.outcome == Outcome.MANUAL:
            setattr(
                Bound,
                f"{CONFIRM_PREFIX}{result.id}",
                TextAreaField(
                    f"Confirmation : {rule_label(result.rule)}",
                    validators=[Optional(), Length(max=2000)],
                ),
            )
    return Bound(prefix=prefix)  # type: ignore[no-any-return]


def approve_form(results: Sequence[CheckResult]) -> ApproveForm:
    return _with_manual_fields(ApproveForm, results, "approve")


def override_form(results: Sequence[CheckResult]) -> OverrideForm:
    return _with_manual_fields(OverrideForm, results, "override")


class RequestDocumentsForm(FlaskForm):
    check_run_id = HiddenField()
    reasons = MultiCheckboxField("Pièces ou corrections à demander", choices=[])
    comment = TextAreaField("Précisions pour le client", validators=[Optional(), Length(max=4000)])


def request_documents_form(
    reasons: ReviewReasons, preselected: Sequence[str] = ()
) -> RequestDocumentsForm:
    form = RequestDocumentsForm(prefix="request")
    form.reasons.choices = [
        (code, f"{rule_label(code)} — {label}") for code, label in reasons.request.items()
    ]
    # Posted (and refused), it keeps what was ticked; otherwise, and when the page is shown
    # again after another form was refused, the failing rules are ticked.
    if not form.check_run_id.raw_data:
        form.reasons.data = [c for c in preselected if c in reasons.request]
    return form


class RejectForm(FlaskForm):
    reason = SelectField("Motif du refus", choices=[], validators=[DataRequired()])
    comment = TextAreaField("Commentaire", validators=[Optional(), Length(max=4000)])
    # A final refusal is confirmed in the form itself, and checked by the server.
    confirm = BooleanField(
        "Je confirme le refus définitif : le client en sera informé et ne pourra plus compléter "
        "cette commande.",
        validators=[DataRequired("Cochez la case pour confirmer que le refus est définitif.")],
    )


def reject_form(reasons: ReviewReasons) -> RejectForm:
    form = RejectForm(prefix="reject")
    form.reason.choices = [("", "— choisir —"), *reasons.reject.items()]
    return form


class SecondApprovalForm(FlaskForm):
    comment = TextAreaField("Commentaire (facultatif)", validators=[Optional(), Length(max=4000)])


class RefuseOverrideForm(FlaskForm):
    comment = TextAreaField(
        "Motif du refus de la dérogation", validators=[DataRequired(), Length(max=4000)]
    )


class QueueFilterForm(FlaskForm):
    """GET filters of the queue (no CSRF: they change nothing)."""

    class Meta:
        csrf = False

    q = StringField("Rechercher")
    livraison = SelectField(
        "Livraison",
        choices=[("", "Toutes"), ("shipping", "En livraison"), ("pickup", "À retirer")],
        validators=[Optional()],
    )
    paiement = SelectField(
        "Paiement",
        choices=[("", "Tous"), ("card", "Carte bancaire"), ("transfer", "Virement")],
        validators=[Optional()],
    )
    regle = SelectField("Contrôle en échec", choices=[], validators=[Optional()])
    age_min = IntegerField("Âge min. (j)", validators=[Optional(), NumberRange(min=0, max=3650)])
    age_max = IntegerField("Âge max. (j)", validators=[Optional(), NumberRange(min=0, max=3650)])
    tri = SelectField(
        "Tri",
        choices=[("anciens", "Plus anciens d'abord"), ("recents", "Plus récents d'abord")],
        validators=[Optional()],
    )
