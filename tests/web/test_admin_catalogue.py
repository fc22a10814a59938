"""The French words Flask-Admin's own catalogue lacks: the compiled catalogue shipped with the
package says exactly what its source (admin.po) says, and Flask-Admin's pages use it."""

from __future__ import annotations

from babel.messages.pofile import read_po
from babel.support import Translations
from flask import Flask

from ra_workbench.web.admin import ADMIN_TRANSLATIONS


def test_the_shipped_catalogue_is_compiled_from_its_source() -> None:
    source = ADMIN_TRANSLATIONS / "fr" / "LC_MESSAGES" / "admin.po"
    with source.open("rb") as handle:
        expected = {m.id: m.string for m in read_po(handle) if m.id}
    compiled = Translations.load(str(ADMIN_TRANSLATIONS), ["fr"], "admin")
    assert expected
    assert {msgid: compiled.gettext(msgid) for msgid in expected} == expected


def test_flask_admin_speaks_french_where_its_catalogue_is_silent(app: Flask) -> None:
    from flask_admin.babel import gettext

    with app.test_request_context("/admin/"):
        assert gettext("Failed to create record.").startswith("Enregistrement impossible")
        assert gettext("Save") == "Enregistrer"  # Flask-Admin's own translation still used
