"""`ra-workbench extract`: one JSON line per file, exit status 1 only for missing files."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from ra_workbench.extraction import extract_document
from ra_workbench.extraction.cli import extract_command
from ra_workbench.synth.documents import render_mandate_pdf
from ra_workbench.synth.kbis import random_company, render_kbis_pdf

KEYS = {
    "file",
    "type",
    "media_type",
    "pages",
    "mrz",
    "kbis",
    "mandate",
    "file_signals",
    "error",
    "seconds",
}


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    rng = random.Random(5)
    facts = random_company(rng, updated_on=date(2026, 3, 1))
    kbis = tmp_path / "kbis.pdf"
    kbis.write_bytes(render_kbis_pdf(facts, rng=rng))
    mandate = tmp_path / "mandat.pdf"
    mandate.write_bytes(
        render_mandate_pdf(
            organisation=facts.name,
            legal_representative="PAUL MOREL",
            mandataire="CLAIRE DURAND",
            signed_on=date(2026, 2, 20),
            electronically_signed=True,
            rng=rng,
        )
    )
    empty = tmp_path / "vide.pdf"
    empty.write_bytes(b"")
    return kbis, mandate, empty


def test_extract_prints_one_json_object_per_file(tmp_path: Path) -> None:
    kbis, mandate, empty = _files(tmp_path)
    result = CliRunner().invoke(extract_command, [str(kbis), str(mandate), str(empty), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["file"] for line in lines] == [str(kbis), str(mandate), str(empty)]
    assert all(set(line) == KEYS for line in lines)
    assert lines[0]["type"] == "kbis"
    assert lines[0]["kbis"]["date"] == "2026-03-01"
    assert lines[1]["type"] == "mandate"
    assert lines[1]["mandate"]["has_signature_field"] is True
    assert lines[2]["error"] == "fichier vide"


def test_declared_type_is_used_instead_of_guessing(tmp_path: Path) -> None:
    kbis, _mandate, _empty = _files(tmp_path)
    result = CliRunner().invoke(extract_command, [str(kbis), "--type", "mandate", "--json"])
    line = json.loads(result.stdout)
    assert line["type"] == "mandate"
    assert line["kbis"] is None
    assert line["mandate"]["has_signature_field"] is False


def test_json_line_is_what_extract_document_returns(tmp_path: Path) -> None:
    kbis, _mandate, _empty = _files(tmp_path)
    result = CliRunner().invoke(
        extract_command, [str(kbis), "--type", "kbis", "--at", "2026-03-10", "--json"]
    )
    line = json.loads(result.stdout)
    expected = extract_document(kbis.read_bytes(), "kbis", filename=str(kbis))
    for volatile in ("seconds",):
        line.pop(volatile), expected.pop(volatile)
    line["kbis"].pop("timings"), expected["kbis"].pop("timings")
    assert line == expected


def test_a_missing_file_is_reported_and_makes_the_exit_status_1(tmp_path: Path) -> None:
    kbis, _mandate, _empty = _files(tmp_path)
    missing = tmp_path / "absent.pdf"
    result = CliRunner().invoke(extract_command, [str(missing), str(kbis), "--json"])
    assert result.exit_code == 1
    first, second = (json.loads(line) for line in result.output.splitlines())
    assert first["error"] == "fichier introuvable"
    assert second["error"] is None


def test_without_json_a_readable_summary_is_printed(tmp_path: Path) -> None:
    kbis, _mandate, empty = _files(tmp_path)
    result = CliRunner().invoke(extract_command, [str(kbis), str(empty)])
    assert result.exit_code == 0
    first, second = result.output.splitlines()
    assert "kbis du 2026-03-01 SIREN" in first
    assert second.endswith("erreur : fichier vide")


def test_a_bad_date_option_is_refused_by_click(tmp_path: Path) -> None:
    kbis, _mandate, _empty = _files(tmp_path)
    result = CliRunner().invoke(extract_command, [str(kbis), "--at", "10/03/2026"])
    assert result.exit_code == 2
