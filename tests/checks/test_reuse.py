"""identity.reuse: an identity document already presented in another dossier.

The operator's stories: a second dossier sends the first one's passport image for another
person (fail, with a link to the first dossier); the same person orders again with the same
card (warn); a card bearing another person's document number (fail, never set aside). The
images are the synthetic generator's, hashed for real; the MRZ readings are cached as the
extractor would have stored them, so nothing is OCR'd.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from ra_workbench.accounts.models import User
from ra_workbench.checks.overrides import is_hard_failure
from ra_workbench.checks.service import current_rules, evaluate_dossier
from ra_workbench.documents.extraction_service import extractor_version
from ra_workbench.documents.models import Document, Extraction, IdentityNumber, ImageFingerprint
from ra_workbench.documents.phash import bands_of, hamming, perceptual_hashes
from ra_workbench.documents.retention import DueDossier, delete_blobs, mark_due, purgeable_digests
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.jobs.rules import load_job_rules
from ra_workbench.synth.identity import (
    IdentityPerson,
    make_identity_document,
    render_identity_side,
)
from tests.auth import sign_in
from tests.factories import (
    make_document,
    make_dossier,
    make_person,
    make_user,
    mrz_reading,
    pdf_bytes,
    png_bytes,
)

TODAY = dt.date(2026, 11, 20)
DURAND = IdentityPerson("DURAND", ("CLAIRE", "MARIE"), "F", dt.date(1985, 4, 12))
LEROY = IdentityPerson("LEROY", ("JULIEN",), "M", dt.date(1979, 9, 3))


@pytest.fixture
def operator(app: Flask) -> User:
    user = make_user(db.session)
    db.session.commit()
    return user


def passport_image(person: IdentityPerson, *, seed: int, degradation: str = "scan") -> bytes:
    rng = random.Random(seed)
    document = make_identity_document(person, "passport", issue_date=dt.date(2022, 3, 1), rng=rng)
    return render_identity_side(document, "recto", rng=rng, degradation=degradation)


def reencoded(data: bytes) -> bytes:
    """The same picture saved again: three quarters of its size, JPEG quality 70."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    smaller = image.resize((image.width * 3 // 4, image.height * 3 // 4))
    out = io.BytesIO()
    smaller.save(out, format="JPEG", quality=70)
    return out.getvalue()


def holder_dossier(first_name: str, last_name: str, **overrides: Any) -> Dossier:
    return make_dossier(
        db.session,
        people=[
            make_person("holder", first_name=first_name, last_name=last_name),
            make_person("legal_representative"),
        ],
        **overrides,
    )


def identity_file(
    dossier: Dossier, data: bytes, reading: dict[str, Any] | None, *, side: str = "recto"
) -> Document:
    """The holder's identity file, its MRZ reading cached (None: no MRZ on this side)."""
    document = make_document(db.session, dossier, person_role="holder", side=side, data=data)
    exists = db.session.scalar(sa.select(Extraction.id).where(Extraction.sha256 == document.sha256))
    if exists is None:
        db.session.add(
            Extraction(
                sha256=document.sha256,
                kind="identity",
                extractor_version=extractor_version(),
                result=reading or {"mrz": None},
            )
        )
        db.session.flush()
    return document


def reuse_of(dossier: Dossier) -> list[Any]:
    run = evaluate_dossier(db.session, dossier.id, trigger="manual", at=TODAY)
    db.session.commit()
    return [r for r in run.results if r.rule == "identity.reuse"]


def holder_reuse(dossier: Dossier) -> Any:
    return next(r for r in reuse_of(dossier) if r.person_role == "holder")


def durand_reading(**overrides: Any) -> dict[str, Any]:
    return mrz_reading("DURAND", ("CLAIRE", "MARIE"), **overrides)


# -- the hash and its index ----------------------------------------------------------------------


def test_the_same_passport_saved_again_hashes_within_the_threshold_another_does_not() -> None:
    first = passport_image(DURAND, seed=1)
    [original] = perceptual_hashes(first)
    [again] = perceptual_hashes(reencoded(first))
    [other] = perceptual_hashes(passport_image(LEROY, seed=2))
    assert hamming(original, again) <= 3
    assert hamming(original, other) > 3
    # Within 3 bits, at least one of the four indexed bands is equal.
    assert any(a == b for a, b in zip(bands_of(original), bands_of(again), strict=True))


def test_every_page_of_an_identity_pdf_is_hashed() -> None:
    hashes = perceptual_hashes(pdf_bytes(pages=3, text="PASSEPORT"), max_pages=20)
    assert len(hashes) == 3
    assert all(0 <= h < 1 << 64 for h in hashes)
    assert len(perceptual_hashes(pdf_bytes(pages=3), max_pages=2)) == 2


# -- the stories ---------------------------------------------------------------------------------


def test_a_dossier_reusing_another_persons_passport_image_fails_with_a_link_to_it(
    app: Flask,
) -> None:
    image = passport_image(DURAND, seed=1)
    first = holder_dossier("CLAIRE", "DURAND")
    identity_file(first, image, None)
    assert holder_reuse(first).outcome == "pass"

    # Another customer sends the same picture, re-saved, for JULIEN LEROY; no MRZ could be
    # read on it (a photo), so the declared names say who it stands for.
    second = holder_dossier("JULIEN", "LEROY")
    identity_file(second, reencoded(image), None)
    result = holder_reuse(second)

    assert result.outcome == "fail"
    assert first.order_number in result.message
    [found] = result.evidence["reused_in"]
    assert found["dossier"] == first.order_number
    assert found["dossier_id"] == first.id
    assert (found["basis"], found["same_person"]) == ("image", False)
    assert result.evidence["reuse_basis"] == "image"
    db.session.refresh(second)
    assert second.verdict == "blocked"
    # The same image may be set aside by four eyes (an operator compares the two images).
    assert not is_hard_failure(result.rule, result.outcome, result.evidence, current_rules())


def test_the_same_person_renewing_with_the_same_card_is_a_warning(app: Flask) -> None:
    image = passport_image(DURAND, seed=1)
    first = holder_dossier("CLAIRE", "DURAND", status="delivered")
    identity_file(first, image, durand_reading())
    reuse_of(first)
    second = holder_dossier("CLAIRE", "DURAND")
    identity_file(second, image, durand_reading())

    result = holder_reuse(second)

    assert result.outcome == "warn"
    assert first.order_number in result.message
    bases = {(f["basis"], f["same_person"]) for f in result.evidence["reused_in"]}
    assert bases == {("image", True), ("document_number", True)}


def test_another_persons_document_number_fails_and_is_never_set_aside(app: Flask) -> None:
    first = holder_dossier("CLAIRE", "DURAND")
    identity_file(first, passport_image(DURAND, seed=1), durand_reading())
    reuse_of(first)  # checked on arrival: its number is recorded
    # A different picture whose MRZ carries CLAIRE DURAND's number under another name and
    # birth date (check digits recomputed): a forged card.
    second = holder_dossier("JULIEN", "LEROY")
    forged = mrz_reading("LEROY", ("JULIEN",), birth_date="1979-09-03", document_number="X4RTBPFW4")
    identity_file(second, passport_image(LEROY, seed=2), forged)

    result = holder_reuse(second)

    assert result.outcome == "fail"
    assert "X4RTBPFW4" in result.message
    assert first.order_number in result.message
    [found] = result.evidence["reused_in"]
    assert (found["basis"], found["dossier"]) == ("document_number", first.order_number)
    assert result.evidence["reuse_basis"] == "document_number"
    assert is_hard_failure(result.rule, result.outcome, result.evidence, current_rules())


def test_two_cards_of_one_model_whose_mrz_numbers_differ_are_two_documents(app: Flask) -> None:
    # Clean crops of two cards of one model can hash alike (the layout dominates the
    # thumbnail; here two plain cards differing by their text): their valid MRZs, with
    # different numbers, say they are two documents.
    first = holder_dossier("CLAIRE", "DURAND")
    first_image = png_bytes(text="DURAND CLAIRE")
    identity_file(first, first_image, durand_reading())
    reuse_of(first)
    second = holder_dossier("JULIEN", "LEROY")
    second_image = png_bytes(text="LEROY JULIEN")
    identity_file(second, second_image, mrz_reading("LEROY", ("JULIEN",)))
    [a], [b] = perceptual_hashes(first_image), perceptual_hashes(second_image)
    assert hamming(a, b) <= current_rules().reuse.max_image_distance  # alike indeed

    assert holder_reuse(second).outcome == "pass"


def test_the_dossiers_own_earlier_revision_and_purged_copies_are_not_other_dossiers(
    app: Flask,
) -> None:
    image = passport_image(DURAND, seed=1)
    dossier = holder_dossier("CLAIRE", "DURAND")
    earlier = identity_file(dossier, image, None)
    earlier.superseded = True
    identity_file(dossier, reencoded(image), None)  # the re-export's copy
    assert holder_reuse(dossier).outcome == "pass"

    # An old dossier of another person, whose copies were purged at the end of retention.
    old = holder_dossier("JULIEN", "LEROY", status="rejected")
    identity_file(old, passport_image(LEROY, seed=2), None)
    reuse_of(old)
    newcomer = holder_dossier("PAUL", "MARTIN")
    identity_file(newcomer, reencoded(passport_image(LEROY, seed=2)), None)
    assert holder_reuse(newcomer).outcome == "fail"
    rules = load_job_rules(app.config["RA_SETTINGS"].rules_dir).retention
    mark_due(db.session, DueDossier(old.id, "rejected", TODAY), rules=rules)
    db.session.commit()
    assert holder_reuse(newcomer).outcome == "pass"


def test_purging_a_copy_forgets_its_hashes_and_mrz_number(app: Flask) -> None:
    dossier = holder_dossier("CLAIRE", "DURAND", status="rejected")
    document = identity_file(dossier, passport_image(DURAND, seed=1), durand_reading())
    reuse_of(dossier)
    digest = document.sha256
    assert db.session.scalar(sa.select(sa.func.count()).where(ImageFingerprint.sha256 == digest))
    assert db.session.scalar(sa.select(sa.func.count()).where(IdentityNumber.sha256 == digest))
    rules = load_job_rules(app.config["RA_SETTINGS"].rules_dir).retention
    mark_due(db.session, DueDossier(dossier.id, "rejected", TODAY), rules=rules)
    db.session.commit()
    counts = delete_blobs(db.session, purgeable_digests(db.session))
    db.session.commit()
    assert counts["identity_evidence"] == 2
    assert not db.session.scalar(
        sa.select(sa.func.count()).where(ImageFingerprint.sha256 == digest)
    )
    assert not db.session.scalar(sa.select(sa.func.count()).where(IdentityNumber.sha256 == digest))


def test_the_operator_opens_the_other_dossier_from_the_failing_result(
    client: FlaskClient, operator: User
) -> None:
    image = passport_image(DURAND, seed=1)
    first = holder_dossier("CLAIRE", "DURAND")
    identity_file(first, image, None)
    reuse_of(first)
    second = holder_dossier("JULIEN", "LEROY")
    identity_file(second, image, None)
    reuse_of(second)

    sign_in(client, operator)
    html = client.get(f"/validation/dossiers/{second.id}").get_data(as_text=True)

    assert f'href="/validation/dossiers/{first.id}"' in html
    assert f'data-reuse-dossier="{first.order_number}"' in html
    assert "même image, autre personne" in html
    assert "identity.reuse" in html  # in « Détails techniques »
