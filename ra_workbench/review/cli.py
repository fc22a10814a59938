"""`ra-workbench evidence verify FILE`: check an auditors' export of registration evidence.

The export is sealed with the audit key's HMAC, so checking it needs the key: run it on an
application host, as `audit verify --seal`.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from ra_workbench.review.evidence import verify_export


@click.group("evidence")
def evidence_group() -> None:
    """Preuves d'enregistrement (REG-6.4.5-04)."""


@evidence_group.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_command(path: Path) -> None:
    """Vérifier le sceau d'un export de preuves (fichier preuves-<commande>.json)."""
    if not verify_export(path.read_bytes(), key=current_app.config["RA_SETTINGS"].audit_key):
        raise click.ClickException(
            f"{path} : sceau invalide — l'export a été modifié ou ne vient pas de cette instance."
        )
    click.echo(f"{path} : sceau valide, export intact.")
