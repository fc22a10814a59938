"""`ra-workbench evidence verify FILE`: check an auditors' export of registration evidence.

The export is signed by the RA's evidence seal (detached CMS): this checks that the JSON is
the one signed, that the signature holds, and that the seal's chain leads to this instance's
local CA root — what `openssl cms -verify` does for an auditor, with the reason in French.
"""

from __future__ import annotations

from pathlib import Path

import click

from ra_workbench.issuance.ca import CAError
from ra_workbench.issuance.seal import local_root, verify_detached
from ra_workbench.review.evidence import read_export


@click.group("evidence")
def evidence_group() -> None:
    """Preuves d'enregistrement (REG-6.4.5-04)."""


@evidence_group.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_command(path: Path) -> None:
    """Vérifier la signature d'un export de preuves (preuves-<commande>.zip, ou le .json avec
    son .p7s à côté)."""
    try:
        body, signature = read_export(path)
        root = local_root()
    except (ValueError, CAError) as exc:
        raise click.ClickException(str(exc)) from exc
    check = verify_detached(body, signature, root=root)
    if check.problem is not None:
        raise click.ClickException(f"{path} : signature refusée — {check.problem}.")
    signed_at = f" le {check.signed_at:%d/%m/%Y à %H:%M} UTC" if check.signed_at else ""
    click.echo(f"{path} : signature valide, export intact (signé par {check.signer}{signed_at}).")
