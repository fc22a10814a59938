"""The MRZ maths: check digits, formats, derived expiry and the correction rules."""

from __future__ import annotations

from datetime import date

import pytest

from ra_workbench.extraction.mrz import codec

TODAY = date(2026, 1, 15)
BERTHIER_1994 = ("IDFRABERTHIER<<<<<<<<<<<<<<<<<<<<<<<", "9409923102854CORINNE<<<<<<<6512068F4")
BERTHIER_1988 = ("IDFRABERTHIER<<<<<<<<<<<<<<<<<<<<<<<", "8806923102858CORINNE<<<<<<<6512068F6")
UTO_TD3 = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)
UTO_TD2 = ("I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6")
CNIE_MARTIN = (
    "IDFRAX4RTBPFW46<<<<<<<<<<<<<<<",
    "9007138F3002119FRA<<<<<<<<<<<6",
    "MARTIN<<MAELYS<GAELLE<MARIE<<<",
)


@pytest.mark.parametrize(
    ("data", "digit"),
    [
        ("L898902C3", "6"),
        ("740812", "2"),
        ("120415", "9"),
        ("ZE184226B<<<<<", "1"),
        ("D23145890", "7"),
        ("X4RTBPFW4", "6"),
        ("940992310285", "4"),
        ("651206", "8"),
        ("<<<", "0"),
    ],
)
def test_icao_check_digit_weights_seven_three_one_with_letters_from_ten(data, digit):
    assert codec.check_digit(data) == digit


def test_check_digit_refuses_characters_outside_the_mrz_alphabet():
    with pytest.raises(ValueError, match="not an MRZ character"):
        codec.check_digit("AB-1")


def test_old_french_cni_document_number_check_covers_issue_office_and_sequence():
    facts = codec.parse_mrz(BERTHIER_1994, today=TODAY)
    assert facts.format == codec.FR_CNI
    assert facts.document_number == "940992310285"
    assert facts.checks["document_number"]
    assert facts.extra["office_code"] == "923"


def test_old_french_cni_final_check_digit_covers_line_one_and_line_two_prefix():
    line1, line2 = BERTHIER_1994
    assert codec.check_digit(line1 + line2[:35]) == line2[35]
    # A change in the surname, which no other check covers, breaks the final check digit.
    tampered = codec.parse_mrz((line1.replace("BERTHIER", "BERTHIEB"), line2), today=TODAY)
    assert tampered.checks == {"document_number": True, "birth_date": True, "final": False}
    assert not tampered.valid


def test_old_french_cni_parses_every_field_of_both_specimens():
    for lines, issue in ((BERTHIER_1994, date(1994, 9, 1)), (BERTHIER_1988, date(1988, 6, 1))):
        facts = codec.parse_mrz(lines, today=TODAY)
        assert facts.valid
        assert (facts.surname, facts.given_names) == ("BERTHIER", ("CORINNE",))
        assert facts.birth_date == date(1965, 12, 6)
        assert facts.sex == "F"
        assert facts.nationality == "FRA"
        assert facts.issue_date == issue
        assert facts.expiry_derived


def test_old_french_cni_of_an_adult_expires_fifteen_years_after_its_issue_month():
    facts = codec.parse_mrz(BERTHIER_1994, today=TODAY)
    # Issued in September 1994 (day unknown): the earliest possible end is 31 August 2009.
    assert facts.expiry_date == date(2009, 8, 31)


def test_old_french_cni_of_a_minor_expires_ten_years_after_its_issue_month():
    lines = codec.compose_fr_cni(
        surname="PETIT",
        given_names=["LEA"],
        birth_date=date(2000, 3, 2),
        sex="F",
        issue_date=date(2012, 5, 20),
        office_code="751",
        sequence="00042",
    )
    facts = codec.parse_mrz(lines, today=TODAY)
    assert facts.valid
    assert facts.expiry_date == date(2022, 4, 30)
    assert facts.expiry_derived


def test_old_french_cni_is_told_from_td2_by_idfra_and_its_line_two_layout():
    assert codec.detect_format(BERTHIER_1994) == codec.FR_CNI
    assert codec.detect_format(UTO_TD2) == codec.TD2
    french_td2 = codec.compose_td2(
        document_code="ID",
        issuing_state="FRA",
        document_number="12AB34567",
        birth_date=date(1980, 1, 2),
        sex="M",
        expiry_date=date(2030, 1, 1),
        nationality="FRA",
        surname="DUPONT",
        given_names=["JEAN"],
    )
    assert french_td2[0].startswith("IDFRA")
    assert codec.detect_format(french_td2) == codec.TD2


def test_td3_icao_specimen_parses_with_every_check_digit():
    facts = codec.parse_mrz(UTO_TD3, today=TODAY)
    assert facts.format == codec.TD3
    assert facts.checks == {
        "document_number": True,
        "birth_date": True,
        "expiry_date": True,
        "personal_number": True,
        "composite": True,
    }
    assert facts.document_number == "L898902C3"
    assert (facts.surname, facts.given_names) == ("ERIKSSON", ("ANNA", "MARIA"))
    assert (facts.birth_date, facts.expiry_date) == (date(1974, 8, 12), date(2012, 4, 15))
    assert not facts.expiry_derived


def test_td2_icao_specimen_parses_with_every_check_digit():
    facts = codec.parse_mrz(UTO_TD2, today=TODAY)
    assert facts.format == codec.TD2
    assert facts.valid
    assert facts.document_number == "D23145890"
    assert facts.nationality == "UTO"


def test_td1_cnie_specimen_parses_with_composite_check():
    facts = codec.parse_mrz(CNIE_MARTIN, today=TODAY)
    assert facts.format == codec.TD1
    assert facts.valid
    assert facts.document_number == "X4RTBPFW4"
    assert facts.given_names == ("MAELYS", "GAELLE", "MARIE")
    assert (facts.birth_date, facts.expiry_date) == (date(1990, 7, 13), date(2030, 2, 11))


def test_visas_are_recognised_so_that_they_can_be_refused():
    fields = {
        "issuing_state": "FRA",
        "document_number": "VF1234567",
        "birth_date": date(1990, 1, 1),
        "sex": "M",
        "expiry_date": date(2027, 1, 1),
        "nationality": "UTO",
        "surname": "DOE",
        "given_names": ["JOHN"],
    }
    assert codec.detect_format(codec.compose_mrv(codec.MRVA, **fields)) == codec.MRVA
    mrvb = codec.compose_mrv(codec.MRVB, **fields)
    assert codec.detect_format(mrvb) == codec.MRVB
    assert codec.parse_mrz(mrvb, today=TODAY).valid


def test_two_digit_birth_years_pivot_on_today_so_a_birth_is_never_in_the_future():
    assert codec.birth_date_from_mrz("250101", TODAY) == date(2025, 1, 1)
    assert codec.birth_date_from_mrz("260115", TODAY) == date(2026, 1, 15)
    assert codec.birth_date_from_mrz("260116", TODAY) == date(1926, 1, 16)
    assert codec.birth_date_from_mrz("270101", TODAY) == date(1927, 1, 1)


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        # The ICAO visa specimen's expiry: 1996, not 2096 (issue 17).
        ("961210", TODAY, date(1996, 12, 10)),
        ("460115", TODAY, date(2046, 1, 15)),  # exactly 20 years ahead: still this century
        ("460116", TODAY, date(1946, 1, 16)),  # a day more: the last century
        ("120415", TODAY, date(2012, 4, 15)),  # long expired, but 2012
        ("991231", date(2085, 6, 1), date(2099, 12, 31)),  # the window moves with the day
        ("050101", date(2090, 6, 1), date(2105, 1, 1)),  # and across the century
    ],
)
def test_expiry_century_puts_it_at_most_twenty_years_after_the_reading_day(text, today, expected):
    assert codec.expiry_date_from_mrz(text, today) == expected


@pytest.mark.parametrize("text", ["000000", "001301", "990231", "010229", "250431", "2501<<"])
def test_impossible_or_unknown_dates_are_no_dates(text):
    assert codec.birth_date_from_mrz(text, TODAY) is None
    assert codec.expiry_date_from_mrz(text, TODAY) is None


def test_29_february_is_a_date_only_in_leap_years():
    assert codec.birth_date_from_mrz("000229", TODAY) == date(2000, 2, 29)
    assert not codec.impossible_date("000229")
    assert codec.impossible_date("010229")


def _td3_with(birth: str, expiry: str) -> tuple[str, str]:
    """The UTO specimen with other date fields, every check digit recomputed."""
    line2 = UTO_TD3[1][:13] + birth + codec.check_digit(birth) + "F"
    line2 += expiry + codec.check_digit(expiry) + UTO_TD3[1][28:43]
    line2 += codec.check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    return UTO_TD3[0], line2


@pytest.mark.parametrize(
    ("birth", "expiry", "reason"),
    [
        ("000000", "000000", "date de naissance impossible (000000)"),
        ("741312", "120415", "date de naissance impossible (741312)"),
        ("740812", "310231", "date d'expiration impossible (310231)"),
        ("740812", "600101", "date d'expiration antérieure à la date de naissance"),
    ],
)
def test_a_reading_with_an_impossible_date_is_invalid_with_a_french_reason(birth, expiry, reason):
    facts = codec.parse_mrz(_td3_with(birth, expiry), today=TODAY)
    assert all(facts.checks.values())  # every check digit holds…
    assert not facts.valid  # …and still no document has these dates
    assert reason in facts.problems
    assert reason in codec.parse_mrz(_td3_with(birth, expiry), today=TODAY).to_json()["problems"]


def test_an_all_zero_td1_is_invalid_not_valid_without_dates():
    lines = ("I<UTO000000000" + "0" + "<" * 15, "000000" + "0" + "F" + "000000" + "0" + "UTO"
             + "<" * 11 + "0", "ERIKSSON<<ANNA" + "<" * 16)  # fmt: skip
    facts = codec.parse_mrz(lines, today=TODAY)
    assert all(facts.checks.values())
    assert (facts.birth_date, facts.expiry_date) == (None, None)
    assert not facts.valid
    assert "date de naissance impossible (000000)" in facts.problems


def test_visa_specimen_that_expired_in_1996_is_read_as_expired_in_1996():
    lines = codec.compose_mrv(
        codec.MRVB, issuing_state="UTO", document_number="L8988901C", nationality="XXX",
        birth_date=date(1974, 8, 12), sex="F", expiry_date=date(1996, 12, 10),
        surname="ERIKSSON", given_names=["ANNA", "MARIA"],
    )  # fmt: skip
    assert lines[1][21:27] == "961210"
    facts = codec.parse_mrz(lines, today=TODAY)
    assert facts.valid
    assert facts.expiry_date == date(1996, 12, 10)


def test_old_french_card_with_an_impossible_issue_month_is_invalid():
    line2 = "9413923102854CORINNE<<<<<<<6512068F"
    line2 = line2[:12] + codec.check_digit(line2[:12]) + line2[13:]
    line2 += codec.check_digit(BERTHIER_1994[0] + line2)
    facts = codec.parse_mrz((BERTHIER_1994[0], line2), today=TODAY)
    assert all(facts.checks.values())
    assert not facts.valid
    assert "mois de délivrance impossible (9413)" in facts.problems


def test_composed_lines_of_every_format_parse_back_valid():
    person = {
        "surname": "DE LA FONTAINE",
        "given_names": ["JEAN-PAUL", "MARIE"],
        "birth_date": date(1971, 2, 28),
        "sex": "M",
    }
    td1 = codec.compose_td1(
        document_code="ID", issuing_state="FRA", document_number="AB12CD345",
        expiry_date=date(2031, 5, 4), nationality="FRA", **person,
    )  # fmt: skip
    td3 = codec.compose_td3(
        issuing_state="FRA", document_number="19AB12345", expiry_date=date(2031, 5, 4),
        nationality="FRA", **person,
    )  # fmt: skip
    cni = codec.compose_fr_cni(
        issue_date=date(2005, 1, 1), office_code="92A", sequence="12345", **person
    )
    for lines in (td1, td3, cni):
        facts = codec.parse_mrz(lines, today=TODAY)
        assert facts.valid, lines
        assert facts.surname == "DE LA FONTAINE"


def test_ocr_confusions_in_numeric_fields_are_corrected_when_check_digits_confirm():
    read = (BERTHIER_1994[0], "94O9923IO2854CORINNE<<<<<<<65I2O68F4")
    lines, corrections = codec.correct_lines(read, codec.FR_CNI)
    assert tuple(lines) == BERTHIER_1994
    assert {c.reason for c in corrections} == {"check_digit"}
    assert sorted((c.read, c.corrected) for c in corrections) == [
        ("I", "1"), ("I", "1"), ("O", "0"), ("O", "0"), ("O", "0")
    ]  # fmt: skip


def test_a_correction_the_check_digit_does_not_confirm_is_refused():
    # 'B' in the birth date could be 8; but the check digit says 651206 → 8, and 6B1206 → 681206
    # would give 0: the check digit rejects the substitution, the line stays as read.
    read = (BERTHIER_1994[0], "9409923102854CORINNE<<<<<<<6B12060F4")
    lines, corrections = codec.correct_lines(read, codec.FR_CNI)
    assert lines[1] == read[1]
    assert not [c for c in corrections if c.field.startswith("birth")]
    assert not codec.parse_mrz(lines, today=TODAY).checks["birth_date"]


def test_an_alphanumeric_document_number_is_corrected_only_when_unambiguous():
    # TD3 number L898902C3: reading 'C' as '0' gives a number whose check fails; the only
    # look-alike substitution that restores the check digit is 0 → C... or several are
    # possible: either way, the result must satisfy the check digit or stay as read.
    read = (UTO_TD3[0], "L89890200" + UTO_TD3[1][9:])
    lines, _ = codec.correct_lines(read, codec.TD3)
    facts = codec.parse_mrz(lines, today=TODAY)
    assert lines[1] == read[1] or facts.checks["document_number"]


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        ("P<UTOER1KSSON<<ANNA<MAR1A", "P<UTOERIKSSON<<ANNA<MARIA"),
        ("P<UTOVZ0R<<8ENJAMIN<<<<<", "P<UTOVZOR<<BENJAMIN<<<<<"),  # issue 17's VZ0R
        ("P<UTO2OE<<5ARAH<<<<<<<<<", "P<UTOZOE<<SARAH<<<<<<<<<"),
    ],
)
def test_a_digit_in_a_name_becomes_its_look_alike_letter_recorded_and_flagged(read, expected):
    lines, corrections = codec.correct_lines((read.ljust(44, "<"), UTO_TD3[1]), codec.TD3)
    assert lines[0] == expected.ljust(44, "<")
    changed = [c for c in corrections if c.field == "names"]
    assert changed
    assert all(c.reason == "name_letter" and c.read.isdigit() for c in changed)
    facts = codec.parse_mrz(lines, today=TODAY, corrections=corrections)
    assert facts.names_corrected
    assert facts.to_json()["names_corrected"] is True
    assert facts.to_json()["corrected_fields"] == ["names"]
    # The same lines read without a correction are not flagged.
    assert not codec.parse_mrz(lines, today=TODAY).names_corrected


def test_a_digit_with_no_letter_look_alike_stays_and_the_name_scores_low():
    read = ("P<UTOERIK9SON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", UTO_TD3[1])
    lines, corrections = codec.correct_lines(read, codec.TD3)
    assert lines[0] == read[0]
    assert not corrections
    assert codec.parse_mrz(lines, today=TODAY).name_confidence < 1.0


def test_a_digit_in_the_old_cards_surname_and_given_names_becomes_a_letter():
    read = ("IDFRABERTH1ER<<<<<<<<<<<<<<<<<<<<<<<", "9409923102854C0RINNE<<<<<<<6512068F4")
    lines, corrections = codec.correct_lines(read, codec.FR_CNI)
    assert tuple(lines) == BERTHIER_1994
    facts = codec.parse_mrz(lines, today=TODAY, corrections=corrections)
    assert facts.valid
    assert facts.corrected_fields == ("surname", "given_names")


def test_fillers_read_as_letters_after_the_name_are_normalised_and_recorded():
    read = ("P<UTOERIKSSON<<ANNA<MARIA<<<<<K<<<<<S<<<<<<<", UTO_TD3[1])
    lines, corrections = codec.correct_lines(read, codec.TD3)
    assert tuple(lines) == UTO_TD3
    assert [(c.read, c.reason) for c in corrections] == [("K", "filler_run"), ("S", "filler_run")]


def test_a_word_after_the_name_end_is_left_alone_and_scored_down():
    read = ("P<UTOERIKSSON<<ANNA<MARIA<<<<<KLMNO<<<<<<<<<", UTO_TD3[1])
    lines, corrections = codec.correct_lines(read, codec.TD3)
    assert lines[0] == read[0]
    assert codec.name_confidence(read[0][5:]) < 1.0
    assert not corrections


def test_a_digit_in_a_country_code_becomes_its_letter_look_alike():
    read = ("I<UT0ERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UT07408122F1204159<<<<<<<6")
    lines, corrections = codec.correct_lines(read, codec.TD2)
    assert tuple(lines) == UTO_TD2
    assert {c.reason for c in corrections} == {"country_code"}


def test_empty_personal_number_may_carry_a_filler_check_digit():
    lines = codec.compose_td3(
        issuing_state="FRA", document_number="19AB12345", birth_date=date(1980, 1, 1),
        sex="F", expiry_date=date(2030, 1, 1), nationality="FRA", surname="ROY",
        given_names=["ZOE"],
    )  # fmt: skip
    assert lines[1][42] == "<"
    fixed, corrections = codec.correct_lines(lines, codec.TD3)
    assert tuple(fixed) == lines
    assert not corrections
    assert codec.parse_mrz(lines, today=TODAY).valid


def test_country_codes_that_do_not_exist_make_a_reading_implausible_not_invalid():
    facts = codec.parse_mrz(UTO_TD3, today=TODAY)
    assert facts.plausible  # UTO is ICAO's specimen state
    assert codec.known_state("D<<")
    assert codec.known_state("FRA")
    bogus = ("I<EDUERIKSSON<<ANNA<MARIA<<<<<<<<<<<", UTO_TD2[1])
    facts = codec.parse_mrz(bogus, today=TODAY)
    assert not facts.plausible


def test_the_engines_second_choice_settles_a_document_number_repair_look_alikes_cannot():
    truth = codec.compose_td3(
        issuing_state="FRA",
        document_number="40VU17094",
        birth_date=date(1975, 7, 22),
        sex="M",
        expiry_date=date(2033, 5, 24),
        nationality="FRA",
        surname="MEYER",
        given_names=("HUGO",),
    )
    misread = [truth[0], truth[1][:6] + "O" + truth[1][7:]]
    # Look-alikes alone: 4→A, 0→O, 7→T and O→0 all satisfy the check digit: refused.
    fixed, corrections = codec.correct_lines(misread, codec.TD3)
    assert fixed == misread
    assert corrections == []
    # The classifier ranked 0 second at that position: that repair is confirmed.
    fixed, corrections = codec.correct_lines(misread, codec.TD3, {(1, 6): "0D", (1, 2): "Y"})
    assert tuple(fixed) == truth
    assert [(c.position, c.read, c.corrected) for c in corrections] == [(6, "O", "0")]


def test_a_state_code_that_does_not_exist_takes_the_engines_second_choice_if_only_one_fits():
    misread = [UTO_TD3[0], UTO_TD3[1][:10] + "UT0" + UTO_TD3[1][13:]]
    misread[0] = "P<UTD" + misread[0][5:]
    # Without the engine's ranking, only the digit→letter rule applies: UTD stays.
    fixed, _ = codec.correct_lines(misread, codec.TD3)
    assert fixed[0].startswith("P<UTD")
    assert fixed[1][10:13] == "UTO"
    fixed, corrections = codec.correct_lines(misread, codec.TD3, {(0, 4): "OB"})
    assert tuple(fixed) == UTO_TD3
    assert ("issuing_state", "D", "O") in {(c.field, c.read, c.corrected) for c in corrections}
    # Two existing codes within reach: no choice is made.
    fixed, _ = codec.correct_lines(
        ["P<ESX" + UTO_TD3[0][5:], UTO_TD3[1]], codec.TD3, {(0, 4): "PT"}
    )
    assert fixed[0].startswith("P<ESX")


def test_a_digit_in_a_name_takes_the_engines_letter_first_and_is_recorded_never_silently():
    misread = ["P<UTOERIKSS0N<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", UTO_TD3[1]]
    # Without the engine's ranking, the look-alike: 0 is O.
    fixed, corrections = codec.correct_lines(misread, codec.TD3)
    assert tuple(fixed) == UTO_TD3
    assert [(c.position, c.read, c.corrected, c.reason) for c in corrections] == [
        (11, "0", "O", "name_letter")
    ]
    # The engine's letter comes before the look-alike table.
    fixed, corrections = codec.correct_lines(misread, codec.TD3, {(0, 11): "DO", (0, 6): "B"})
    assert fixed[0].startswith("P<UTOERIKSSDN")
    assert [(c.position, c.read, c.corrected, c.reason) for c in corrections] == [
        (11, "0", "D", "name_letter")
    ]


def test_a_given_name_letter_is_repaired_by_the_old_cards_final_check_and_the_engines_choice():
    # A final E read as F (issue 17, a 376×265 scan): the card's final check digit covers
    # the given names, and the classifier ranked E right behind F.
    line2 = BERTHIER_1994[1]
    misread = [BERTHIER_1994[0], line2[:19] + "F" + line2[20:]]
    fixed, corrections = codec.correct_lines(misread, codec.FR_CNI)
    assert fixed == misread  # without the engine's ranking a name letter is never guessed
    assert not codec.parse_mrz(fixed, today=TODAY).valid
    fixed, corrections = codec.correct_lines(misread, codec.FR_CNI, {(1, 19): "E"})
    assert tuple(fixed) == BERTHIER_1994
    assert [(c.field, c.read, c.corrected, c.reason) for c in corrections] == [
        ("given_names", "F", "E", "check_digit")
    ]
    facts = codec.parse_mrz(fixed, today=TODAY, corrections=corrections)
    assert facts.valid
    assert facts.names_corrected
    assert facts.given_names == ("CORINNE",)


def test_a_second_choice_that_would_break_a_check_digit_that_holds_is_not_taken():
    # The composite fails because of the personal number; a second choice in the document
    # number would satisfy the composite but break the number's own check digit.
    line2 = UTO_TD3[1]
    misread = [UTO_TD3[0], line2[:28] + "ZE184228B" + line2[37:]]
    fixed, corrections = codec.correct_lines(misread, codec.TD3, {(1, 3): "9", (1, 35): "6"})
    assert tuple(fixed) == UTO_TD3
    assert [(c.position, c.read, c.corrected) for c in corrections] == [(35, "8", "6")]


def test_digit_share_tells_an_mrz_read_badly_from_ordinary_print():
    assert codec.digit_share(UTO_TD3, codec.TD3) == 1.0
    misread = (UTO_TD3[0], UTO_TD3[1][:13] + "74O8I2" + UTO_TD3[1][19:])
    assert codec.digit_share(misread, codec.TD3) > 0.8
    recto = ("F<KGJPW<HP<1<M<MC31PJE5FYMELER22A232", "EE3QL61E58K8T8T81X<X5MTLJQJ5E3S1YLE2")
    assert codec.digit_share(recto, codec.TD2) < 0.5
    assert codec.confirmed_checks(UTO_TD3, codec.TD3) == 5
    assert codec.confirmed_checks(misread, codec.TD3) == 3  # birth date and composite fail
