"""mandate.valid on the mandate's electronic signatures, verified with pyHanko against the
trust store of rules/ (REQUIREMENTS 7: appointed by the legal representative, countersigned).

The mandates are real PDFs, signed as the synthetic generator signs them, read through the
same JSON the extraction cache keeps."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from ra_workbench.checks.catalogue import CATALOGUE
from ra_workbench.checks.overrides import failure_code, is_hard_failure
from ra_workbench.checks.results import RuleResult
from tests.checks.builders import TODAY, clean_facts, repo_rules, with_mandataire
from tests.extraction.mandates import (
    UNKNOWN_CA,
    flipped_inside_signed_range,
    mandate_facts,
    signed_mandate,
    stamped_after_signing,
)


def _mandate_result(pdf: bytes, *, on: dt.date = TODAY) -> RuleResult:
    facts = with_mandataire(clean_facts(), mandate=mandate_facts(pdf))
    [result] = CATALOGUE["mandate.valid"](facts, repo_rules(), on)
    return result


def test_a_mandate_signed_by_the_legal_representative_and_countersigned_passes() -> None:
    result = _mandate_result(signed_mandate())
    assert result.outcome == "pass", result.message
    assert "« PAUL MOREL »" in result.message
    assert "contresigné par le mandataire « SOPHIE LEROY »" in result.message
    # What the dossier page shows: signer, time and chain of each signature.
    representative, mandataire = result.evidence["extracted"]["signatures"]
    assert representative["signer"] == "PAUL MOREL"
    assert representative["role"] == "legal_representative"
    assert representative["signing_time"].startswith("2026-11-02T")
    assert representative["chain"] == [
        "PAUL MOREL (FR)",
        "RA Workbench DEMO - AC de test des mandats (RA Workbench (test), FR)",
    ]
    assert mandataire["role"] == "mandataire"
    assert result.evidence["extracted"]["signature_valid"] is True
    assert failure_code("mandate.valid", result.evidence) is None


def test_a_mandate_changed_inside_its_signed_bytes_fails_hard() -> None:
    result = _mandate_result(flipped_inside_signed_range(signed_mandate()))
    assert result.outcome == "fail"
    assert "signature invalide" in result.message
    assert "le contenu signé a été modifié" in result.message
    assert failure_code("mandate.valid", result.evidence) == "signature_invalid"
    assert is_hard_failure("mandate.valid", result.outcome, result.evidence, repo_rules())


def test_a_mandate_whose_page_was_stamped_after_signing_fails_hard() -> None:
    result = _mandate_result(stamped_after_signing(signed_mandate()))
    assert result.outcome == "fail"
    assert "modifications après signature non autorisées (modification du contenu)" in (
        result.message
    )
    assert is_hard_failure("mandate.valid", result.outcome, result.evidence, repo_rules())


def test_a_mandate_signed_under_an_unknown_authority_goes_to_the_operator_with_the_reason() -> None:
    result = _mandate_result(signed_mandate(authority=UNKNOWN_CA))
    assert result.outcome == "manual"
    assert "certificat émis par « AC Inconnue - hors magasin de confiance (RA Workbench" in (
        result.message
    )
    assert "non reconnu par le magasin de confiance" in result.message
    assert failure_code("mandate.valid", result.evidence) is None
    [signature, _] = result.evidence["extracted"]["signatures"]
    assert signature["trusted"] is False


def test_a_mandate_signed_by_someone_else_than_the_legal_representative_goes_to_the_operator() -> (
    None
):
    result = _mandate_result(signed_mandate(representative=("JEAN", "DUPONT")))
    assert result.outcome == "manual"
    assert (
        "aucune signature du représentant légal déclaré (PAUL MOREL) : signé par "
        "« JEAN DUPONT », « SOPHIE LEROY »"
    ) in result.message


def test_a_mandate_without_the_mandataires_countersignature_goes_to_the_operator() -> None:
    result = _mandate_result(signed_mandate(countersigned=False))
    assert result.outcome == "manual"
    assert "contreseing du mandataire (SOPHIE LEROY) absent" in result.message


def test_a_signature_dated_before_the_mandate_or_after_the_check_goes_to_the_operator() -> None:
    facts = mandate_facts(signed_mandate())
    later_text_date = replace(facts, date=dt.date(2026, 11, 5))
    [result] = CATALOGUE["mandate.valid"](
        with_mandataire(clean_facts(), mandate=later_text_date), repo_rules(), TODAY
    )
    assert result.outcome == "manual"
    assert "signée le 02/11/2026, avant la date du mandat (05/11/2026)" in result.message
    checked_before = _mandate_result(signed_mandate(), on=dt.date(2026, 11, 1))
    assert checked_before.outcome == "manual"
    assert "postérieure au jour du contrôle" in checked_before.message


def test_an_unsigned_mandate_still_goes_to_the_operator() -> None:
    facts = replace(mandate_facts(signed_mandate()), has_signature_field=False, signatures=())
    [result] = CATALOGUE["mandate.valid"](
        with_mandataire(clean_facts(), mandate=facts), repo_rules(), TODAY
    )
    assert result.outcome == "manual"
    assert "sans signature électronique détectée" in result.message


def test_a_signature_pyhanko_cannot_decode_goes_to_the_operator_not_a_traceback() -> None:
    pdf = signed_mandate(countersigned=False)
    start = pdf.index(b"/Contents <") + len(b"/Contents <")
    garbled = pdf[:start] + b"ff" * 40 + pdf[start + 80 :]  # the CMS's first bytes, same length
    result = _mandate_result(garbled)
    assert result.outcome in ("manual", "fail")
    assert result.message
