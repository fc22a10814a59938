"""file.signals: what each file's metadata tells the operator of how it was made.

The operator's stories: a Kbis PDF produced by « Infogreffe » and then updated incrementally;
a JPEG whose EXIF says Adobe Photoshop; a passport sent as a 1920×1080 screen capture; an
identity photo of 300×200 pixels. Each is a warning with its evidence, never a failure (the
verdict does not change and the customer is asked for nothing); the generator's clean files
raise none. The readings are the real reader's (extraction/filesignals.py), through the JSON
the extraction cache keeps.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from ra_workbench.accounts.models import User
from ra_workbench.checks.catalogue import CATALOGUE
from ra_workbench.checks.engine import customer_requests, evaluate
from ra_workbench.checks.facts import DocumentFacts, FileSignalsFacts
from ra_workbench.checks.rules import RulesError, parse_rules
from ra_workbench.checks.service import evaluate_dossier
from ra_workbench.extensions import db
from ra_workbench.extraction.filesignals import read_file_signals
from ra_workbench.synth.documents import images_to_pdf, render_payment_proof_pdf
from ra_workbench.synth.identity import (
    IdentityPerson,
    make_identity_document,
    render_identity_side,
)
from ra_workbench.synth.kbis import random_company, render_kbis_pdf
from tests.auth import sign_in
from tests.checks.builders import REPO_RULES, TODAY, clean_facts, document, repo_rules
from tests.extraction.mandates import signed_mandate
from tests.extraction.signal_files import jpeg, png, registry_pdf, signed_by_registry, updated
from tests.factories import make_document, make_dossier, make_user

DURAND = IdentityPerson("DURAND", ("CLAIRE", "MARIE"), "F", dt.date(1985, 4, 12))


def signals_of(data: bytes) -> FileSignalsFacts:
    """What the rule sees of a file: the reader's output, through the cached JSON."""
    found = read_file_signals(data)
    assert found is not None
    return FileSignalsFacts.from_extraction(found.to_json())


def file_facts(doc_type: str, data: bytes, name: str, **overrides: Any) -> DocumentFacts:
    media = (
        "application/pdf"
        if data.startswith(b"%PDF")
        else ("image/png" if data.startswith(b"\x89PNG") else "image/jpeg")
    )
    return document(
        doc_type,
        original_name=name,
        media_type=media,
        size=len(data),
        file_signals=signals_of(data),
        **overrides,
    )


def results_for(*documents: DocumentFacts) -> list[Any]:
    facts = replace(clean_facts(), documents=documents)
    return CATALOGUE["file.signals"](facts, repo_rules(), TODAY)


def warnings_for(*documents: DocumentFacts) -> list[Any]:
    found = results_for(*documents)
    assert all(r.outcome in ("warn", "pass") for r in found)
    return [r for r in found if r.outcome == "warn"]


# -- each signal, from the real reader ---------------------------------------------------------


def test_a_kbis_produced_by_infogreffe_then_updated_warns_with_the_count() -> None:
    kbis = updated(updated(registry_pdf(), producer="Smallpdf"), producer="iLovePDF")

    [warning] = warnings_for(file_facts("kbis", kbis, "kbis-morel.pdf"))

    assert warning.evidence["signal"] == "pdf_updated"
    assert warning.evidence["updates"] == 2
    assert warning.evidence["software"] == "Infogreffe"
    assert "Infogreffe" in warning.message
    assert "2 mises à jour" in warning.message
    assert warning.evidence["file"] == "kbis-morel.pdf"


def test_a_registry_extract_as_delivered_or_signed_by_the_registry_does_not_warn() -> None:
    assert warnings_for(file_facts("kbis", registry_pdf(), "kbis.pdf")) == []
    assert warnings_for(file_facts("kbis", signed_by_registry(registry_pdf()), "kbis.pdf")) == []
    # Another producer's PDF saved again is no registry's extract modified.
    assert warnings_for(file_facts("kbis", updated(registry_pdf("LibreOffice")), "k.pdf")) == []


def test_a_jpeg_whose_exif_says_adobe_photoshop_warns_naming_it() -> None:
    photo = jpeg(1600, 1200, software="Adobe Photoshop 25.0 (Windows)")

    [warning] = warnings_for(
        file_facts("identity", photo, "cni-durand-recto.jpg", person_role="holder")
    )

    assert warning.evidence["signal"] == "image_editor"
    assert warning.evidence["software"] == "Adobe Photoshop 25.0 (Windows)"
    assert "Adobe Photoshop 25.0 (Windows)" in warning.message
    assert warning.person_role == "holder"


def test_an_editor_is_named_as_a_word_not_inside_another_one() -> None:
    assert warnings_for(file_facts("kbis", registry_pdf("Canvas Builder 2"), "k.pdf")) == []
    [warning] = warnings_for(file_facts("kbis", registry_pdf("Paint.NET 5.0"), "k.pdf"))
    assert warning.evidence["software"] == "Paint.NET 5.0"


def test_a_passport_sent_as_a_1920x1080_screenshot_warns() -> None:
    capture = png(1920, 1080)

    [warning] = warnings_for(file_facts("identity", capture, "passeport.png"))

    assert warning.evidence["signal"] == "screenshot"
    assert warning.evidence["pixels"] == "1920 × 1080 px"
    assert "capture d'écran" in warning.message
    # Either orientation; a phone photo of that size names its camera and is no capture.
    assert warnings_for(file_facts("identity", png(1080, 1920), "p.png"))
    assert (
        warnings_for(
            file_facts("identity", jpeg(1920, 1080, camera=("Apple", "iPhone 14")), "p.jpg")
        )
        == []
    )


def test_a_payment_proof_screenshot_is_expected_and_does_not_warn() -> None:
    assert warnings_for(file_facts("payment_proof", png(1170, 2532), "virement.png")) == []


def test_an_identity_photo_of_300x200_pixels_warns_that_the_face_cannot_be_read() -> None:
    photo = jpeg(300, 200, dpi=(72, 72))

    [warning] = warnings_for(file_facts("identity", photo, "cni-recto.jpg"))

    assert warning.evidence["signal"] == "low_resolution"
    assert warning.evidence["pixels"] == "300 × 200 px"
    assert warning.evidence["dpi"] == "72 × 72 ppp"
    assert warning.evidence["limit"] == 400
    assert "200 px sur le petit côté (minimum 400)" in warning.message
    # The same size is no concern on a Kbis: there is no face to read.
    assert warnings_for(file_facts("kbis", photo, "kbis.jpg")) == []


def test_an_identity_pdf_whose_scan_is_too_small_warns_with_the_images_size() -> None:
    small_scan = images_to_pdf([Image.new("RGB", (380, 240), "white")])

    [warning] = warnings_for(file_facts("identity", small_scan, "cni.pdf"))

    assert warning.evidence["signal"] == "low_resolution"
    assert warning.evidence["pixels"] == "380 × 240 px"
    assert "image du PDF de 380 × 240 px" in warning.message


def test_one_file_can_carry_several_signals_each_its_own_warning() -> None:
    edited_capture = jpeg(1366, 768, software="GIMP 2.10")
    signals = {
        r.evidence["signal"] for r in warnings_for(file_facts("identity", edited_capture, "x.jpg"))
    }
    assert signals == {"image_editor", "screenshot"}


def test_file_signals_never_fail_nor_ask_the_customer_anything() -> None:
    rules = repo_rules()
    facts = replace(
        clean_facts(),
        documents=(
            *clean_facts().documents,
            file_facts("identity", jpeg(300, 200, software="Photoshop"), "cni.jpg"),
        ),
    )
    evaluation = evaluate(facts, rules, TODAY)
    signals = [r for r in evaluation.results if r.rule == "file.signals"]
    assert {r.outcome for r in signals} == {"warn"}
    assert evaluation.verdict == "ready"
    assert customer_requests(evaluation.results, rules) == []


def test_a_file_read_before_the_signals_existed_is_not_judged() -> None:
    [result] = results_for(document("kbis"))
    assert result.outcome == "pass"


# -- the generator's clean files -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["cni1988", "cnie", "passport"])
def test_the_generators_identity_images_raise_no_signal(kind: str) -> None:
    rng = random.Random(7)
    card = make_identity_document(DURAND, kind, issue_date=dt.date(2022, 3, 1), rng=rng)
    files = [
        file_facts(
            "identity",
            render_identity_side(card, side, rng=rng, degradation=degradation, fmt=fmt),
            f"{kind}-{side}.{fmt}",
        )
        for side, degradation, fmt in (
            ("recto", "scan", "jpeg"),
            ("verso", "photo", "png"),
            ("recto", "recompressed", "jpeg"),
            ("verso", "clean", "png"),
        )
    ]
    assert warnings_for(*files) == []


def test_the_generators_lowres_identity_scan_is_flagged_as_it_should_be() -> None:
    rng = random.Random(3)
    card = make_identity_document(DURAND, "cnie", issue_date=dt.date(2022, 3, 1), rng=rng)
    data = render_identity_side(card, "recto", rng=rng, degradation="lowres")
    [warning] = warnings_for(file_facts("identity", data, "cnie-recto.jpg"))
    assert warning.evidence["signal"] == "low_resolution"


def test_the_generators_kbis_payment_proof_and_signed_mandate_raise_no_signal() -> None:
    rng = random.Random(5)
    company = random_company(rng, updated_on=dt.date(2026, 11, 2))
    files = [
        file_facts("kbis", render_kbis_pdf(company, rng=rng), "kbis.pdf"),
        file_facts("kbis", render_kbis_pdf(company, scanned=True, rng=rng), "kbis-scan.pdf"),
        file_facts(
            "payment_proof",
            render_payment_proof_pdf(
                order_number="288112",
                amount_ttc="228.00",
                transaction_id="VIR-20261118-1234",
                paid_on=dt.date(2026, 11, 18),
                rng=rng,
            ),
            "preuve.pdf",
        ),
        file_facts("mandate", signed_mandate(), "mandat.pdf"),
    ]
    assert warnings_for(*files) == []


# -- the rules file ------------------------------------------------------------------------------


def test_the_thresholds_are_data_and_a_malformed_screen_size_names_the_key() -> None:
    text = (REPO_RULES / "checks.toml").read_text(encoding="utf-8")
    rules = parse_rules(
        text.replace(
            "min_identity_short_side_px = 400", "min_identity_short_side_px = 150"
        ).encode(),
        "checks.toml",
        REPO_RULES,
    )
    assert rules.file_signals.min_identity_short_side_px == 150
    assert (1080, 1920) in rules.file_signals.screen_sizes
    with pytest.raises(RulesError, match=r"file_signals\.screen_sizes"):
        parse_rules(
            text.replace('"1920x1080",', '"1920 par 1080",').encode(), "checks.toml", REPO_RULES
        )


# -- through the application ---------------------------------------------------------------------


@pytest.fixture
def operator(app: Flask) -> User:
    user = make_user(db.session)
    db.session.commit()
    return user


def test_the_operator_reads_the_updated_kbis_and_the_screenshot_on_the_dossier_page(
    client: FlaskClient, operator: User
) -> None:
    dossier = make_dossier(db.session)
    make_document(
        db.session,
        dossier,
        type="kbis",
        person_role=None,
        side=None,
        data=updated(registry_pdf()),
        original_name="kbis-ateliers-morel.pdf",
    )
    make_document(db.session, dossier, data=png(1920, 1080), original_name="passeport.png")
    db.session.commit()

    run = evaluate_dossier(db.session, dossier.id, trigger="manual", at=TODAY)
    db.session.commit()
    warnings = {
        r.evidence["signal"]: r
        for r in run.results
        if r.rule == "file.signals" and r.outcome == "warn"
    }
    assert set(warnings) == {"pdf_updated", "screenshot"}
    assert warnings["pdf_updated"].evidence["updates"] == 1

    sign_in(client, operator)
    html = client.get(f"/validation/dossiers/{dossier.id}").get_data(as_text=True)
    assert "PDF produit par un registre (Infogreffe) puis modifié par 1 mise à jour" in html
    assert "capture d&#39;écran" in html or "capture d'écran" in html
    assert "Mises à jour après création" in html  # the evidence, labelled in French
    assert "PDF de registre modifié après sa création" in html
