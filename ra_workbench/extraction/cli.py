"""`ra-workbench extract FILE...`: what the extractors read off files, one JSON line each.

Pure: no database, no application context. The lead wires `extract_command` into the
main `ra-workbench` group.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from ra_workbench.extraction import extract_document

DOCUMENT_TYPES = ("identity", "kbis", "mandate", "payment_proof")


def _summary(result: dict[str, Any]) -> str:
    if result["error"]:
        return f"{result['file']}: erreur : {result['error']}"
    parts = [f"{result['file']}: {result['type']}"]
    mrz, kbis, mandate = result["mrz"], result["kbis"], result["mandate"]
    if mrz:
        parts.append(
            f"MRZ {mrz.get('format')} {mrz.get('surname')} {' '.join(mrz.get('given_names') or [])}"
            f" valide={mrz.get('valid')}"
        )
    if kbis:
        managers = ", ".join(
            f"{m['role']} {m['surname']} {' '.join(m['given_names'])}".strip()
            for m in kbis["managers"]
        )
        parts.append(
            f"{kbis['kind']} du {kbis['date']} SIREN {kbis['siren']} {kbis['name']!r} [{managers}]"
        )
    if mandate:
        parts.append(f"mandat du {mandate['date']} signature={mandate['has_signature_field']}")
    parts.append(f"({result['seconds']:.2f} s)")
    return " ".join(parts)


@click.command("extract")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--type",
    "kind",
    type=click.Choice(DOCUMENT_TYPES),
    default=None,
    help="Type déclaré du document (deviné sinon).",
)
@click.option(
    "--at",
    "at",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date d'évaluation (AAAA-MM-JJ), pour la validité des pièces d'identité.",
)
@click.option("--json", "as_json", is_flag=True, help="Une ligne JSON par fichier.")
def extract_command(
    files: tuple[Path, ...], kind: str | None, at: dt.datetime | None, as_json: bool
) -> None:
    """Lire la MRZ, l'extrait Kbis ou le mandat de chaque fichier."""

    today = at.date() if at else None
    missing = 0
    for path in files:
        if not path.is_file():
            missing += 1
            result: dict[str, Any] = {
                "file": str(path),
                "type": kind or "unknown",
                "media_type": None,
                "pages": None,
                "mrz": None,
                "kbis": None,
                "mandate": None,
                "error": "fichier introuvable",
                "seconds": 0.0,
            }
        else:
            result = extract_document(path.read_bytes(), kind, filename=str(path), today=today)
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False))
        else:
            click.echo(_summary(result))
    sys.exit(1 if missing else 0)
