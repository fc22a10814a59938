"""Issue 13's smaller guide rules on hand-built facts: the amount paid against the offers
table (§4), mandatory fields and civilities (§5), the manually entered SIREN the Kbis must
confirm, the legal form read on the Kbis, the holder's own address for a shipment (§8)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from ra_workbench.checks.catalogue import CATALOGUE, legal_form_code
from ra_workbench.checks.engine import customer_requests, evaluate
from ra_workbench.checks.facts import DossierFacts
from ra_workbench.checks.overrides import is_hard_failure
from ra_workbench.checks.results import RuleResult
from tests.checks.builders import TODAY, clean_facts, kbis, person, replace_document, repo_rules

RULES = repo_rules()


def run(rule_id: str, facts: DossierFacts) -> list[RuleResult]:
    return CATALOGUE[rule_id](facts, RULES, TODAY)


def outcomes(rule_id: str, facts: DossierFacts) -> list[str]:
    return [r.outcome for r in run(rule_id, facts)]


def with_order(facts: DossierFacts, **changes: object) -> DossierFacts:
    return replace(facts, order=replace(facts.order, **changes))


def with_kbis(facts: DossierFacts, **changes: object) -> DossierFacts:
    doc = next(d for d in facts.documents if d.type == "kbis")
    return replace_document(facts, doc, kbis=kbis(**changes))


def with_organisation(facts: DossierFacts, **changes: object) -> DossierFacts:
    return replace(facts, organisation=replace(facts.organisation, **changes))


# --- payment.amount -------------------------------------------------------------------------


def test_amount_paid_equal_to_the_offer_price_passes() -> None:
    [result] = run("payment.amount", clean_facts())
    assert result.outcome == "pass"
    assert "228,00 €" in result.message


def test_amount_paid_below_the_offer_price_fails() -> None:
    facts = with_order(clean_facts(), amount_paid=Decimal("128.00"))
    [result] = run("payment.amount", facts)
    assert result.outcome == "fail"
    assert result.message == (
        "Montant payé 128,00 €, attendu 228,00 € (offre PP-RGS2-USB 228,00 €)."
    )
    assert result.evidence["expected"] == "228.00"


def test_pickup_adds_the_surcharge_of_the_offers_table() -> None:
    facts = with_order(clean_facts(), delivery_mode="pickup", amount_paid=Decimal("288.00"))
    assert outcomes("payment.amount", facts) == ["pass"]
    facts = with_order(facts, amount_paid=Decimal("228.00"))
    [result] = run("payment.amount", facts)
    assert result.outcome == "fail"
    assert "retrait en personne 60,00 €" in result.message


def test_an_offer_missing_from_the_offers_table_is_flagged_not_passed() -> None:
    facts = with_order(clean_facts(), offer_code="PP-INCONNUE")
    [result] = run("payment.amount", facts)
    assert result.outcome == "warn"
    assert "PP-INCONNUE" in result.message


def test_a_wrong_amount_asks_the_customer_to_pay_the_offer_price() -> None:
    facts = with_order(clean_facts(), amount_paid=Decimal("1.00"))
    evaluation = evaluate(facts, RULES, TODAY)
    assert evaluation.verdict == "incomplete"
    assert any("prix de l'offre" in text for text in customer_requests(evaluation.results, RULES))


# --- fields.required ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "label"),
    [("legal_form", "forme juridique"), ("name", "raison sociale")],
)
def test_empty_organisation_field_fails(field: str, label: str) -> None:
    facts = with_organisation(clean_facts(), **{field: ""})
    [result] = run("fields.required", facts)
    assert result.outcome == "fail"
    assert result.message == f"Organisme : champs obligatoires vides : {label}."


def test_organisation_without_postal_address_fails() -> None:
    facts = with_organisation(clean_facts(), address=(("city", "LYON"),))
    [result] = run("fields.required", facts)
    assert result.outcome == "fail"
    assert "adresse, code postal" in result.message


def test_unknown_civility_fails_for_that_person() -> None:
    people = (person("holder", civility="MLLE"), person("legal_representative"))
    [result] = run("fields.required", replace(clean_facts(), people=people))
    assert result.outcome == "fail"
    assert result.person_role == "holder"
    assert "civilité « MLLE » non admise (M, MME)" in result.message


def test_empty_civility_and_name_fail() -> None:
    people = (person("holder"), person("legal_representative", civility="", first_name=""))
    [result] = run("fields.required", replace(clean_facts(), people=people))
    assert result.person_role == "legal_representative"
    assert "civilité, prénom" in result.message


def test_a_clean_dossier_has_every_mandatory_field() -> None:
    assert outcomes("fields.required", clean_facts()) == ["pass"]


# --- kbis.siren_match with « saisie manuelle » ---------------------------------------------


def test_manual_siren_confirmed_by_the_kbis_passes() -> None:
    facts = with_organisation(clean_facts(), manual_entry=True)
    [result] = run("kbis.siren_match", facts)
    assert result.outcome == "pass"
    assert "saisi manuellement" in result.message
    assert result.evidence["manual_entry"] is True


def test_manual_siren_the_kbis_contradicts_is_a_hard_failure() -> None:
    facts = with_organisation(clean_facts(), manual_entry=True, siren="552100554")
    [result] = run("kbis.siren_match", facts)
    assert result.outcome == "fail"
    assert is_hard_failure(result.rule, result.outcome, result.evidence, RULES)


def test_manual_siren_needs_a_siren_read_on_the_kbis() -> None:
    facts = with_kbis(with_organisation(clean_facts(), manual_entry=True), siren=None)
    [result] = run("kbis.siren_match", facts)
    assert result.outcome == "fail"
    assert "aucun SIREN" in result.message
    # Without « saisie manuelle », an unread SIREN is for the operator to look at.
    assert outcomes("kbis.siren_match", with_kbis(clean_facts(), siren=None)) == ["manual"]


def test_a_looked_up_siren_the_kbis_contradicts_stays_overridable() -> None:
    facts = with_organisation(clean_facts(), siren="552100554")
    [result] = run("kbis.siren_match", facts)
    assert result.outcome == "fail"
    assert not is_hard_failure(result.rule, result.outcome, result.evidence, RULES)


# --- kbis.legal_form ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("SAS", "SAS"),
        ("Société par actions simplifiée", "SAS"),
        ("SAS, société par actions simplifiée", "SAS"),
        ("societe par actions simplifiee", "SAS"),
        ("Société par actions simplifiée à associé unique", "SASU"),
        ("Société à responsabilité limitée (sans autre indication)", "SARL"),
        ("SARL unipersonnelle", "EURL"),
        ("SA à conseil d'administration (s.a.i.)", "SA"),
        ("Entrepreneur individuel", "EI"),
        ("Groupement forestier", None),
    ],
)
def test_legal_forms_are_normalised_from_the_rules(written: str, code: str | None) -> None:
    assert legal_form_code(written, RULES) == code


def test_declared_sas_matches_the_kbis_written_out() -> None:
    facts = with_kbis(clean_facts(), legal_form="Société par actions simplifiée")
    [result] = run("kbis.legal_form", facts)
    assert result.outcome == "pass"


def test_declared_sas_against_a_sarl_on_the_kbis_fails() -> None:
    facts = with_kbis(clean_facts(), legal_form="Société à responsabilité limitée")
    [result] = run("kbis.legal_form", facts)
    assert result.outcome == "fail"
    assert result.message == (
        "Forme juridique déclarée SAS, sur l'extrait « Société à responsabilité limitée » (SARL)."
    )


def test_sas_and_sasu_are_different_forms() -> None:
    facts = with_kbis(clean_facts(), legal_form="Société par actions simplifiée à associé unique")
    assert outcomes("kbis.legal_form", facts) == ["fail"]


def test_a_form_the_rules_do_not_list_is_for_the_operator() -> None:
    facts = with_kbis(
        with_organisation(clean_facts(), legal_form="GF"), legal_form="Groupement forestier"
    )
    assert outcomes("kbis.legal_form", facts) == ["warn"]
    assert outcomes("kbis.legal_form", with_kbis(clean_facts(), legal_form="")) == ["warn"]


# --- delivery.holder_address ----------------------------------------------------------------


def test_shipping_without_the_holders_address_fails_and_cannot_be_overridden() -> None:
    people = (person("holder", address=()), person("legal_representative"))
    facts = replace(clean_facts(), people=people)
    [result] = run("delivery.holder_address", facts)
    assert result.outcome == "fail"
    assert "qu'à l'adresse du porteur" in result.message
    assert is_hard_failure(result.rule, result.outcome, result.evidence, RULES)


def test_shipping_without_a_postcode_fails() -> None:
    people = (
        person("holder", address=(("city", "LYON"), ("line1", "4 AVENUE FOCH"))),
        person("legal_representative"),
    )
    [result] = run("delivery.holder_address", replace(clean_facts(), people=people))
    assert result.outcome == "fail"
    assert "code postal manquant" in result.message


def test_pickup_needs_no_holder_address() -> None:
    people = (person("holder", address=()), person("legal_representative"))
    facts = with_order(replace(clean_facts(), people=people), delivery_mode="pickup")
    assert outcomes("delivery.holder_address", facts) == ["pass"]
