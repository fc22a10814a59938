"""Reading an extract's text: the layouts a text layer and OCR give, the old and new RCS
wordings, the SIRENE and RNE documents, and what OCR does to them."""

from __future__ import annotations

from datetime import date

from ra_workbench.extraction.kbis.parser import (
    detect_kind,
    parse_extract,
    role_of,
    split_person_name,
)

# What tesseract gives for an Infogreffe extract: label and value on one line.
OCR_KBIS = """\
Greffe du Tribunal de Commerce de Nantes Code de vérification : aB3dE5fG7h
1 quai François Mitterrand https://www.infogreffe.fr/controle
Extrait Kbis
EXTRAIT D'IMMATRICULATION PRINCIPALE AU REGISTRE DU COMMERCE ET DES SOCIETES
a jour au 1er mars 2026
IMMATRICULATION
Immatriculation au RCS, numéro 518 452 750 R.C.S. Nantes
Date d'immatriculation 12/03/2010
RENSEIGNEMENTS RELATIFS A LA PERSONNE MORALE
Dénomination ou raison sociale ATELIERS MOREL
Forme juridique Société par actions simplifiée
Capital social 10 000,00 Euros
Adresse du siège 12 rue des Lilas 44000 Nantes
GESTION, DIRECTION, ADMINISTRATION, CONTROLE, ASSOCIES OU MEMBRES
Président
Nom, prénoms MOREL Paul, Henri
Date et lieu de naissance Le 12/05/1970 à Lyon (69)
Nationalité Française
Domicile personnel 4 avenue Foch 69006 Lyon
Directeur général délégué
Nom, prénoms LE GALL Marie-Claire
Date et lieu de naissance Le 01/02/1980 à Brest (29)
Commissaire aux comptes titulaire
Dénomination AUDIT CONSEIL OUEST
Adresse 3 rue Crébillon 44000 Nantes
Immatriculation au RCS, numéro 444 555 666 R.C.S. Nantes
RENSEIGNEMENTS RELATIFS A L'ACTIVITE ET A L'ETABLISSEMENT PRINCIPAL
Adresse de l'établissement 12 rue des Lilas 44000 Nantes
Le Greffier
R.C.S. Nantes - 01/03/2026 - 10:12:13 - page 1/1
"""

# What pypdf gives for the same rows: the value on the line after its label.
TEXT_LAYER_KBIS = """\
Greffe du Tribunal de Commerce de Lyon
Extrait Kbis
à jour au 6 novembre 2024
Immatriculation au RCS, numéro
RCS Lyon B 732 829 320
Dénomination ou raison sociale
DUPONT & FILS
Forme juridique
Société à responsabilité limitée
Adresse du siège
8 place du Marche 69003 Lyon
GESTION, DIRECTION, ADMINISTRATION, CONTROLE, ASSOCIES OU MEMBRES
Gérant
Nom, prénoms
DUPONT Jean Pierre
Gérant
Nom, prénoms
DUPONT Anne
RENSEIGNEMENTS RELATIFS A L'ACTIVITE ET A L'ETABLISSEMENT PRINCIPAL
"""


def _managers(text: str) -> list[tuple[str, str, tuple[str, ...], bool]]:
    return [
        (m.role, m.surname, m.given_names, m.legal_person) for m in parse_extract(text).managers
    ]


def test_ocr_layout_kbis_gives_every_fact() -> None:
    parsed = parse_extract(OCR_KBIS)
    assert parsed.kind == "kbis"
    assert parsed.date == date(2026, 3, 1)
    assert parsed.date_written == "words"
    assert parsed.siren == "518452750"
    assert parsed.siren_valid is True
    assert parsed.greffe == "Nantes"
    assert parsed.name == "ATELIERS MOREL"
    assert parsed.legal_form == "Société par actions simplifiée"
    assert parsed.address == "12 rue des Lilas 44000 Nantes"
    assert parsed.flags == []


def test_every_manager_is_read_with_role_and_name_including_a_company() -> None:
    assert _managers(OCR_KBIS) == [
        ("Président", "MOREL", ("Paul", "Henri"), False),
        ("Directeur général délégué", "LE GALL", ("Marie-Claire",), False),
        ("Commissaire aux comptes titulaire", "AUDIT CONSEIL OUEST", (), True),
    ]


def test_the_auditors_rcs_number_is_not_taken_for_the_companys() -> None:
    assert parse_extract(OCR_KBIS).siren == "518452750"


def test_text_layer_layout_with_values_on_the_next_line_is_read() -> None:
    parsed = parse_extract(TEXT_LAYER_KBIS)
    assert (parsed.kind, parsed.date, parsed.name) == ("kbis", date(2024, 11, 6), "DUPONT & FILS")
    assert parsed.legal_form == "Société à responsabilité limitée"
    assert _managers(TEXT_LAYER_KBIS) == [
        ("Gérant", "DUPONT", ("Jean", "Pierre"), False),
        ("Gérant", "DUPONT", ("Anne",), False),
    ]


def test_old_rcs_number_with_the_letter_b_gives_siren_and_greffe() -> None:
    parsed = parse_extract(TEXT_LAYER_KBIS)
    assert (parsed.siren, parsed.greffe) == ("732829320", "Lyon")


def test_siren_en_cours_d_attribution_is_flagged_not_invented() -> None:
    text = OCR_KBIS.replace("518 452 750 R.C.S. Nantes", "En cours d'attribution", 1)
    parsed = parse_extract(text)
    assert parsed.siren is None
    assert parsed.siren_pending is True
    assert "siren_pending" in parsed.flags
    assert parsed.greffe == "Nantes"  # still read from the greffe's header


def test_a_siren_with_a_wrong_key_is_reported_and_flagged() -> None:
    parsed = parse_extract(OCR_KBIS.replace("518 452 750", "518 452 751", 1))
    assert parsed.siren == "518452751"
    assert parsed.siren_valid is False
    assert "siren_key_invalid" in parsed.flags


def test_ocr_letters_inside_the_siren_are_read_as_the_digits_they_resemble() -> None:
    parsed = parse_extract(OCR_KBIS.replace("518 452 750", "5l8 452 75O", 1))
    assert parsed.siren == "518452750"


def test_numeric_a_jour_au_date_is_read() -> None:
    parsed = parse_extract(OCR_KBIS.replace("a jour au 1er mars 2026", "à jour au 06/11/2024"))
    assert (parsed.date, parsed.date_written) == (date(2024, 11, 6), "numeric")


def test_without_a_jour_au_no_other_date_is_taken_for_it() -> None:
    parsed = parse_extract(OCR_KBIS.replace("a jour au 1er mars 2026", ""))
    assert parsed.date is None
    assert "date_not_found" in parsed.flags


def test_ocr_slips_in_role_lines_are_forgiven() -> None:
    text = OCR_KBIS.replace("\nPrésident\n", "\nPresideni\n").replace(
        "Directeur général délégué", "Directeur genéral dé1égué"
    )
    roles = [m[0] for m in _managers(text)]
    assert roles == ["Président", "Directeur général délégué", "Commissaire aux comptes titulaire"]


def test_rne_attestation_with_separate_surname_and_given_names() -> None:
    text = """\
Institut national de la propriété industrielle INPI
ATTESTATION D'IMMATRICULATION
AU REGISTRE NATIONAL DES ENTREPRISES (RNE)
Données à jour au 06/11/2024
SIREN : 978 400 570
Dénomination : ROUSSEL & FILS
Forme juridique : Société par actions simplifiée
Adresse du siège : 131 allee des Tanneurs 44000 Nantes
REPRESENTANTS LEGAUX
Qualité : Président
Nom : ROUSSEL
Prénoms : Nathalie Julie
Qualité : Commissaire aux comptes titulaire
Dénomination : KPMG AUDIT
Le présent document atteste de l'immatriculation de l'entreprise au RNE.
"""
    parsed = parse_extract(text)
    assert (parsed.kind, parsed.date, parsed.siren) == ("rne", date(2024, 11, 6), "978400570")
    assert parsed.name == "ROUSSEL & FILS"
    assert _managers(text) == [
        ("Président", "ROUSSEL", ("Nathalie", "Julie"), False),
        ("Commissaire aux comptes titulaire", "KPMG AUDIT", (), True),
    ]


def test_sirene_notice_gives_siren_name_and_legal_category_without_managers() -> None:
    text = """\
INSEE
AVIS DE SITUATION AU REPERTOIRE SIRENE
à la date du 6 novembre 2024
Identifiant SIREN : 332 860 121
Dénomination : SAINT-ANDRE & FILS
Catégorie juridique : 5720 - Société par actions simplifiée à associé unique
Identifiant SIRET : 332 860 121 09837
Adresse : 122 rue du General de Gaulle 69100 Villeurbanne
"""
    parsed = parse_extract(text)
    assert (parsed.kind, parsed.date, parsed.siren) == ("sirene", date(2024, 11, 6), "332860121")
    assert parsed.legal_form == "Société par actions simplifiée à associé unique"
    assert parsed.address == "122 rue du General de Gaulle 69100 Villeurbanne"
    assert parsed.managers == []
    assert "managers_not_found" not in parsed.flags


def test_extrait_k_names_the_individual_trader_as_manager() -> None:
    text = """\
Greffe du Tribunal de Commerce de Lyon
Extrait K
EXTRAIT D'IMMATRICULATION PRINCIPALE AU REGISTRE DU COMMERCE ET DES SOCIETES
à jour au 6 novembre 2024
Immatriculation au RCS, numéro 731 706 693 R.C.S. Lyon
RENSEIGNEMENTS RELATIFS A LA PERSONNE PHYSIQUE
Nom, prénoms BERTRAND Pierre
RENSEIGNEMENTS RELATIFS A L'ACTIVITE ET A L'ETABLISSEMENT PRINCIPAL
Nom commercial LOGISTIQUE BERTRAND
Adresse de l'établissement 116 place du Marche 69003 Lyon
"""
    parsed = parse_extract(text)
    assert (parsed.kind, parsed.siren, parsed.name) == (
        "extrait_k",
        "731706693",
        "LOGISTIQUE BERTRAND",
    )
    assert parsed.legal_form == "Entrepreneur individuel"
    assert _managers(text) == [("Entrepreneur individuel", "BERTRAND", ("Pierre",), False)]


def test_kind_is_recognised_from_ocr_damaged_titles() -> None:
    assert detect_kind("Extrait Kbls\n") == "kbis"
    assert detect_kind("EXTRAIT K BIS") == "kbis"
    assert detect_kind("Avis de situation au répertoire Sirene") == "sirene"
    assert (
        detect_kind("attestation d'immatriculation au Registre national des entreprises") == "rne"
    )


def test_other_documents_are_unknown() -> None:
    assert detect_kind("AVIS D'OPERATION\nConfirmation d'ordre de virement SEPA") == "unknown"
    assert detect_kind("MANDAT DE CERTIFICATION") == "unknown"
    assert parse_extract("").kind == "unknown"


def test_person_names_split_surname_in_capitals_from_given_names() -> None:
    assert split_person_name("MOREL Paul Henri") == ("MOREL", ("Paul", "Henri"))
    assert split_person_name("DE LA FONTAINE Marie, Anne") == ("DE LA FONTAINE", ("Marie", "Anne"))
    assert split_person_name("N'DIAYE Jean-Pierre") == ("N'DIAYE", ("Jean-Pierre",))
    assert split_person_name("MOREL, PAUL HENRI") == ("MOREL", ("PAUL", "HENRI"))
    assert split_person_name("MOREL PAUL") == ("MOREL", ("PAUL",))
    assert split_person_name("MOREL") == ("MOREL", ())


def test_role_lines_are_recognised_but_ordinary_lines_are_not() -> None:
    assert role_of("Président") == "Président"
    assert role_of("GERANT") == "Gérant"
    assert role_of("Commissaire aux comptes suppleant") == "Commissaire aux comptes suppléant"
    assert role_of("Nationalité Française") is None
    assert role_of("12 rue des Lilas") is None


def test_a_company_manager_whose_name_ocr_moved_below_the_labels_is_still_read() -> None:
    text = """\
GESTION, DIRECTION, ADMINISTRATION, CONTROLE, ASSOCIES OU MEMBRES
Commissaire aux comptes titulaire
Dénomination
Forme juridique
EXCO ATLANTIQUE
Société par actions simplifiée
Adresse
RENSEIGNEMENTS RELATIFS A L'ACTIVITE ET A L'ETABLISSEMENT PRINCIPAL
"""
    assert _managers(text) == [("Commissaire aux comptes titulaire", "EXCO ATLANTIQUE", (), True)]
