"""Each rule of the catalogue on hand-built facts: what the operator sees, and why."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from ra_workbench.checks.catalogue import CATALOGUE, identity_type, is_french_mobile
from ra_workbench.checks.facts import (
    DossierFacts,
    DuplicateFacts,
    KbisFacts,
    MandateFacts,
    MrzFacts,
)
from ra_workbench.checks.results import MISSING_INPUT, RULE_IDS, RuleResult
from ra_workbench.checks.rules import Rules
from ra_workbench.extraction.kbis import KbisReading
from ra_workbench.extraction.kbis.parser import parse_extract
from tests.checks.builders import (
    TODAY,
    clean_facts,
    document,
    kbis,
    mrz,
    person,
    replace_document,
    repo_rules,
    signed,
    with_mandataire,
    without_documents,
)

RULES = repo_rules()


def run(rule_id: str, facts=None, on: dt.date = TODAY) -> list[RuleResult]:  # type: ignore[no-untyped-def]
    return CATALOGUE[rule_id](facts or clean_facts(), RULES, on)


def outcomes(rule_id: str, facts=None, on: dt.date = TODAY) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.outcome for r in run(rule_id, facts, on)]


def the_doc(facts, doc_type: str, role: str | None = None, side: str | None = None):  # type: ignore[no-untyped-def]
    return next(
        d
        for d in facts.documents
        if d.type == doc_type
        and (role is None or d.person_role == role)
        and (side is None or d.side == side)
    )


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_rule_passes_on_a_clean_signed_dossier(rule_id: str) -> None:
    results = run(rule_id)
    assert results, f"{rule_id} gave no result"
    assert {r.outcome for r in results} == {"pass"}, [r.message for r in results]
    assert all(r.message for r in results)


def test_every_rule_id_of_the_issue_has_an_implementation() -> None:
    assert set(CATALOGUE) == set(RULE_IDS)
    # issue 4's 24, issue 13's payment.amount, fields.required, kbis.legal_form and
    # delivery.holder_address, and issue 17's identity.reuse and file.signals
    assert len(RULE_IDS) == 31


# -- files ---------------------------------------------------------------------------------


def test_a_pdf_renamed_to_jpg_fails_the_format_check_naming_the_file() -> None:
    facts = clean_facts()
    recto = the_doc(facts, "identity", "holder", "recto")
    facts = replace_document(facts, recto, media_type="application/pdf")
    [result] = run("file.format", facts)
    assert result.outcome == "fail"
    assert "cni-durand-recto.jpg" in result.message
    assert result.document_id == recto.id
    assert result.evidence["declared"] == ".jpg"
    assert result.evidence["extracted"] == "application/pdf"


def test_an_html_page_uploaded_as_pdf_is_not_an_accepted_format() -> None:
    facts = clean_facts()
    facts = replace_document(facts, the_doc(facts, "kbis"), media_type="text/html")
    [result] = run("file.format", facts)
    assert result.outcome == "fail"
    assert "non accepté" in result.message
    # Nothing to decode: file.readable leaves it to file.format.
    assert outcomes("file.readable", facts) == ["pass"]


def test_a_jpeg_named_jpeg_is_accepted() -> None:
    facts = clean_facts()
    recto = the_doc(facts, "identity", "holder", "recto")
    facts = replace_document(facts, recto, original_name="carte.JPEG")
    assert outcomes("file.format", facts) == ["pass"]


def test_a_file_over_three_megabytes_fails_the_size_check() -> None:
    facts = clean_facts()
    facts = replace_document(facts, the_doc(facts, "kbis"), size=3_000_000 + 1)
    [result] = run("file.size", facts)
    assert result.outcome == "fail"
    assert "3,0 Mo" in result.message
    assert outcomes(
        "file.size",
        replace_document(clean_facts(), the_doc(clean_facts(), "kbis"), size=3_000_000),
    ) == ["pass"]


def test_a_file_name_with_an_extra_dot_fails_and_a_plain_one_passes() -> None:
    facts = clean_facts()
    facts = replace_document(
        facts, the_doc(facts, "kbis"), original_name="Piece.justificative.du.porteur.pdf"
    )
    [result] = run("file.name", facts)
    assert result.outcome == "fail"
    assert "Piece.justificative.du.porteur.pdf" in result.message


def test_an_encrypted_or_corrupt_pdf_is_unreadable() -> None:
    facts = clean_facts()
    facts = replace_document(facts, the_doc(facts, "kbis"), page_count=None)
    [result] = run("file.readable", facts)
    assert result.outcome == "fail"
    assert "chiffré" in result.message


def test_a_pdf_with_too_many_pages_is_unreadable() -> None:
    facts = clean_facts()
    facts = replace_document(facts, the_doc(facts, "kbis"), page_count=500)
    [result] = run("file.readable", facts)
    assert result.outcome == "fail"
    assert "500 pages" in result.message


def test_a_pdf_past_the_extractor_ceiling_is_refused_with_the_rules_maximum() -> None:
    facts = clean_facts()
    facts = replace_document(
        facts,
        the_doc(facts, "kbis"),
        page_count=10_000,
        read_error="PDF de 10000 pages (maximum 50)",  # the extractor's own ceiling
    )
    [result] = run("file.readable", facts)
    assert result.outcome == "fail"
    assert "PDF de 10000 pages (maximum 20)" in result.message


def test_the_extractor_error_on_a_truncated_image_is_shown_to_the_operator() -> None:
    facts = clean_facts()
    recto = the_doc(facts, "identity", "holder", "recto")
    facts = replace_document(facts, recto, read_error="image illisible ou tronquée (OSError)")
    [result] = run("file.readable", facts)
    assert result.outcome == "fail"
    assert "tronquée" in result.message


def test_an_extractor_crash_is_an_error_not_a_failure_of_the_customer() -> None:
    facts = clean_facts()
    recto = the_doc(facts, "identity", "holder", "recto")
    facts = replace_document(facts, recto, extraction_failed=True)
    assert outcomes("file.readable", facts) == ["error"]


# -- dossier -------------------------------------------------------------------------------


def test_a_missing_kbis_makes_the_dossier_incomplete_with_the_document_named() -> None:
    facts = without_documents(clean_facts(), lambda d: d.type == "kbis")
    [result] = run("dossier.documents_complete", facts)
    assert result.outcome == "fail"
    assert result.evidence["document_type"] == "kbis"
    # The kbis rules say they could not run, marked so that nothing is asked twice.
    for rule_id in ("kbis.read", "kbis.age", "kbis.siren_match"):
        [dependent] = run(rule_id, facts)
        assert dependent.outcome == "fail"
        assert dependent.evidence[MISSING_INPUT]


def test_the_legal_representative_who_is_the_holder_sends_one_identity_document() -> None:
    holder = person(
        "holder",
        first_name="PAUL",
        last_name="MOREL",
        email="p.morel@ateliers-morel.fr",
        same_as_legal_representative=True,
    )
    facts = without_documents(clean_facts(), lambda d: d.person_role == "holder")
    facts = replace(facts, people=(holder, person("legal_representative")))
    assert outcomes("dossier.documents_complete", facts) == ["pass"]
    # The legal representative's documents are read as the holder's.
    assert outcomes("identity.name_match", facts) == ["pass"]
    assert outcomes("signatures.complete", replace(facts, signatures=(signed("holder"),))) == [
        "pass"
    ]


def test_a_missing_legal_representative_identity_is_required() -> None:
    facts = without_documents(clean_facts(), lambda d: d.person_role == "legal_representative")
    [result] = run("dossier.documents_complete", facts)
    assert result.outcome == "fail"
    assert result.person_role == "legal_representative"


def test_a_transfer_needs_a_payment_proof_and_a_human_confirmation() -> None:
    facts = replace(clean_facts(), payment_method="transfer", payment_transaction_id=None)
    [missing] = run("dossier.documents_complete", facts)
    assert missing.evidence["document_type"] == "payment_proof"
    with_proof = replace(facts, documents=(*facts.documents, document("payment_proof")))
    assert outcomes("dossier.documents_complete", with_proof) == ["pass"]
    assert outcomes("payment.settled", with_proof) == ["manual"]


def test_a_card_payment_without_transaction_id_is_not_settled() -> None:
    assert outcomes("payment.settled", replace(clean_facts(), payment_transaction_id=None)) == [
        "fail"
    ]


def test_a_mandataire_requires_identity_and_mandate_unless_the_mandate_is_on_file() -> None:
    facts = with_mandataire(clean_facts())
    assert outcomes("dossier.documents_complete", facts) == ["pass"]
    no_mandate = without_documents(facts, lambda d: d.type == "mandate")
    [result] = run("dossier.documents_complete", no_mandate)
    assert result.evidence["document_type"] == "mandate"
    on_file = replace(
        no_mandate,
        people=tuple(
            replace(p, has_valid_mandate=True) if p.role == "mandataire" else p
            for p in no_mandate.people
        ),
    )
    assert outcomes("dossier.documents_complete", on_file) == ["pass"]
    assert outcomes("mandate.valid", on_file) == ["manual"]


def test_an_unticked_attestation_fails() -> None:
    assert outcomes(
        "dossier.attestation", replace(clean_facts(), documents_valid_attested=False)
    ) == ["fail"]


# -- identity ------------------------------------------------------------------------------


def test_an_identity_document_without_its_verso_fails_both_sides() -> None:
    facts = without_documents(
        clean_facts(), lambda d: d.person_role == "holder" and d.side == "verso"
    )
    results = run("identity.both_sides", facts)
    holder = next(r for r in results if r.person_role == "holder")
    assert holder.outcome == "fail"
    assert "verso" in holder.message


def test_no_readable_mrz_fails_and_leaves_the_other_identity_checks_to_a_human() -> None:
    facts = clean_facts()
    verso = the_doc(facts, "identity", "holder", "verso")
    facts = replace_document(facts, verso, mrz=None)
    holder = [r for r in run("identity.mrz", facts) if r.person_role == "holder"]
    assert [r.outcome for r in holder] == ["fail"]
    for rule_id in ("identity.document_type", "identity.valid_on_date", "identity.name_match"):
        result = next(r for r in run(rule_id, facts) if r.person_role == "holder")
        assert result.outcome == "manual"


def test_wrong_check_digits_fail_the_mrz_check_with_the_digits_named() -> None:
    facts = clean_facts()
    verso = the_doc(facts, "identity", "holder", "verso")
    facts = replace_document(
        facts, verso, mrz=mrz(valid=False, failed_checks=("birth_date", "composite"))
    )
    result = next(r for r in run("identity.mrz", facts) if r.person_role == "holder")
    assert result.outcome == "fail"
    assert "birth_date" in result.message


def test_a_reading_whose_check_digits_hold_but_whose_date_cannot_be_says_why() -> None:
    facts = clean_facts()
    verso = the_doc(facts, "identity", "holder", "verso")
    impossible = mrz(valid=False, problems=("date de naissance impossible (000000)",))
    facts = replace_document(facts, verso, mrz=impossible)
    result = next(r for r in run("identity.mrz", facts) if r.person_role == "holder")
    assert result.outcome == "fail"
    assert result.message == (
        "Porteur : MRZ lue mais invalide : date de naissance impossible (000000)."
    )
    assert result.evidence["extracted"]["problems"] == ["date de naissance impossible (000000)"]


def test_the_reading_problems_come_from_the_extraction() -> None:
    facts = MrzFacts.from_extraction(
        {"format": "TD3", "valid": False, "checks": {"birth_date": True}, "problems": ["x"]}
    )
    assert facts.problems == ("x",)
    assert facts.failed_checks == ()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"format": "FR_CNI", "document_code": "ID"}, "cni"),
        ({"format": "TD1", "document_code": "ID", "issuing_state": "FRA"}, "cnie"),
        ({"format": "TD3", "document_code": "P<"}, "passport"),
        ({"format": "TD1", "document_code": "IR", "issuing_state": "FRA"}, "residence_permit"),
        ({"format": "TD1", "document_code": "ID", "issuing_state": "BEL"}, "identity_card"),
        ({"format": "MRVA", "document_code": "V<"}, "visa"),
    ],
)
def test_the_document_type_is_derived_from_the_mrz(fields: dict[str, str], expected: str) -> None:
    assert identity_type(mrz(**fields), RULES) == expected


def test_a_visa_is_never_an_accepted_identity_document() -> None:
    facts = clean_facts()
    verso = the_doc(facts, "identity", "holder", "verso")
    facts = replace_document(facts, verso, mrz=mrz(format="MRVA", document_code="V"))
    result = next(r for r in run("identity.document_type", facts) if r.person_role == "holder")
    assert result.outcome == "fail"
    assert "visa" in result.message


def test_a_residence_permit_depends_on_configuration_and_a_foreign_card_on_a_human() -> None:
    facts = clean_facts()
    verso = the_doc(facts, "identity", "holder", "verso")
    permit = replace_document(facts, verso, mrz=mrz(document_code="IR"))
    assert (
        next(r for r in run("identity.document_type", permit) if r.person_role == "holder").outcome
        == "fail"
    )
    accepting = replace(RULES, identity=replace(RULES.identity, accept_residence_permit=True))
    result = next(
        r
        for r in CATALOGUE["identity.document_type"](permit, accepting, TODAY)
        if r.person_role == "holder"
    )
    assert result.outcome == "pass"
    foreign = replace_document(facts, verso, mrz=mrz(issuing_state="BEL", nationality="BEL"))
    assert (
        next(r for r in run("identity.document_type", foreign) if r.person_role == "holder").outcome
        == "manual"
    )


def holder_type_result(facts: DossierFacts, rules: Rules = RULES) -> RuleResult:
    return next(
        r
        for r in CATALOGUE["identity.document_type"](facts, rules, TODAY)
        if r.person_role == "holder"
    )


def test_a_passport_from_a_state_outside_the_trusted_issuers_goes_to_an_operator() -> None:
    facts = clean_facts()
    verso = the_doc(facts, "identity", "holder", "verso")
    german = replace_document(
        facts, verso, mrz=mrz(document_code="P", issuing_state="D<<", nationality="D<<")
    )
    assert holder_type_result(german).outcome == "pass"
    assert "émetteur reconnu" in holder_type_result(german).message
    utopian = replace_document(
        facts, verso, mrz=mrz(document_code="P", issuing_state="UTO", nationality="UTO")
    )
    result = holder_type_result(utopian)
    assert result.outcome == "manual"
    assert "« UTO »" in result.message
    assert "liste des émetteurs reconnus" in result.message
    assert result.evidence["extracted"]["trusted_issuer"] is False
    # The list is the rules': once UTO is trusted, the same passport passes.
    trusting = replace(
        RULES,
        identity=replace(RULES.identity, trusted_issuers=RULES.identity.trusted_issuers | {"UTO"}),
    )
    assert holder_type_result(utopian, trusting).outcome == "pass"
    # A French card is French: its issuer is on the list as shipped.
    assert holder_type_result(facts).outcome == "pass"


def test_an_identity_document_expired_the_day_before_the_evaluation_fails() -> None:
    facts = clean_facts()
    verso = the_doc(facts, "identity", "holder", "verso")
    facts = replace_document(facts, verso, mrz=mrz(expiry_date=TODAY - dt.timedelta(days=1)))
    result = next(r for r in run("identity.valid_on_date", facts) if r.person_role == "holder")
    assert result.outcome == "fail"
    assert "19/11/2026" in result.message
    on_expiry_day = replace_document(
        facts, the_doc(facts, "identity", "holder", "verso"), mrz=mrz(expiry_date=TODAY)
    )
    assert (
        next(
            r for r in run("identity.valid_on_date", on_expiry_day) if r.person_role == "holder"
        ).outcome
        == "pass"
    )


def test_the_derived_expiry_of_an_old_cni_is_used_and_said_to_be_derived() -> None:
    facts = clean_facts()
    verso = the_doc(facts, "identity", "holder", "verso")
    facts = replace_document(
        facts,
        verso,
        mrz=mrz(format="FR_CNI", expiry_date=dt.date(2029, 9, 30), expiry_derived=True),
    )
    result = next(r for r in run("identity.valid_on_date", facts) if r.person_role == "holder")
    assert result.outcome == "pass"
    assert "déduite" in result.message
    assert result.evidence["extracted"]["derived"] is True
    later = next(
        r
        for r in run("identity.valid_on_date", facts, on=dt.date(2029, 10, 1))
        if r.person_role == "holder"
    )
    assert later.outcome == "fail"


@pytest.mark.parametrize(
    ("declared_first", "declared_last", "mrz_surname", "mrz_given", "expected"),
    [
        ("Claire", "Durand", "DURAND", ("CLAIRE", "MARIE"), "pass"),
        ("MARIE", "DURAND", "DURAND", ("CLAIRE", "MARIE"), "pass"),
        ("Jean-Pierre", "Le Gall", "LE GALL", ("JEAN", "PIERRE"), "pass"),
        ("Jean Pierre", "LE-GALL", "LE GALL", ("JEAN", "PIERRE"), "pass"),
        ("Hélène", "D'Artagnan", "DARTAGNAN", ("HELENE",), "pass"),
        ("Sébastien", "Dupré", "DUPRE", ("SEBASTIEN",), "pass"),
        ("PIERRE", "LE GALL", "LE GALL", ("JEAN", "PIERRE"), "pass"),
        ("JEANNE", "DURAND", "DURAND", ("CLAIRE", "MARIE"), "fail"),
        ("CLAIRE", "DURANT", "DURAND", ("CLAIRE",), "fail"),
        ("CLAIRE", "MARTIN", "DURAND", ("CLAIRE",), "fail"),
    ],
)
def test_names_are_compared_folding_case_hyphens_spaces_apostrophes_and_accents(
    declared_first: str,
    declared_last: str,
    mrz_surname: str,
    mrz_given: tuple[str, ...],
    expected: str,
) -> None:
    facts = clean_facts()
    verso = the_doc(facts, "identity", "holder", "verso")
    facts = replace_document(facts, verso, mrz=mrz(surname=mrz_surname, given_names=mrz_given))
    facts = replace(
        facts,
        people=(
            person("holder", first_name=declared_first, last_name=declared_last),
            person("legal_representative"),
        ),
    )
    result = next(r for r in run("identity.name_match", facts) if r.person_role == "holder")
    assert result.outcome == expected, result.message
    assert result.evidence["declared"]["last_name"] == declared_last
    assert result.evidence["extracted"]["surname"] == mrz_surname


def test_a_surname_truncated_by_the_old_cni_field_is_a_warning_not_a_failure() -> None:
    long_name = "DE LA ROCHEFOUCAULD BEAUMONT"
    truncated = "DE LA ROCHEFOUCAULD BEAUM"  # 25 characters: the field is full
    facts = clean_facts()
    verso = the_doc(facts, "identity", "holder", "verso")
    facts = replace_document(
        facts, verso, mrz=mrz(format="FR_CNI", surname=truncated, given_names=("CLAIRE",))
    )
    facts = replace(
        facts,
        people=(person("holder", last_name=long_name), person("legal_representative")),
    )
    result = next(r for r in run("identity.name_match", facts) if r.person_role == "holder")
    assert result.outcome == "warn"


# -- Kbis ----------------------------------------------------------------------------------


def with_kbis(**changes) -> object:  # type: ignore[no-untyped-def]
    facts = clean_facts()
    return replace_document(facts, the_doc(facts, "kbis"), kbis=kbis(**changes))


def test_a_kbis_exactly_three_months_old_passes_and_one_day_older_fails() -> None:
    assert outcomes("kbis.age", with_kbis(date=dt.date(2026, 8, 20))) == ["pass"]
    [result] = run("kbis.age", with_kbis(date=dt.date(2026, 8, 19)))
    assert result.outcome == "fail"
    assert "19/08/2026" in result.message
    assert result.evidence["max_age_months"] == 3


def test_an_unknown_document_in_place_of_the_kbis_fails_kbis_read() -> None:
    [result] = run("kbis.read", with_kbis(kind="unknown"))
    assert result.outcome == "fail"


def test_a_kbis_without_a_readable_date_fails_kbis_read_and_leaves_its_age_to_a_human() -> None:
    facts = with_kbis(date=None)
    assert outcomes("kbis.read", facts) == ["fail"]
    assert outcomes("kbis.age", facts) == ["manual"]


def test_an_avis_de_situation_sirene_is_an_accepted_equivalent() -> None:
    assert outcomes("kbis.read", with_kbis(kind="sirene", managers=())) == ["pass"]
    assert outcomes("kbis.legal_representative", with_kbis(kind="sirene", managers=())) == [
        "manual"
    ]


RNE_ATTESTATION = """\
Institut national de la propriété industrielle INPI
ATTESTATION D'IMMATRICULATION
AU REGISTRE NATIONAL DES ENTREPRISES (RNE)
Données à jour au 06/11/2026
SIREN : 732 829 320
Dénomination : ATELIERS MOREL
Forme juridique : Société par actions simplifiée
Adresse du siège : 12 rue des Lilas 69003 Lyon
REPRESENTANTS LEGAUX
Qualité : Président
Nom : MOREL
Prénoms : Paul
Le présent document atteste de l'immatriculation de l'entreprise au RNE.
"""
EXTRAIT_K = """\
Greffe du Tribunal de Commerce de Lyon
Extrait K
EXTRAIT D'IMMATRICULATION PRINCIPALE AU REGISTRE DU COMMERCE ET DES SOCIETES
à jour au 6 novembre 2026
Immatriculation au RCS, numéro 732 829 320 R.C.S. Lyon
RENSEIGNEMENTS RELATIFS A LA PERSONNE PHYSIQUE
Nom, prénoms MOREL Paul
RENSEIGNEMENTS RELATIFS A L'ACTIVITE ET A L'ETABLISSEMENT PRINCIPAL
Nom commercial ATELIERS MOREL
Adresse de l'établissement 12 rue des Lilas 69003 Lyon
"""


def _read_as_the_extractor_does(text: str) -> KbisFacts:
    reading = KbisReading.from_parsed(parse_extract(text), source="text_layer", pages=1, timings={})
    return KbisFacts.from_extraction(reading.to_json())


@pytest.mark.parametrize(
    ("text", "kind", "legal_form"),
    [(RNE_ATTESTATION, "rne", "SAS"), (EXTRAIT_K, "extrait_k", "EI")],
    ids=["rne_attestation", "extrait_k"],
)
def test_an_rne_attestation_or_an_extrait_k_stands_for_the_kbis(
    text: str, kind: str, legal_form: str
) -> None:
    facts = clean_facts()
    facts = replace_document(facts, the_doc(facts, "kbis"), kbis=_read_as_the_extractor_does(text))
    facts = replace(facts, organisation=replace(facts.organisation, legal_form=legal_form))
    assert facts.documents_of("kbis")[0].kbis.kind == kind
    [read] = run("kbis.read", facts)
    assert read.outcome == "pass", read.message
    for rule in (
        "kbis.age",
        "kbis.siren_match",
        "kbis.name_match",
        "kbis.legal_form",
        "kbis.legal_representative",
    ):
        assert outcomes(rule, facts) == ["pass"], (rule, run(rule, facts))
    # Once the rules no longer list the kind, the same document is refused as the Kbis.
    narrower = replace(RULES, kbis=replace(RULES.kbis, accepted_kinds=frozenset({"kbis"})))
    [refused] = CATALOGUE["kbis.read"](facts, narrower, TODAY)
    assert refused.outcome == "fail"


def test_a_kbis_of_another_siren_fails_the_siren_match() -> None:
    [result] = run("kbis.siren_match", with_kbis(siren="518452750"))
    assert result.outcome == "fail"
    assert result.evidence["declared"] == "732829320"
    assert result.evidence["extracted"] == "518452750"
    assert outcomes("kbis.siren_match", with_kbis(siren=None)) == ["manual"]


def test_the_denomination_is_compared_normalised() -> None:
    assert outcomes("kbis.name_match", with_kbis(name="Ateliers Morel")) == ["pass"]
    assert outcomes("kbis.name_match", with_kbis(name="ATELIERS MOREL ET FILS")) == ["warn"]
    assert outcomes("kbis.name_match", with_kbis(name="BOULANGERIE DUPONT")) == ["fail"]


def test_a_legal_representative_absent_from_the_managers_fails() -> None:
    from ra_workbench.checks.facts import ManagerFacts

    others = (ManagerFacts(role="Gérant", surname="DUPONT", given_names=("JEAN",)),)
    [result] = run("kbis.legal_representative", with_kbis(managers=others))
    assert result.outcome == "fail"
    assert "PAUL MOREL" in result.message


# -- organisation, fields, contact ---------------------------------------------------------


@pytest.mark.parametrize(
    ("siren", "expected"),
    [
        ("732829320", "pass"),
        ("356000000", "pass"),  # La Poste
        ("732829321", "fail"),
        ("73282932", "fail"),
        ("7328293200", "fail"),
        ("73282932A", "fail"),
    ],
)
def test_the_declared_siren_has_nine_digits_and_a_valid_key(siren: str, expected: str) -> None:
    facts = replace(clean_facts(), organisation=replace(clean_facts().organisation, siren=siren))
    assert outcomes("organisation.siren", facts) == [expected]


def test_accented_declared_fields_fail_naming_the_fields() -> None:
    facts = replace(
        clean_facts(),
        people=(person("holder", first_name="Hélène"), person("legal_representative")),
    )
    [result] = run("fields.no_accents", facts)
    assert result.outcome == "fail"
    assert result.person_role == "holder"
    assert "é" in result.message
    assert result.evidence["declared"] == {"first_name": "Hélène"}


def test_an_accented_organisation_address_fails_for_the_organisation() -> None:
    org = replace(clean_facts().organisation, address=(("city", "SAINT-ÉTIENNE"),))
    [result] = run("fields.no_accents", replace(clean_facts(), organisation=org))
    assert result.outcome == "fail"
    assert result.person_role is None


@pytest.mark.parametrize(
    ("mobile", "ok"),
    [
        ("0698765432", True),
        ("07 12 34 56 78", True),
        ("+33612345678", True),
        ("+33 7 12 34 56 78", True),
        ("0033612345678", True),
        ("06.98.76.54.32", True),
        ("0145678901", False),  # landline
        ("0700123456", False),  # machine-to-machine line
        ("+44 7700 900123", False),
        ("069876543", False),
        ("", False),
    ],
)
def test_only_french_mobile_numbers_are_accepted(mobile: str, ok: bool) -> None:
    assert is_french_mobile(mobile, RULES) is ok


def test_a_bad_mobile_fails_for_the_person_who_declared_it() -> None:
    facts = replace(
        clean_facts(),
        people=(person("holder"), person("legal_representative", mobile="0478123456")),
    )
    [result] = run("contact.mobile", facts)
    assert result.outcome == "fail"
    assert result.person_role == "legal_representative"
    assert result.evidence["declared"] == "0478123456"


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("c.durand@ateliers-morel.fr", "pass"),
        ("c.durand+rgs@sub.ateliers-morel.fr", "pass"),
        ("c.durand@ateliers-morel", "fail"),
        ("c durand@ateliers-morel.fr", "fail"),
        ("c.durand.ateliers-morel.fr", "fail"),
        ("c..durand@ateliers-morel.fr", "fail"),
    ],
)
def test_each_declared_email_is_well_formed(email: str, expected: str) -> None:
    facts = replace(
        clean_facts(), people=(person("holder", email=email), person("legal_representative"))
    )
    assert outcomes("contact.email", facts) == [expected]


# -- holder, mandate, signatures -----------------------------------------------------------


def test_a_holder_with_another_open_dossier_is_not_unique() -> None:
    facts = replace(
        clean_facts(),
        holder_duplicates=(
            DuplicateFacts("certificate", "4F2A", "mrz"),
            DuplicateFacts("dossier", "287782", "mrz"),
        ),
    )
    [result] = run("holder.unique", facts)
    assert result.outcome == "fail"
    assert "287782" in result.message
    assert "4F2A" in result.message


def _certified_until(days: int) -> DossierFacts:
    """The holder already has certificate 4F2A, valid `days` more days."""
    found = DuplicateFacts(
        "certificate", "4F2A", "mrz", certificate_id=7, expires_on=TODAY + dt.timedelta(days)
    )
    return replace(clean_facts(), holder_duplicates=(found,))


def test_a_new_order_within_the_renewal_window_passes_as_the_certificates_renewal() -> None:
    window = RULES.holder.renewal_window_days
    [result] = run("holder.unique", _certified_until(window))
    assert result.outcome == "pass"
    ends = TODAY + dt.timedelta(window)
    assert result.message.startswith(
        f"Renouvellement du certificat n° 4F2A qui expire le {ends:%d/%m/%Y}"
    )
    assert result.evidence["renews"] == {
        "certificate_id": 7,
        "serial_number": "4F2A",
        "expires_on": ends.isoformat(),
        "basis": "mrz",
    }


def test_a_new_order_a_day_before_the_renewal_window_is_refused_with_the_opening_day() -> None:
    window = RULES.holder.renewal_window_days
    [result] = run("holder.unique", _certified_until(window + 1))
    assert result.outcome == "fail"
    assert f"renouvellement possible à partir du {TODAY + dt.timedelta(1):%d/%m/%Y}" in (
        result.message
    )
    assert result.message.endswith("contactez support@certeurope.fr.")
    # The same order, the next day, is the renewal.
    assert outcomes("holder.unique", _certified_until(window + 1), TODAY + dt.timedelta(1)) == [
        "pass"
    ]


def test_without_a_renewal_window_a_valid_certificate_always_blocks() -> None:
    rules = replace(RULES, holder=replace(RULES.holder, renewal_window_days=0))
    [result] = CATALOGUE["holder.unique"](_certified_until(10), rules, TODAY)
    assert result.outcome == "fail"
    assert "pour un renouvellement, contactez support@certeurope.fr." in result.message


def test_an_old_mandate_fails_and_an_unsigned_one_goes_to_manual_review() -> None:
    old = MandateFacts(has_signature_field=True, signing_time=None, date=dt.date(2026, 8, 1))
    assert outcomes("mandate.valid", with_mandataire(clean_facts(), mandate=old)) == ["fail"]
    unsigned = MandateFacts(
        has_signature_field=False, signing_time=None, date=TODAY - dt.timedelta(days=3)
    )
    assert outcomes("mandate.valid", with_mandataire(clean_facts(), mandate=unsigned)) == ["manual"]
    assert outcomes("mandate.valid", with_mandataire(clean_facts())) == ["pass"]


def test_signatures_are_pending_until_every_signer_has_signed() -> None:
    facts = replace(clean_facts(), signatures=(signed("holder"),))
    [result] = run("signatures.complete", facts)
    assert result.outcome == "pending"
    assert result.person_role == "legal_representative"
    assert outcomes("signatures.complete", replace(clean_facts(), signatures=())) == [
        "pending",
        "pending",
    ]


def test_with_a_mandataire_the_mandataire_signs_instead_of_the_legal_representative() -> None:
    facts = with_mandataire(clean_facts())
    assert outcomes("signatures.complete", facts) == ["pass"]
    [result] = run("signatures.complete", replace(facts, signatures=(signed("holder"),)))
    assert result.person_role == "mandataire"


def test_a_refused_signature_or_failed_face_check_fails_with_the_evidence_id() -> None:
    refused = replace(
        clean_facts(),
        signatures=(
            signed("holder", status="refused", evidence_id="GS-7f3a9c"),
            signed("legal_representative"),
        ),
    )
    [result] = run("signatures.complete", refused)
    assert result.outcome == "fail"
    assert "GS-7f3a9c" in result.message
    failed_face = replace(
        clean_facts(),
        signatures=(
            signed("holder", identity_verification="self_id_failed"),
            signed("legal_representative"),
        ),
    )
    assert outcomes("signatures.complete", failed_face) == ["fail"]
    not_done = replace(
        clean_facts(),
        signatures=(
            signed("holder", identity_verification="not_done"),
            signed("legal_representative"),
        ),
    )
    assert outcomes("signatures.complete", not_done) == ["pending"]


def test_a_pass_on_signatures_records_each_signers_evidence() -> None:
    [result] = run("signatures.complete")
    assert {d["evidence_id"] for d in result.evidence["extracted"]} == {"GS-hold", "GS-lega"}
