"""The synthetic portal packages: well-formed per FORMAT.md, reproducible, clean when asked,
and broken exactly where a defect or a refused kind says."""

from __future__ import annotations

import io
import json
import re
import stat
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from PIL import Image

from ra_workbench.extraction.kbis import read_kbis
from ra_workbench.extraction.kbis.identifiers import siren_is_valid
from ra_workbench.extraction.media import sniff_media_type
from ra_workbench.extraction.mrz import codec
from ra_workbench.extraction.names import compact, first_name_among
from ra_workbench.ingest.package import (
    FORMAT,
    Limits,
    PackageRefused,
    read_package_bytes,
    read_package_path,
)
from ra_workbench.synth.packages import (
    ALL_DEFECTS,
    BROKEN_KINDS,
    DEFECTS,
    MAX_FILE_BYTES,
    REVIEW_DEFECTS,
    STRUCTURAL_DEFECTS,
    generate_batch,
    generate_broken_package,
    generate_dossier,
    read_expected,
)

TODAY = date(2026, 11, 20)
REPO_ROOT = Path(__file__).resolve().parents[2]
# Fast full rendering: real documents, no photo simulation, no image-only Kbis scan.
FAST = {"identity_format": "jpeg", "kbis_scanned": False}
CONTENT_DEFECTS = sorted(set(ALL_DEFECTS) - STRUCTURAL_DEFECTS)
MOBILE = re.compile(r"^(06[0-9]{8}|07[1-9][0-9]{7}|\+336[0-9]{8})$")


def manifest_of(package: Path) -> dict[str, Any]:
    if package.suffix == ".zip":
        with zipfile.ZipFile(package) as archive:
            data: dict[str, Any] = json.loads(archive.read("dossier.json"))
            return data
    data = json.loads((package / "dossier.json").read_text(encoding="utf-8"))
    return data


def files_of(package: Path) -> dict[str, bytes]:
    if package.suffix == ".zip":
        with zipfile.ZipFile(package) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    return {p.name: p.read_bytes() for p in sorted(package.iterdir())}


def declared_people(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    people = {"legal_representative": manifest["legal_representative"]}
    if not manifest["holder"]["same_as_legal_representative"]:
        people["holder"] = manifest["holder"]
    if manifest["mandataire"]:
        people["mandataire"] = manifest["mandataire"]
    return people


def assert_well_formed(package: Path) -> None:
    """FORMAT.md §1, checked by hand and by the ingestion's own reader."""
    manifest = manifest_of(package)
    files = files_of(package)
    assert manifest["format"] == FORMAT
    assert manifest["order_number"].isdigit()
    assert isinstance(manifest["revision"], int)
    assert manifest["dossier_type"] == "dematerialised"
    assert manifest["delivery_mode"] in ("shipping", "pickup")
    assert manifest["payment"]["method"] in ("card", "transfer")
    assert isinstance(manifest["holder"], dict), "one holder per order"
    assert manifest["holder"]["activation_code_channel"] in ("sms", "email")
    paths = [d["path"] for d in manifest["documents"]]
    assert len(paths) == len(set(paths))
    assert set(files) == {"dossier.json", *paths}, "every named file exists, nothing more"
    for document in manifest["documents"]:
        assert document["type"] in ("kbis", "identity", "payment_proof", "mandate")
        if document["type"] == "identity":
            assert document["person"] in ("holder", "legal_representative", "mandataire")
            assert document["side"] in ("recto", "verso")
    read_package_path(package)  # raises PackageRefused if the ingestion disagrees


def assert_clean(package: Path) -> None:
    """What a clean package promises (the portal's rules, guide section 5)."""
    manifest = manifest_of(package)
    expected = read_expected(package)
    assert expected["clean"]
    assert expected["expected_failing_rules"] == []
    for name, data in files_of(package).items():
        assert len(data) <= MAX_FILE_BYTES, name
        assert name.count(".") == 1, name
        assert name == name.lower()
        assert " " not in name
    assert json.dumps(manifest, ensure_ascii=False).isascii(), "no accent in declared fields"
    assert manifest["documents_valid_attested"] is True
    organisation = expected["organisation"]
    assert siren_is_valid(manifest["organisation"]["siren"])
    assert manifest["organisation"]["siren"] == organisation["kbis_siren"]
    assert date.fromisoformat(organisation["kbis_date"]) >= TODAY - relativedelta(months=3)
    for role, person in declared_people(manifest).items():
        assert MOBILE.fullmatch(person["mobile"]), person["mobile"]
        truth = expected["people"][role]
        facts = codec.parse_mrz(truth["document"]["mrz"], today=TODAY)
        assert facts.valid
        assert facts.expiry_date is not None
        assert facts.expiry_date > TODAY
        assert compact(facts.surname) == compact(person["last_name"])
        assert first_name_among(person["first_name"], facts.given_names)
    legal_representative = manifest["legal_representative"]
    if organisation["kbis_kind"] != "sirene":
        assert any(
            compact(m["surname"]) == compact(legal_representative["last_name"])
            and first_name_among(legal_representative["first_name"], m["given_names"].split())
            for m in organisation["kbis_managers"]
        )
    present = {(d["type"], d.get("person"), d.get("side")) for d in manifest["documents"]}
    assert ("kbis", None, None) in present
    same = manifest["holder"]["same_as_legal_representative"]
    required = {"holder"} if same else {"holder", "legal_representative"}
    if manifest["mandataire"]:
        required.add("mandataire")
    for role in required:
        # The holder who is the legal representative files under either role.
        filed = {"holder", "legal_representative"} if same and role == "holder" else {role}
        for side in ("recto", "verso"):
            assert any(("identity", r, side) in present for r in filed), (role, side)
    if manifest["payment"]["method"] == "transfer":
        assert ("payment_proof", None, None) in present
    else:
        assert manifest["payment"]["transaction_id"]
    if manifest["mandataire"]:
        assert ("mandate", None, None) in present


# -- generated once per module ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def light_batch(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("light")
    return generate_batch(out, count=16, seed=11, today=TODAY, defect_rate=0.5, light=True)


@pytest.fixture(scope="module")
def full_clean(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Fully rendered clean dossiers covering the three identity kinds and the options."""
    out = tmp_path_factory.mktemp("full")
    variants: list[dict[str, Any]] = [
        {"holder_kind": "cni1988", "payment_method": "transfer", "has_mandataire": True},
        {"holder_kind": "cnie", "holder_is_legal_representative": True, "kbis_scanned": True},
        {"holder_kind": "passport", "identity_format": "png", "delivery_mode": "pickup"},
    ]
    return [
        generate_dossier(
            out,
            seed=50 + n,
            order_number=str(600000 + n),
            today=TODAY,
            variant=variant,
            degradation="clean",
        )
        for n, variant in enumerate(variants)
    ]


@pytest.fixture(scope="module")
def content_defects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("content")
    return {
        defect: generate_dossier(
            out,
            seed=70 + n,
            order_number=str(700000 + n),
            today=TODAY,
            defects=(defect,),
            degradation="clean",
            variant=dict(FAST),
        )
        for n, defect in enumerate([*CONTENT_DEFECTS, "oversize"])
    }


@pytest.fixture(scope="module")
def structural_defects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each structural defect on a light dossier, and the same dossier clean (same seed)."""
    out = tmp_path_factory.mktemp("structural")
    clean = generate_dossier(
        out / "clean", seed=90, order_number="800000", today=TODAY, light=True, variant=_FULL_HOUSE
    )
    packages = {"clean": clean}
    for defect in sorted(STRUCTURAL_DEFECTS):
        packages[defect] = generate_dossier(
            out / defect, seed=90, order_number="800000", today=TODAY, defects=(defect,),
            light=True, variant=_FULL_HOUSE,
        )  # fmt: skip
    return packages


# Every person and every document kind present: each defect has all its targets.
_FULL_HOUSE: dict[str, Any] = {
    "has_mandataire": True,
    "payment_method": "transfer",
    "holder_is_legal_representative": False,
}


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("broken")
    return {kind: generate_broken_package(out, kind, seed=5) for kind in BROKEN_KINDS}


# -- reproducibility -------------------------------------------------------------------------------


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    def make(where: str) -> Path:
        return generate_dossier(
            tmp_path / where, seed=3, order_number="300001", today=TODAY, degradation="clean",
            variant={"has_mandataire": True, "payment_method": "transfer", "kbis_scanned": True},
        )  # fmt: skip

    first, second = make("a"), make("b")
    a, b = files_of(first), files_of(second)
    assert a.keys() == b.keys()
    # The signed mandate too: Ed25519 signatures, keys and /ID drawn from the seed.
    for name in a:
        assert a[name] == b[name], name
    assert read_expected(first) == read_expected(second)

    other = generate_dossier(tmp_path / "c", seed=4, order_number="300001", today=TODAY, light=True)
    assert manifest_of(other) != manifest_of(first)


def test_a_zipped_batch_is_byte_identical_from_the_same_seed(tmp_path: Path) -> None:
    def batch(where: str) -> list[bytes]:
        paths = generate_batch(
            tmp_path / where, count=5, seed=8, today=TODAY, zip_package=True, light=True
        )
        return [p.read_bytes() for p in paths]

    assert batch("a") == batch("b")


def test_a_higher_revision_keeps_the_order_and_people_but_brings_new_identity_files(
    tmp_path: Path,
) -> None:
    first = generate_dossier(tmp_path, seed=6, order_number="300002", today=TODAY, light=True)
    second = generate_dossier(
        tmp_path, seed=6, order_number="300002", today=TODAY, light=True, revision=2
    )
    assert first != second
    m1, m2 = manifest_of(first), manifest_of(second)
    assert (m1["revision"], m2["revision"]) == (1, 2)
    assert m2["submitted_at"] > m1["submitted_at"]
    assert declared_people(m1) == declared_people(m2)
    f1, f2 = files_of(first), files_of(second)
    for document in m1["documents"]:
        same = f1[document["path"]] == f2[document["path"]]
        assert same is (document["type"] != "identity"), document


# -- well-formed and clean -------------------------------------------------------------------------


def test_every_generated_package_is_well_formed(
    light_batch: list[Path], full_clean: list[Path], content_defects: dict[str, Path]
) -> None:
    for package in [*light_batch, *full_clean, *content_defects.values()]:
        assert_well_formed(package)


def test_fully_rendered_clean_packages_keep_every_portal_rule(full_clean: list[Path]) -> None:
    for package in full_clean:
        assert_clean(package)
        for name, data in files_of(package).items():
            if name.endswith(".jpg"):
                assert sniff_media_type(data) == "image/jpeg"
            elif name.endswith(".png"):
                assert sniff_media_type(data) == "image/png"
            elif name.endswith(".pdf"):
                assert sniff_media_type(data) == "application/pdf"


def test_a_batch_mixes_clean_and_defective_dossiers_of_every_shape(
    light_batch: list[Path],
) -> None:
    expected = [read_expected(p) for p in light_batch]
    manifests = [manifest_of(p) for p in light_batch]
    assert {e["clean"] for e in expected} == {True, False}
    assert sum(not e["clean"] for e in expected) == 8
    assert {m["delivery_mode"] for m in manifests} == {"shipping", "pickup"}
    assert {m["payment"]["method"] for m in manifests} == {"card", "transfer"}
    assert {m["mandataire"] is None for m in manifests} == {True, False}
    assert {m["holder"]["same_as_legal_representative"] for m in manifests} == {True, False}
    assert {e["variant"]["holder_kind"] for e in expected} == {"cni1988", "cnie", "passport"}
    assert len({m["order_number"] for m in manifests}) == len(manifests)
    for package, e in zip(light_batch, expected, strict=True):
        if e["clean"]:
            assert_clean(package)
        else:
            assert DEFECTS[e["defects"][0]] in e["expected_failing_rules"]


def test_the_expected_outcome_is_written_beside_the_package_not_inside(tmp_path: Path) -> None:
    package = generate_dossier(
        tmp_path, seed=1, order_number="300003", today=TODAY, light=True, zip_package=True
    )
    assert package.name == "dossier-300003.zip"
    assert (tmp_path / "dossier-300003.expected.json").exists()
    assert not any("expected" in name for name in files_of(package))
    assert read_expected(package)["order_number"] == "300003"


# -- defects ---------------------------------------------------------------------------------------


def test_every_defect_names_a_rule_of_the_catalogue() -> None:
    from ra_workbench.checks.results import RULE_IDS

    assert set(ALL_DEFECTS.values()) <= set(RULE_IDS)
    assert not set(DEFECTS) & set(REVIEW_DEFECTS)
    assert set(DEFECTS) >= STRUCTURAL_DEFECTS


@pytest.mark.parametrize("defect", sorted(STRUCTURAL_DEFECTS))
def test_each_structural_defect_changes_what_it_targets(
    structural_defects: dict[str, Path], defect: str
) -> None:
    clean, package = structural_defects["clean"], structural_defects[defect]
    before, after = manifest_of(clean), manifest_of(package)
    files_before, files_after = files_of(clean), files_of(package)
    expected = read_expected(package)
    assert expected["defects"] == [defect]
    assert DEFECTS[defect] in expected["expected_failing_rules"]
    assert_well_formed(package)

    if defect == "bad_siren":
        assert not siren_is_valid(after["organisation"]["siren"])
        assert after["organisation"]["siren"][:8] == before["organisation"]["siren"][:8]
    elif defect == "not_attested":
        assert after["documents_valid_attested"] is False
    elif defect == "bad_mobile":
        changed = [
            role
            for role, person in declared_people(after).items()
            if person["mobile"] != declared_people(before)[role]["mobile"]
        ]
        assert len(changed) == 1
        assert not MOBILE.fullmatch(declared_people(after)[changed[0]]["mobile"])
    elif defect == "bad_email":
        emails = [p["email"] for p in declared_people(after).values()]
        assert emails != [p["email"] for p in declared_people(before).values()]
        assert any(e.count("@") != 1 or " " in e or "." not in e.split("@")[-1] for e in emails)
    elif defect == "accented_fields":
        assert not json.dumps(after, ensure_ascii=False).isascii()
        assert json.dumps(before, ensure_ascii=False).isascii()
    elif defect == "missing_verso":
        missing = [d for d in _identity(before) if d not in _identity(after)]
        assert [d["side"] for d in missing] == ["verso"]
        assert len(_identity(after)) == len(_identity(before)) - 1
    elif defect == "missing_documents":
        assert len(after["documents"]) < len(before["documents"])
    elif defect == "dotted_name":
        dotted = [name for name in files_after if name.count(".") > 1]
        assert len(dotted) == 1
        assert not [name for name in files_before if name.count(".") > 1]
    elif defect == "oversize":
        big = [name for name, data in files_after.items() if len(data) > MAX_FILE_BYTES]
        assert len(big) == 1
        assert len(files_after[big[0]]) > 3 * 1024 * 1024  # over 3 Mo in either reading
        assert sniff_media_type(files_after[big[0]]) == "image/png"
        Image.open(io.BytesIO(files_after[big[0]])).verify()  # a real PNG
    elif defect == "wrong_format":
        disagree = [name for name, data in files_after.items() if _disagrees(name, data)]
        assert len(disagree) == 1
        assert not [name for name, data in files_before.items() if _disagrees(name, data)]
    else:  # pragma: no cover - a new structural defect needs its own assertion here
        pytest.fail(f"no assertion for {defect}")


def _identity(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in manifest["documents"] if d["type"] == "identity"]


def _disagrees(name: str, data: bytes) -> bool:
    if name == "dossier.json":
        return False
    allowed = {".jpg": "image/jpeg", ".png": "image/png", ".pdf": "application/pdf"}
    return sniff_media_type(data) != allowed[name[name.rindex(".") :]]


@pytest.mark.parametrize("defect", [*CONTENT_DEFECTS, "oversize"])
def test_each_content_defect_is_in_the_document_itself(
    content_defects: dict[str, Path], defect: str
) -> None:
    package = content_defects[defect]
    manifest, files, expected = manifest_of(package), files_of(package), read_expected(package)
    assert expected["defects"] == [defect]
    assert ALL_DEFECTS[defect] in [
        *expected["expected_failing_rules"],
        *expected["expected_manual_rules"],
    ]
    kbis_path = next(d["path"] for d in manifest["documents"] if d["type"] == "kbis")
    kbis = read_kbis(files[kbis_path])  # text layer: the facts as printed
    same = expected["variant"]["holder_is_legal_representative"]
    declared_holder = declared_people(manifest)["legal_representative" if same else "holder"]
    mrz = codec.parse_mrz(expected["holder"]["document"]["mrz"], today=TODAY)
    legal_representative = manifest["legal_representative"]

    if defect == "old_kbis":
        assert kbis.date is not None
        assert kbis.date < TODAY - relativedelta(months=3)
    elif defect == "siren_mismatch":
        declared = manifest["organisation"]["siren"]
        assert kbis.siren != declared
        assert siren_is_valid(declared)
        assert kbis.siren
        assert siren_is_valid(kbis.siren)
    elif defect == "kbis_manager_missing":
        assert kbis.managers
        assert not any(
            compact(m.surname) == compact(legal_representative["last_name"])
            and first_name_among(legal_representative["first_name"], m.given_names)
            for m in kbis.managers
        )
    elif defect == "expired_id":
        assert mrz.valid
        assert mrz.expiry_date is not None
        assert mrz.expiry_date < TODAY
    elif defect == "name_mismatch":
        assert mrz.valid
        assert compact(mrz.surname) != compact(declared_holder["last_name"]) or (
            not first_name_among(declared_holder["first_name"], mrz.given_names)
        )
    elif defect == "visa":
        assert mrz.format == codec.MRVA
        assert mrz.valid
        assert mrz.expiry_date is not None
        assert mrz.expiry_date > TODAY
        assert compact(mrz.surname) == compact(declared_holder["last_name"])
    elif defect == "unsigned_mandate":
        from ra_workbench.extraction.mandate import read_mandate

        mandate = next(d["path"] for d in manifest["documents"] if d["type"] == "mandate")
        reading = read_mandate(files[mandate])
        assert not reading.has_signature_field
        assert reading.date is not None
        assert reading.date > TODAY - relativedelta(months=3)
        assert expected["expected_failing_rules"] == []
    elif defect == "oversize":
        sizes = sorted(len(data) for data in files.values())
        assert sizes[-1] > 3 * 1024 * 1024
        assert sizes[-2] <= MAX_FILE_BYTES
    else:  # pragma: no cover - a new content defect needs its own assertion here
        pytest.fail(f"no assertion for {defect}")
    # Everything else of a content defect stays clean: files, fields, Kbis basics.
    if defect != "oversize":
        assert all(len(data) <= MAX_FILE_BYTES for data in files.values())
    assert json.dumps(manifest, ensure_ascii=False).isascii()
    if defect not in ("siren_mismatch", "old_kbis"):
        assert kbis.siren == manifest["organisation"]["siren"]
        assert kbis.date is not None
        assert kbis.date >= TODAY - relativedelta(months=3)


def test_unknown_or_impossible_defects_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown defects"):
        generate_dossier(tmp_path, seed=1, order_number="1", today=TODAY, defects=("typo",))
    with pytest.raises(ValueError, match="light packages"):
        generate_dossier(
            tmp_path, seed=1, order_number="1", today=TODAY, defects=("old_kbis",), light=True
        )
    with pytest.raises(ValueError, match="name_mismatch"):
        generate_dossier(
            tmp_path, seed=1, order_number="1", today=TODAY, defects=("name_mismatch",),
            variant={"holder_is_legal_representative": True}, light=False,
        )  # fmt: skip
    with pytest.raises(ValueError, match="unknown variant"):
        generate_dossier(tmp_path, seed=1, order_number="1", today=TODAY, variant={"x": 1})


# -- refused packages ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", BROKEN_KINDS)
def test_each_broken_package_is_refused_by_the_ingestion(
    broken: dict[str, Path], kind: str
) -> None:
    with pytest.raises(PackageRefused):
        read_package_path(broken[kind])
    expected = read_expected(broken[kind])
    assert (expected["refused"], expected["broken_kind"]) == (True, kind)


@pytest.mark.parametrize(
    "kind", ["bad_json", "unknown_format", "missing_keys", "path_traversal", "missing_file",
             "two_holders"],
)  # fmt: skip
def test_each_broken_directory_is_broken_the_intended_way(
    broken: dict[str, Path], kind: str
) -> None:
    package = broken[kind]
    text = (package / "dossier.json").read_text(encoding="utf-8")
    if kind == "bad_json":
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)
        return
    manifest = json.loads(text)
    paths = [d["path"] for d in manifest["documents"]]
    if kind == "unknown_format":
        assert manifest["format"] == "portail-commande/2"
    elif kind == "missing_keys":
        assert not {"organisation", "payment", "holder"} & manifest.keys()
    elif kind == "path_traversal":
        escaping = [p for p in paths if ".." in Path(p).parts]
        assert len(escaping) == 1
        assert (package / escaping[0]).resolve().is_file()  # it leads somewhere real
    elif kind == "missing_file":
        assert [p for p in paths if not (package / p).exists()] != []
    elif kind == "two_holders":
        assert isinstance(manifest["holder"], list)
        assert len(manifest["holder"]) == 2
    # Undo the break: the rest of the package is accepted.
    if kind != "missing_keys":
        repaired = _repair(manifest, kind, package)
        read_package_bytes(_zip(repaired), "repaired.zip")


def _repair(manifest: dict[str, Any], kind: str, package: Path) -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in package.iterdir() if p.name != "dossier.json"}
    if kind == "unknown_format":
        manifest["format"] = FORMAT
    elif kind == "two_holders":
        manifest["holder"] = manifest["holder"][0]
    else:
        manifest["documents"] = [d for d in manifest["documents"] if d["path"] in files]
    return {"dossier.json": json.dumps(manifest).encode(), **files}


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["zip_slip", "zip_absolute", "zip_symlink", "zip_bomb"])
def test_each_hostile_zip_is_hostile_in_one_entry_and_valid_without_it(
    broken: dict[str, Path], kind: str
) -> None:
    package = broken[kind]
    with zipfile.ZipFile(package) as archive:
        infos = archive.infolist()
        hostile = [
            info
            for info in infos
            if info.filename.startswith(("/", "../"))
            or stat.S_ISLNK(info.external_attr >> 16)
            or info.file_size > Limits().max_uncompressed_bytes
        ]
        assert len(hostile) == 1
        entry = hostile[0]
        if kind == "zip_slip":
            assert entry.filename == "../evil"
        elif kind == "zip_absolute":
            assert entry.filename == "/etc/x"
        elif kind == "zip_symlink":
            assert stat.S_ISLNK(entry.external_attr >> 16)
            assert archive.read(entry) == b"/etc/passwd"
        else:
            assert package.stat().st_size < 1_000_000  # tiny on disk, huge inflated
        rest = {i.filename: archive.read(i) for i in infos if i is not entry}
    manifest = json.loads(rest["dossier.json"])
    manifest["documents"] = [d for d in manifest["documents"] if d["path"] in rest]
    rest["dossier.json"] = json.dumps(manifest).encode()
    read_package_bytes(_zip(rest), "without-hostile-entry.zip")


# -- the command line ------------------------------------------------------------------------------


def test_make_dossiers_prints_one_line_per_package(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "make_dossiers.py"),
            "--out", str(tmp_path), "--count", "3", "--seed", "2", "--today", "2026-11-20",
            "--light", "--zip", "--broken", "--defect", "bad_mobile", "--defect", "dotted_name",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )  # fmt: skip
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3 + len(BROKEN_KINDS)
    assert all("bad_mobile+dotted_name" in line for line in lines[:3])
    assert all("refused" in line for line in lines[3:])
    assert len(list(tmp_path.glob("dossier-*.zip"))) == 3
