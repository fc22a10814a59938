"""Names in the certificate come from the document as read, ICAO 9303 transliterated."""

from __future__ import annotations

import pytest

from ra_workbench.issuance.config import DEFAULT_PDS, IssuanceConfigError, parse_config
from ra_workbench.issuance.names import (
    certificate_names,
    icao_transliterate,
    natural_person_identifier,
)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Hélène", "HELENE"),
        ("François", "FRANCOIS"),
        ("D'Arc", "DARC"),
        ("Müller", "MUELLER"),
        ("Œuvray", "OEUVRAY"),
        ("Strauß", "STRAUSS"),
        ("Saint-André", "SAINT-ANDRE"),
        ("  de  la Fontaine ", "DE LA FONTAINE"),
    ],
)
def test_icao_9303_transliteration(typed: str, expected: str) -> None:
    assert icao_transliterate(typed) == expected


def test_accented_typed_name_gives_the_document_spelling_and_is_flagged() -> None:
    names = certificate_names(
        typed_first_name="Hélène",
        typed_last_name="Lefèvre",
        read_surname="LEFEVRE",
        read_given_names=["HELENE", "MARIE"],
    )
    assert (names.given_name, names.surname) == ("HELENE", "LEFEVRE")
    assert names.differs_from_typed


def test_hyphens_of_the_visual_zone_are_kept_when_the_letters_agree() -> None:
    names = certificate_names(
        typed_first_name="JEAN-PAUL",
        typed_last_name="SAINT-ANDRE",
        read_surname="SAINT ANDRE",
        read_given_names=["JEAN", "PAUL", "LOUIS"],
    )
    assert (names.given_name, names.surname) == ("JEAN-PAUL", "SAINT-ANDRE")
    assert not names.differs_from_typed


def test_the_document_wins_when_the_typed_name_is_different() -> None:
    names = certificate_names(
        typed_first_name="Claire",
        typed_last_name="Durant",
        read_surname="DURAND",
        read_given_names=["CLAIRE"],
    )
    assert (names.given_name, names.surname) == ("CLAIRE", "DURAND")


def test_all_given_names_when_the_typed_one_is_not_among_them() -> None:
    names = certificate_names(
        typed_first_name="Clara",
        typed_last_name="DURAND",
        read_surname="DURAND",
        read_given_names=["CLAIRE", "MARIE"],
    )
    assert names.given_name == "CLAIRE MARIE"


def test_german_umlaut_read_as_single_letter_is_accepted() -> None:
    names = certificate_names(
        typed_first_name="Jürgen",
        typed_last_name="Müller",
        read_surname="MULLER",
        read_given_names=["JURGEN"],
    )
    assert (names.given_name, names.surname) == ("JURGEN", "MULLER")


def test_empty_reading_is_refused() -> None:
    with pytest.raises(ValueError, match="absents"):
        certificate_names(
            typed_first_name="A", typed_last_name="B", read_surname="", read_given_names=[]
        )


def test_configuration_defaults_and_environment_overrides() -> None:
    raw = {"ca": {"backend": "local"}, "certificate": {"policy_oids": ["0.4.0.194112.1.2"]}}
    config = parse_config(raw, {})
    assert config.backend == "local"
    assert config.profile.validity_days == 1095
    assert config.profile.key_algorithm == "p256"
    assert config.profile.publication is not None
    assert config.profile.publication.ocsp_url == "http://pki.ra-workbench.fr/pki/ocsp"
    assert {lang: url for url, lang in config.profile.publication.pds} == DEFAULT_PDS
    config = parse_config(
        raw,
        {
            "RA_WORKBENCH_CA_BACKEND": "failing:2",
            "RA_WORKBENCH_CERT_POLICY_OIDS": "1.2.250.1.105.1, 0.4.0.194112.1.2",
            "RA_WORKBENCH_CERT_VALIDITY_DAYS": "730",
            "RA_WORKBENCH_TOKEN_KEY_ALGORITHM": "rsa3072",
            "RA_WORKBENCH_PUBLIC_URL": "https://ra.example.fr/",
        },
    )
    assert config.public_url == "https://ra.example.fr"
    assert config.profile.publication is not None
    assert config.profile.publication.crl_url == "https://ra.example.fr/pki/ac-emettrice.crl"
    assert config.profile.publication.ca_issuers_url == (
        "https://ra.example.fr/pki/ac-emettrice.cer"
    )
    assert config.backend == "failing:2"
    assert config.profile.policy_oids == ("1.2.250.1.105.1", "0.4.0.194112.1.2")
    assert config.profile.validity_days == 730
    assert config.profile.key_algorithm == "rsa3072"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"certificate": {"policy_oids": ["1.2.abc"]}}, "certificate.policy_oids"),
        ({"certificate": {"policy_oids": []}}, "certificate.policy_oids"),
        (
            {"certificate": {"policy_oids": ["1.2.3"], "key_algorithm": "ed25519"}},
            "certificate.key_algorithm",
        ),
        ({"ca": {"backend": "remote"}, "certificate": {"policy_oids": ["1.2.3"]}}, "ca.backend"),
        (
            {"certificate": {"policy_oids": ["1.2.3"]}, "publication": {"public_url": "ftp://x"}},
            "publication.public_url",
        ),
        (
            {
                "certificate": {"policy_oids": ["1.2.3"]},
                "publication": {"pds": {"fr": "https://pds.example.fr/fr.pdf"}},
            },
            "publication.pds",
        ),
        (
            {
                "certificate": {"policy_oids": ["1.2.3"]},
                "publication": {"pds": {"fr": "http://a.fr/fr", "en": "https://a.fr/en"}},
            },
            "publication.pds.fr",
        ),
        (
            {
                "certificate": {"policy_oids": ["1.2.3"]},
                "publication": {"crl_next_update_hours": 0},
            },
            "publication.crl_next_update_hours",
        ),
    ],
)
def test_malformed_configuration_names_the_key(raw: dict, key: str) -> None:
    with pytest.raises(IssuanceConfigError, match=key):
        parse_config(raw, {})


@pytest.mark.parametrize(
    ("document_code", "state", "number", "expected"),
    [
        ("ID", "FRA", "X4RTBPFW4", "IDCFR-X4RTBPFW4"),
        ("P", "FRA", "18AB12345", "PASFR-18AB12345"),
        ("ID", "D<<", "T22000129", "IDCDE-T22000129"),
        ("I", "BEL", "592123456<<", "IDCBE-592123456"),
    ],
)
def test_the_subject_serial_names_the_identity_document_per_en_319_412_1(
    document_code: str, state: str, number: str, expected: str
) -> None:
    assert natural_person_identifier(document_code, state, number) == expected


def test_a_document_without_a_usable_country_or_number_gives_no_subject_serial() -> None:
    with pytest.raises(ValueError, match="Pays émetteur"):
        natural_person_identifier("P", "UTO", "L898902C3")
    with pytest.raises(ValueError, match="illisible"):
        natural_person_identifier("ID", "FRA", "<<")
