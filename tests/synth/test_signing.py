"""The demo's test authority and the synthetic mandates it signs: the trust store of rules/
holds its certificate, and what the generator signs verifies against that store."""

from __future__ import annotations

import asyncio
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from cryptography import x509

from ra_workbench.extraction.mandate import read_mandate
from ra_workbench.extraction.signatures import trust_chain
from ra_workbench.synth.documents import render_mandate_pdf
from ra_workbench.synth.packages import generate_dossier
from ra_workbench.synth.signing import DEMO_CA
from tests.checks.builders import REPO_RULES, repo_rules

TODAY = date(2026, 11, 20)


def test_the_demo_trust_store_holds_exactly_the_demo_test_authority() -> None:
    pem = (REPO_RULES / "trust" / "mandates" / "ra-workbench-demo-ca.pem").read_bytes()
    assert pem == DEMO_CA.pem()
    [anchor] = x509.load_pem_x509_certificates(pem)
    assert "DEMO" in anchor.subject.rfc4514_string()
    assert repo_rules().mandate.trust_subjects == (anchor.subject.rfc4514_string(),)


def test_a_mandate_drawn_twice_from_the_same_seed_is_the_same_bytes() -> None:
    def draw() -> bytes:
        return render_mandate_pdf(
            organisation="ATELIERS MOREL",
            legal_representative="PAUL MOREL",
            mandataire="SOPHIE LEROY",
            signed_on=date(2026, 11, 2),
            electronically_signed=True,
            rng=random.Random(4),
        )

    assert draw() == draw()


def test_the_generators_signed_mandates_validate_against_the_demo_trust_store(
    tmp_path: Path,
) -> None:
    anchors = repo_rules().mandate.trust_anchors
    for seed in (11, 12):
        package = generate_dossier(
            tmp_path / str(seed),
            seed=seed,
            order_number=f"3100{seed}",
            today=TODAY,
            degradation="clean",
            variant={"has_mandataire": True},
        )
        [mandate] = package.glob("mandat-*.pdf")
        signatures = read_mandate(mandate.read_bytes()).signatures
        assert [s.field_name for s in signatures] == [
            "Signature_representant_legal",
            "Signature_mandataire",
        ]
        for signature in signatures:
            check = signature.verification
            assert check is not None
            assert check.sound, check
            assert check.signing_time is not None
            trust = trust_chain(check.certificates, anchors, check.signing_time)
            assert trust.trusted, trust.problem


def test_mandates_are_signed_and_verified_from_inside_a_running_event_loop() -> None:
    """pyHanko's synchronous calls start an event loop of their own, which a thread that
    already runs one (a Playwright session, an asynchronous server) refuses."""
    anchors = repo_rules().mandate.trust_anchors

    async def inside_a_loop() -> bool:
        pdf = render_mandate_pdf(
            organisation="ATELIERS MOREL",
            legal_representative="PAUL MOREL",
            mandataire="SOPHIE LEROY",
            signed_on=date(2026, 11, 2),
            electronically_signed=True,
            rng=random.Random(4),
        )
        checks = [s.verification for s in read_mandate(pdf).signatures]
        return len(checks) == 2 and all(
            c is not None
            and c.signing_time is not None
            and trust_chain(c.certificates, anchors, c.signing_time).trusted
            for c in checks
        )

    # On a thread of its own: the suite's main thread may already run one (Playwright's).
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, inside_a_loop()).result()
