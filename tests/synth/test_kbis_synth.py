"""The extract, mandate and payment-proof generators: reproducible, realistic, valid."""

from __future__ import annotations

import io
import random
from datetime import date

from pypdf import PdfReader

from ra_workbench.extraction.kbis.identifiers import siren_is_valid
from ra_workbench.synth.documents import render_payment_proof_pdf
from ra_workbench.synth.kbis import (
    KINDS,
    make_siren,
    random_company,
    render_kbis_pdf,
    siren_luhn_valid,
)


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def test_same_seed_gives_the_same_company_and_the_same_pdf() -> None:
    def make() -> tuple[object, bytes]:
        rng = random.Random(42)
        facts = random_company(rng, updated_on=date(2026, 3, 1))
        return facts, render_kbis_pdf(facts, rng=rng)

    assert make() == make()


def test_other_seeds_give_other_companies() -> None:
    sirens = {
        random_company(random.Random(seed), updated_on=date(2026, 3, 1)).siren for seed in range(50)
    }
    assert len(sirens) == 50


def test_generated_companies_have_valid_sirens_and_names_without_accents() -> None:
    rng = random.Random(7)
    for index in range(200):
        facts = random_company(rng, updated_on=date(2026, 3, 1), kind=KINDS[index % 4])
        assert siren_is_valid(facts.siren)
        assert siren_luhn_valid(facts.siren)
        declared = [facts.name, facts.address_line, facts.city, facts.postcode]
        declared += [m.surname for m in facts.managers] + [m.given_names for m in facts.managers]
        assert all(text.isascii() for text in declared), declared
        assert facts.managers


def test_make_siren_never_repeats_in_a_small_batch() -> None:
    rng = random.Random(1)
    assert len({make_siren(rng) for _ in range(1000)}) == 1000


def test_declared_legal_representative_is_the_first_manager() -> None:
    facts = random_company(
        random.Random(3), updated_on=date(2026, 3, 1), legal_representative=("MOREL", "PAUL")
    )
    first = facts.managers[0]
    assert (first.surname, first.given_names) == ("MOREL", "Paul")
    assert first.role in {"Président", "Gérant", "Président du conseil d'administration"}


def test_kbis_uses_the_real_documents_wording() -> None:
    rng = random.Random(8)
    facts = random_company(rng, updated_on=date(2024, 11, 6))
    text = _text(render_kbis_pdf(facts, rng=rng))
    for wording in (
        f"Greffe du Tribunal de Commerce de {facts.greffe}",
        "Extrait Kbis",
        "Code de vérification : ",
        "IMMATRICULATION",
        "Immatriculation au RCS, numéro",
        "Date d'immatriculation",
        "RENSEIGNEMENTS RELATIFS A LA PERSONNE MORALE",
        "Dénomination ou raison sociale",
        "Forme juridique",
        "Capital social",
        "Adresse du siège",
        "GESTION, DIRECTION, ADMINISTRATION, CONTROLE, ASSOCIES OU MEMBRES",
        "Nom, prénoms",
        "Date et lieu de naissance",
    ):
        assert wording in text, wording
    assert "à jour au 6 novembre 2024" in text or "à jour au 06/11/2024" in text


def test_each_kind_has_its_own_title() -> None:
    titles = {
        "kbis": "Extrait Kbis",
        "extrait_k": "Extrait K\n",
        "rne": "REGISTRE NATIONAL DES ENTREPRISES",
        "sirene": "AVIS DE SITUATION AU REPERTOIRE SIRENE",
    }
    for kind, title in titles.items():
        rng = random.Random(kind)
        text = _text(
            render_kbis_pdf(random_company(rng, updated_on=date(2026, 1, 5), kind=kind), rng=rng)
        )
        assert title in text, kind


def test_scanned_kbis_is_image_only_and_under_the_portal_limit() -> None:
    rng = random.Random(13)
    facts = random_company(rng, updated_on=date(2026, 3, 1))
    pdf = render_kbis_pdf(facts, rng=rng, scanned=True)
    assert _text(pdf).strip() == ""
    assert len(pdf) < 3_000_000
    reader = PdfReader(io.BytesIO(pdf))
    assert all(page.images for page in reader.pages)


def test_payment_proof_states_order_amount_transaction_and_date() -> None:
    pdf = render_payment_proof_pdf(
        order_number="288112",
        amount_ttc="1228.00",
        transaction_id="VIR-20261120-0042",
        paid_on=date(2026, 11, 20),
        rng=random.Random(2),
    )
    text = _text(pdf)
    for wording in ("Commande 288112", "1 228,00 EUR", "VIR-20261120-0042", "20/11/2026"):
        assert wording in text
