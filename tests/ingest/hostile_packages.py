"""A hostile corpus for the ingestion: packages that must be refused (every rule of
ra_workbench/ingest/schema/dossier.schema.json, every way a zip can lie or break, every way a
package directory can point elsewhere) and odd-but-valid ones that must be accepted, plus
hostile documents inside otherwise valid packages (accepted: their content is the checks'
business). Made on the fly from one light synthetic dossier; nothing binary in the repo.

Each case says what must come out and what the refusal must name: the JSON pointer of the
field (`/holder/civility`), the zip entry, or dossier.json itself.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import io
import json
import os
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ra_workbench.ingest.package import MAX_MANIFEST_BYTES
from ra_workbench.synth.packages import generate_dossier, minimal_pdf, pdf_from_objects, zip_info
from tests.extraction import hostile as documents

TODAY = dt.date(2026, 11, 20)
BASE_ORDER = 880000
# The base dossier: a mandataire (for /mandataire cases), a holder distinct from the legal
# representative (for /holder cases), paid by card (a transaction id to corrupt).
BASE_VARIANT = {
    "has_mandataire": True,
    "holder_is_legal_representative": False,
    "payment_method": "card",
    "identity_format": "jpeg",
}
KBIS, HOLDER_RECTO = 0, 1  # indexes in the base manifest's documents
BOMB_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class HostilePackage:
    name: str
    path: Path  # a .zip file or a package directory
    expected: str  # refused | accepted
    mention: str  # what the refusal must name (field pointer, zip entry, dossier.json…)
    why: str

    @property
    def is_zip(self) -> bool:
        return self.path.suffix == ".zip"


@dataclass(frozen=True)
class HostileDocument:
    name: str
    path: Path  # a .zip package whose holder's recto (or Kbis) is the hostile file
    document: str  # the document's path inside the package
    data: bytes
    why: str


# -- the base --------------------------------------------------------------------------------


@dataclass
class Base:
    manifest: dict[str, Any]
    files: dict[str, bytes]  # path -> bytes, dossier.json excluded

    def fresh(self, order: int) -> tuple[dict[str, Any], dict[str, bytes]]:
        manifest = copy.deepcopy(self.manifest)
        manifest["order_number"] = str(order)
        return manifest, dict(self.files)

    def doc(self, index: int) -> str:
        return _doc(self.manifest, index)


def make_base(out_dir: Path) -> Base:
    root = generate_dossier(
        out_dir / "base", seed=7, order_number=str(BASE_ORDER), today=TODAY, light=True,
        variant=BASE_VARIANT,
    )  # fmt: skip
    manifest = json.loads((root / "dossier.json").read_text(encoding="utf-8"))
    files = {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.name != "dossier.json"}
    return Base(manifest, files)


def manifest_bytes(manifest: Any) -> bytes:
    # ensure_ascii: lone surrogates and NUL travel as \ud800 / \u0000 escapes, as JSON allows.
    return json.dumps(manifest, indent=1).encode("ascii")


def zip_bytes(
    entries: list[tuple[str, bytes]] | dict[str, bytes], method: int = zipfile.ZIP_DEFLATED
) -> bytes:
    items = entries.items() if isinstance(entries, dict) else entries
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # duplicate names are the point of some cases
        for name, data in items:
            archive.writestr(zip_info(name, method=method), data)
    return buffer.getvalue()


def package_zip(manifest: Any, files: dict[str, bytes], **kwargs: Any) -> bytes:
    raw = manifest if isinstance(manifest, bytes) else manifest_bytes(manifest)
    return zip_bytes({"dossier.json": raw, **files}, **kwargs)


# -- patching zip headers (central directory and local headers) -------------------------------


def _central_entries(data: bytes) -> list[int]:
    """Offsets of the central directory headers (EOCD without comment at the very end)."""
    eocd = len(data) - 22
    assert data[eocd : eocd + 4] == b"PK\x05\x06"
    count = struct.unpack_from("<H", data, eocd + 10)[0]
    offset = struct.unpack_from("<I", data, eocd + 16)[0]
    result = []
    for _ in range(count):
        assert data[offset : offset + 4] == b"PK\x01\x02"
        result.append(offset)
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, offset + 28)
        offset += 46 + name_len + extra_len + comment_len
    return result


def _entry_offsets(data: bytes, name: str) -> tuple[int, int]:
    for central in _central_entries(data):
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_len] == name.encode():
            local = struct.unpack_from("<I", data, central + 42)[0]
            return central, local
    raise KeyError(name)


def patch_entry(
    data: bytes,
    name: str,
    *,
    flags_or: int = 0,
    method: int | None = None,
    crc_xor: int = 0,
    size: int | None = None,
    central_only: bool = False,
) -> bytes:
    """The zip with the headers of entry `name` changed (both copies unless central_only)."""
    out = bytearray(data)
    central, local = _entry_offsets(data, name)
    # Field offsets (flags, method, CRC-32, uncompressed size) in each kind of header.
    headers = [(central, (8, 10, 16, 24))]
    if not central_only:
        headers.append((local, (6, 8, 14, 22)))
    for header, (flags_at, method_at, crc_at, size_at) in headers:
        flags = struct.unpack_from("<H", out, header + flags_at)[0]
        struct.pack_into("<H", out, header + flags_at, flags | flags_or)
        if method is not None:
            struct.pack_into("<H", out, header + method_at, method)
        crc = struct.unpack_from("<I", out, header + crc_at)[0]
        struct.pack_into("<I", out, header + crc_at, crc ^ crc_xor)
        if size is not None:
            struct.pack_into("<I", out, header + size_at, size)
    return bytes(out)


def _data_span(data: bytes, name: str) -> tuple[int, int]:
    """Where entry `name`'s compressed bytes lie."""
    central, local = _entry_offsets(data, name)
    compressed = struct.unpack_from("<I", data, central + 20)[0]
    name_len, extra_len = struct.unpack_from("<HH", data, local + 26)
    start = local + 30 + name_len + extra_len
    return start, start + compressed


def corrupt_data(data: bytes, name: str) -> bytes:
    start, end = _data_span(data, name)
    middle = (start + end) // 2
    out = bytearray(data)
    out[middle : middle + 16] = b"\xff" * min(16, end - middle)
    return bytes(out)


def rename_in_local_header(data: bytes, name: str, other: str) -> bytes:
    assert len(other) == len(name)
    _central, local = _entry_offsets(data, name)
    out = bytearray(data)
    out[local + 30 : local + 30 + len(name)] = other.encode()
    return bytes(out)


def invalid_utf8_name(data: bytes, name: str) -> bytes:
    """Entry `name` renamed to bytes that are not UTF-8, with the UTF-8 flag set."""
    central, local = _entry_offsets(data, name)
    out = bytearray(data)
    bad = b"\xff" + name.encode()[1:]
    for header, flag_off, name_off in ((central, 8, 46), (local, 6, 30)):
        flags = struct.unpack_from("<H", out, header + flag_off)[0]
        struct.pack_into("<H", out, header + flag_off, flags | 0x800)
        out[header + name_off : header + name_off + len(bad)] = bad
    return bytes(out)


def lying_bomb(manifest: dict[str, Any], files: dict[str, bytes], entry: str) -> bytes:
    """`entry` inflates to 100 MiB of zeros but its headers say 1,000 bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zip_info("dossier.json"), manifest_bytes(manifest))
        for name, data in files.items():
            if name == entry:
                with archive.open(zip_info(name), "w", force_zip64=True) as handle:
                    block = bytes(1 << 20)
                    for _ in range(BOMB_BYTES >> 20):
                        handle.write(block)
            else:
                archive.writestr(zip_info(name), data)
    data = buffer.getvalue()
    return patch_entry(data, entry, size=1000, central_only=True)


def overlapping(manifest: dict[str, Any], files: dict[str, bytes], entry: str) -> bytes:
    """A second central directory entry pointing at `entry`'s local header under another
    name (the overlapping-files bomb's trick)."""
    data = package_zip(manifest, files)
    eocd = len(data) - 22
    cd_offset = struct.unpack_from("<I", data, eocd + 16)[0]
    central, _local = _entry_offsets(data, entry)
    name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, central + 28)
    record = bytearray(data[central : central + 46 + name_len + extra_len + comment_len])
    alias = ("z" * name_len).encode()
    record[46 : 46 + name_len] = alias
    cd = data[cd_offset:eocd] + bytes(record)
    end = bytearray(data[eocd:])
    count = struct.unpack_from("<H", end, 10)[0] + 1
    struct.pack_into("<HH", end, 8, count, count)
    struct.pack_into("<I", end, 12, len(cd))
    return data[:cd_offset] + cd + bytes(end)


# -- the cases -------------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _parent(manifest: dict[str, Any], path: str) -> tuple[Any, Any]:
    """The container the JSON pointer `path` ends in, and its last key."""
    keys = [int(k) if k.isdigit() else k for k in path.strip("/").split("/")]
    target: Any = manifest
    for key in keys[:-1]:
        target = target[key]
    return target, keys[-1]


def _set(path: str, value: Any) -> Mutation:
    def mutate(manifest: dict[str, Any]) -> None:
        target, key = _parent(manifest, path)
        target[key] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(manifest: dict[str, Any]) -> None:
        target, key = _parent(manifest, path)
        del target[key]

    return mutate


def _nested(depth: int) -> Any:
    value: Any = "fond"
    for _ in range(depth):
        value = {"a": value}
    return value


ARABIC_INDIC = "٢٨٨١١٢"  # 288112 in Arabic-Indic digits
FULLWIDTH = "２８８１１２"

# (name, field, value): the field set to a value the schema refuses; the refusal names it.
SET_CASES: list[tuple[str, str, Any]] = [
    ("price-abc", "/offer/price_ttc", "abc"),
    ("price-nan-text", "/offer/price_ttc", "NaN"),
    ("amount-infinity-text", "/payment/amount_ttc", "Infinity"),
    ("amount-json-number", "/payment/amount_ttc", 228.0),
    ("amount-negative", "/payment/amount_ttc", "-228.00"),
    ("amount-exponent", "/payment/amount_ttc", "2.28e2"),
    ("amount-three-decimals", "/payment/amount_ttc", "228.005"),
    ("price-over-numeric-10-2", "/offer/price_ttc", "123456789.00"),
    ("amount-arabic-digits", "/payment/amount_ttc", "٢٢٨.٠٠"),
    ("transaction-id-object", "/payment/transaction_id", {"id": 1}),
    ("transaction-id-101", "/payment/transaction_id", "P" * 101),
    ("revision-10-pow-30", "/revision", 10**30),
    ("revision-zero", "/revision", 0),
    ("revision-text", "/revision", "1"),
    ("revision-float", "/revision", 1.0),
    ("revision-boolean", "/revision", True),
    ("submitted-year-9999", "/submitted_at", "9999-12-31T23:59:59-01:00"),
    ("submitted-year-1900", "/submitted_at", "1900-01-01T00:00:00+01:00"),
    ("submitted-no-offset", "/submitted_at", "2026-11-20T10:15:03"),
    ("submitted-february-30", "/submitted_at", "2026-02-30T10:15:03+01:00"),
    ("submitted-number", "/submitted_at", 1763630103),
    ("civility-mademoiselle", "/holder/civility", "MADEMOISELLE"),
    ("civility-lower-case", "/legal_representative/civility", "m"),
    ("same-as-text-false", "/holder/same_as_legal_representative", "false"),
    ("mandate-text-false", "/mandataire/has_valid_mandate", "false"),
    ("manual-entry-number", "/organisation/manual_entry", 1),
    ("attested-text", "/documents_valid_attested", "oui"),
    ("address-as-text", "/holder/address", "4 AVENUE FOCH 69006 LYON"),
    ("address-line-number", "/organisation/address/line1", 12),
    ("address-unknown-key", "/organisation/address/floor", "2"),
    ("order-arabic-indic", "/order_number", ARABIC_INDIC),
    ("order-fullwidth", "/order_number", FULLWIDTH),
    ("order-integer", "/order_number", 288112),
    ("order-25-digits", "/order_number", "1" * 25),
    ("order-empty", "/order_number", ""),
    ("order-object", "/order_number", {"n": "288112"}),
    ("siren-over-column", "/organisation/siren", "7" * 40),
    ("siren-arabic-indic", "/organisation/siren", "٧٣٢٨٢٩٣٢٠"),
    ("mobile-arabic-indic", "/holder/mobile", "٠٦١٢٣٤٥٦٧٨"),
    ("mobile-over-column", "/holder/mobile", "0" * 41),
    ("delivery-drone", "/delivery_mode", "drone"),
    ("payment-cash", "/payment/method", "cash"),
    ("channel-pigeon", "/holder/activation_code_channel", "pigeon"),
    ("dossier-type-paper", "/dossier_type", "paper"),
    ("format-object", "/format", {"v": 1}),
    ("format-version-2", "/format", "portail-commande/2"),
    ("document-type-selfie", f"/documents/{KBIS}/type", "selfie"),
    ("identity-person-friend", f"/documents/{HOLDER_RECTO}/person", "ami"),
    ("documents-object", "/documents", {"path": "x.pdf"}),
    ("documents-thousand", "/documents", [{"path": "x.pdf", "type": "kbis"}] * 1000),
    ("documents-101", "/documents", [{"path": f"{i}.pdf", "type": "kbis"} for i in range(101)]),
    ("first-name-201", "/holder/first_name", "A" * 201),
    ("email-321", "/legal_representative/email", "a" * 310 + "@exemple.fr"),
    ("offer-code-65", "/offer/code", "C" * 65),
    ("delivery-info-3000", "/delivery_info", "x" * 3000),
    ("unknown-top-level-key", "/commentaire", "bonjour"),
    ("legal-representative-null", "/legal_representative", None),
    ("mandataire-text", "/mandataire", "AURELIE RICHARD"),
    ("nul-in-first-name", "/legal_representative/first_name", "PAUL\x00"),
    ("nul-in-delivery-info", "/delivery_info", "Accueil\x00"),
    ("lone-surrogate-last-name", "/holder/last_name", "DURAND\ud800"),
    ("bell-in-offer-label", "/offer/label", "Certificat\x07"),
    ("newline-in-siren", "/organisation/siren", "732829320\n"),
    ("c1-control-in-city", "/holder/address/city", "LYON\x85"),
    ("bidi-override-in-path", f"/documents/{KBIS}/path", "kbis\u202efdp.exe"),
    ("path-traversal", f"/documents/{KBIS}/path", "../../etc/passwd"),
    ("path-absolute", f"/documents/{KBIS}/path", "/etc/passwd"),
    ("path-backslash", f"/documents/{KBIS}/path", "..\\kbis.pdf"),
    ("path-dossier-json", f"/documents/{KBIS}/path", "dossier.json"),
    ("path-no-such-file", f"/documents/{KBIS}/path", "absent.pdf"),
    ("path-empty", f"/documents/{KBIS}/path", ""),
]  # fmt: skip


def _path_twice(manifest: dict[str, Any]) -> None:
    manifest["documents"][HOLDER_RECTO + 1]["path"] = manifest["documents"][HOLDER_RECTO]["path"]


def _two_holders(manifest: dict[str, Any]) -> None:
    manifest["holder"] = [manifest["holder"], manifest["holder"]]


def _holders_key(manifest: dict[str, Any]) -> None:
    manifest["holders"] = [manifest["holder"]]


# (name, mutation, mention): refused for breaking the schema (or what it cannot say).
SCHEMA_CASES: list[tuple[str, Mutation, str]] = [
    *((name, _set(field, value), field) for name, field, value in SET_CASES),
    ("identity-without-side", _delete(f"/documents/{HOLDER_RECTO}/side"),
     f"/documents/{HOLDER_RECTO}/side"),
    ("missing-order-number", _delete("/order_number"), "/order_number"),
    ("missing-holder-person", _delete("/holder/last_name"), "/holder/last_name"),
    ("holder-list", _two_holders, "porteur"),
    ("holders-key", _holders_key, "porteur"),
    ("lone-surrogate-in-key", _set("/organisation/\udc00", "x"), "/organisation/"),
    ("path-cited-twice", _path_twice, f"/documents/{HOLDER_RECTO + 1}/path"),
]  # fmt: skip


def _replace(
    old: Callable[[dict[str, Any]], str], new: Callable[[dict[str, Any]], str]
) -> Callable[[dict[str, Any]], bytes]:
    """A builder writing the manifest with one piece of its JSON text replaced."""

    def build(manifest: dict[str, Any]) -> bytes:
        text = manifest_bytes(manifest).decode()
        assert old(manifest) in text, old(manifest)
        return text.replace(old(manifest), new(manifest), 1).encode()

    return build


def _price(m: dict[str, Any]) -> str:
    return f'"price_ttc": "{m["offer"]["price_ttc"]}"'


def _amount(m: dict[str, Any]) -> str:
    return f'"amount_ttc": "{m["payment"]["amount_ttc"]}"'


def _revision(m: dict[str, Any]) -> str:
    return '"revision": 1'


def _padded(manifest: dict[str, Any]) -> bytes:
    return manifest_bytes(manifest)[:-1] + b" " * MAX_MANIFEST_BYTES + b"}"


# (name, build(manifest) -> dossier.json bytes, mention): refused before any schema rule.
RAW_JSON_CASES: list[tuple[str, Callable[[dict[str, Any]], bytes], str]] = [
    ("json-100000-deep", lambda m: b"[" * 100_000 + b"]" * 100_000, "dossier.json"),
    ("json-open-brackets-only", lambda m: b"{" * 500_000, "dossier.json"),
    ("json-nested-inside-field", _replace(_revision, lambda m: '"revision": ' + '{"a":' * 5000
     + "1" + "}" * 5000), "dossier.json"),
    ("json-nested-17-levels", lambda m: manifest_bytes(m | {"x": _nested(17)}), "dossier.json"),
    ("json-nan-literal", _replace(_price, lambda m: '"price_ttc": NaN'), "NaN"),
    ("json-infinity-literal", _replace(_amount, lambda m: '"amount_ttc": Infinity'), "Infinity"),
    ("json-minus-infinity", _replace(_amount, lambda m: '"amount_ttc": -Infinity'), "-Infinity"),
    ("json-float-overflow", _replace(_revision, lambda m: '"revision": 1e999'), "dossier.json"),
    ("json-5000-digit-integer", _replace(_revision, lambda m: '"revision": ' + "9" * 5000),
     "dossier.json"),
    ("json-duplicate-key", _replace(_revision, lambda m: '"revision": 1, "revision": 2'),
     "revision"),
    ("json-invalid-utf8", lambda m: manifest_bytes(m).replace(b'"format"', b'"form\xe9t"'),
     "UTF-8"),
    ("json-utf16", lambda m: manifest_bytes(m).decode().encode("utf-16"), "UTF-8"),
    ("json-cut-short", lambda m: manifest_bytes(m)[:200], "dossier.json"),
    ("json-trailing-garbage", lambda m: manifest_bytes(m) + b"\n{}", "dossier.json"),
    ("json-empty", lambda m: b"", "dossier.json"),
    ("json-top-level-list", lambda m: b"[]", "dossier.json"),
    ("json-over-the-size-cap", _padded, "dossier.json"),
]  # fmt: skip

Files = dict[str, bytes]
ZipBuilder = Callable[[dict[str, Any], Files], bytes]


def _doc(manifest: dict[str, Any], index: int) -> str:
    path: str = manifest["documents"][index]["path"]
    return path


def _recto(manifest: dict[str, Any]) -> str:
    return _doc(manifest, HOLDER_RECTO)


def _with_entries(*extra: tuple[str, bytes]) -> ZipBuilder:
    def build(manifest: dict[str, Any], files: Files) -> bytes:
        return zip_bytes([("dossier.json", manifest_bytes(manifest)), *files.items(), *extra])

    return build


def _many_entries(manifest: dict[str, Any], files: Files) -> bytes:
    return package_zip(manifest, files | {f"extra-{i:03d}.txt": b"x" for i in range(201)})


def _symlink_entry(manifest: dict[str, Any], files: Files) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zip_info("dossier.json"), manifest_bytes(manifest))
        for name, data in files.items():
            archive.writestr(zip_info(name), data)
        link = zip_info("lien.jpg", mode=stat.S_IFLNK | 0o777, method=zipfile.ZIP_STORED)
        archive.writestr(link, b"/etc/passwd")
    return buffer.getvalue()


def _in_two_folders(manifest: dict[str, Any], files: Files) -> bytes:
    raw = manifest_bytes(manifest)
    entries = {f"a/{k}": v for k, v in files.items()} | {"a/dossier.json": raw}
    return zip_bytes(entries | {"b/dossier.json": raw})


def _patched(**change: Any) -> ZipBuilder:
    """The package zipped, then the holder's recto's headers changed."""

    def build(manifest: dict[str, Any], files: Files) -> bytes:
        return patch_entry(package_zip(manifest, files), _recto(manifest), **change)

    return build


# (name, build(manifest, files) -> zip bytes, mention; {recto} and {kbis} are the entries).
ZIP_CASES: list[tuple[str, ZipBuilder, str]] = [
    ("zip-not-a-zip", lambda m, f: documents.blank_pdf(1), "archive"),
    ("zip-empty-file", lambda m, f: b"", "archive"),
    ("zip-cut-in-half", lambda m, f: (d := package_zip(m, f))[: len(d) // 2], "archive"),
    ("zip-last-bytes-missing", lambda m, f: package_zip(m, f)[:-10], "archive"),
    ("zip-bad-crc", _patched(crc_xor=1), "{recto}"),
    ("zip-bad-crc-stored", lambda m, f: patch_entry(package_zip(m, f, method=zipfile.ZIP_STORED),
     _doc(m, KBIS), crc_xor=0x100), "{kbis}"),
    ("zip-corrupt-deflate", lambda m, f: corrupt_data(package_zip(m, f), _recto(m)), "{recto}"),
    ("zip-corrupt-manifest-deflate", lambda m, f: corrupt_data(package_zip(m, f),
     "dossier.json"), "dossier.json"),
    ("zip-encrypted-entry", _patched(flags_or=1), "{recto}"),
    ("zip-method-99", _patched(method=99), "{recto}"),
    ("zip-method-lzma", lambda m, f: package_zip(m, f, method=zipfile.ZIP_LZMA), "dossier.json"),
    ("zip-method-bzip2", lambda m, f: package_zip(m, f, method=zipfile.ZIP_BZIP2),
     "dossier.json"),
    ("zip-size-smaller-than-data", _patched(size=100), "{recto}"),
    ("zip-size-larger-than-data", lambda m, f: patch_entry(package_zip(m, f), _doc(m, KBIS),
     size=len(f[_doc(m, KBIS)]) + 5000), "{kbis}"),
    ("zip-size-says-4-gib", _patched(size=0xFFFFFFF0), "volumineuse"),
    ("zip-lying-bomb", lambda m, f: lying_bomb(m, f, _recto(m)), "{recto}"),
    ("zip-local-name-differs", lambda m, f: rename_in_local_header(package_zip(m, f), _recto(m),
     "x" * len(_recto(m))), "{recto}"),
    ("zip-overlapping-entries", lambda m, f: overlapping(m, f, _recto(m)), "zzz"),
    ("zip-name-not-utf8", lambda m, f: invalid_utf8_name(package_zip(m, f), _recto(m)),
     "archive"),
    ("zip-201-entries", _many_entries, "entrées"),
    ("zip-duplicate-manifest", _with_entries(("dossier.json", b"{}")), "dossier.json"),
    ("zip-duplicate-document", lambda m, f: zip_bytes(
        [("dossier.json", manifest_bytes(m)), *f.items(), (_recto(m), b"autre")]), "{recto}"),
    ("zip-slip", _with_entries(("../evil", b"x")), "../evil"),
    ("zip-absolute", _with_entries(("/etc/x", b"x")), "/etc/x"),
    ("zip-drive-letter", _with_entries(("C:/x", b"x")), "C:/x"),
    ("zip-backslash", _with_entries(("..\\evil", b"x")), "evil"),
    ("zip-control-char-name", _with_entries(("bell\x07.txt", b"x")), "bell"),
    ("zip-symlink", _symlink_entry, "lien.jpg"),
    ("zip-no-manifest", lambda m, f: zip_bytes(f), "dossier.json"),
    ("zip-two-manifest-folders", _in_two_folders, "dossier.json"),
    ("zip-manifest-over-the-size-cap", lambda m, f: package_zip(_padded(m), f), "dossier.json"),
]  # fmt: skip


def _manifest_case(mutate: Mutation) -> ZipBuilder:
    def build(manifest: dict[str, Any], files: Files) -> bytes:
        mutate(manifest)
        return package_zip(manifest, files)

    return build


def _in_folder(manifest: dict[str, Any], files: Files) -> bytes:
    entries = {f"dossier-export/{k}": v for k, v in files.items()}
    return zip_bytes({"dossier-export/dossier.json": manifest_bytes(manifest)} | entries)


def _accents(manifest: dict[str, Any]) -> None:
    manifest["holder"]["last_name"] = "LEFÈVRE"
    manifest["organisation"]["name"] = "SOCIÉTÉ GÉNÉRALE D'INGÉNIERIE"


def _holder_is_legal_representative(manifest: dict[str, Any]) -> None:
    manifest["holder"] = {"same_as_legal_representative": True, "activation_code_channel": "sms"}
    manifest["documents"] = [d for d in manifest["documents"] if d.get("person") != "holder"]


# Odd but well formed: FORMAT.md says accept (the checks flag what needs flagging).
ACCEPTED_CASES: list[tuple[str, ZipBuilder]] = [
    ("ok-byte-order-mark", lambda m, f: package_zip(b"\xef\xbb\xbf" + manifest_bytes(m), f)),
    ("ok-package-in-a-folder", _in_folder),
    ("ok-stored-not-deflated", lambda m, f: package_zip(m, f, method=zipfile.ZIP_STORED)),
    ("ok-unreferenced-extra-file", lambda m, f: package_zip(m, f | {"notes.txt": b"x"})),
    ("ok-accented-fields", _manifest_case(_accents)),
    ("ok-multiline-delivery-info", _manifest_case(_set("/delivery_info",
     "Accueil au 2e etage\r\nSonner deux fois\tmerci"))),
    ("ok-siren-with-spaces", _manifest_case(_set("/organisation/siren", "732 829 320"))),
    ("ok-siren-eight-digits", _manifest_case(_set("/organisation/siren", "73282932"))),
    ("ok-mobile-with-dots", _manifest_case(_set("/holder/mobile", "+33 (0)6.12.34.56.78"))),
    ("ok-bad-email", _manifest_case(_set("/holder/email", "jeanne durand@@exemple"))),
    ("ok-empty-amount", _manifest_case(_set("/offer/price_ttc", ""))),
    ("ok-revision-9999", _manifest_case(_set("/revision", 9999))),
    ("ok-utc-z-offset", _manifest_case(_set("/submitted_at", "2026-11-20T09:15:03Z"))),
    ("ok-no-mandataire", _manifest_case(_delete("/mandataire"))),
    ("ok-holder-is-legal-representative", _manifest_case(_holder_is_legal_representative)),
    ("ok-no-documents", _manifest_case(_set("/documents", []))),
]  # fmt: skip


# -- package directories ----------------------------------------------------------------------


def _write_directory(root: Path, manifest: dict[str, Any], files: Files) -> Path:
    root.mkdir(parents=True)
    (root / "dossier.json").write_bytes(manifest_bytes(manifest))
    for name, data in files.items():
        (root / name).write_bytes(data)
    return root


def _manifest_symlink(root: Path) -> None:
    (root / "dossier.json").rename(root / "real.json")
    (root / "dossier.json").symlink_to("real.json")


def _recto_replaced(make: Callable[[Path], None]) -> Callable[[Path], None]:
    """A change putting what `make` makes where the holder's recto file was."""

    def change(root: Path) -> None:
        recto = root / _recto(json.loads((root / "dossier.json").read_text()))
        recto.unlink()
        make(recto)

    return change


def _rewritten(mutate: Mutation) -> Callable[[Path], None]:
    """A change rewriting the directory's dossier.json."""

    def change(root: Path) -> None:
        manifest = json.loads((root / "dossier.json").read_text())
        mutate(manifest)
        (root / "dossier.json").write_bytes(manifest_bytes(manifest))

    return change


def _manifest_over_the_size_cap(root: Path) -> None:
    (root / "dossier.json").write_bytes(_padded(json.loads((root / "dossier.json").read_text())))


def _manifest_is_a_folder(root: Path) -> None:
    (root / "dossier.json").unlink()
    (root / "dossier.json").mkdir()


# (name, change(root), mention, why): directories, read by the CLI and the inbox only.
DIRECTORY_CASES: list[tuple[str, Callable[[Path], None], str, str]] = [
    ("dir-manifest-symlink", _manifest_symlink, "dossier.json", "dossier.json is a link"),
    ("dir-document-symlink", _recto_replaced(lambda recto: recto.symlink_to(
        recto.parent.parent / "secret-outside.txt")), f"/documents/{HOLDER_RECTO}/path",
     "the holder's recto links to a file outside the package"),
    ("dir-document-is-a-folder", _recto_replaced(Path.mkdir), f"/documents/{HOLDER_RECTO}/path",
     "the holder's recto is a directory"),
    ("dir-document-fifo", _recto_replaced(os.mkfifo), f"/documents/{HOLDER_RECTO}/path",
     "the holder's recto is a named pipe (reading it would block)"),
    ("dir-name-too-long", _rewritten(_set(f"/documents/{HOLDER_RECTO}/path",
     "n" * 280 + ".jpg")), f"/documents/{HOLDER_RECTO}/path",
     "a document name the file system cannot hold (schema 300, disk 255)"),
    ("dir-manifest-over-the-size-cap", _manifest_over_the_size_cap, "dossier.json",
     "dossier.json over the size cap"),
    ("dir-manifest-is-a-folder", _manifest_is_a_folder, "dossier.json",
     "dossier.json is a directory"),
    ("dir-path-escapes", _rewritten(_set(f"/documents/{KBIS}/path", "../secret-outside.txt")),
     f"/documents/{KBIS}/path",
     "documents[].path leads to a real file outside the package"),
]  # fmt: skip

REFUSED_ZIP_NAMES = (
    [name for name, _, _ in SCHEMA_CASES]
    + [name for name, _, _ in RAW_JSON_CASES]
    + [name for name, _, _ in ZIP_CASES]
)
ACCEPTED_ZIP_NAMES = [name for name, _ in ACCEPTED_CASES]
DIRECTORY_NAMES = [name for name, _, _, _ in DIRECTORY_CASES]
ALL_NAMES = REFUSED_ZIP_NAMES + ACCEPTED_ZIP_NAMES + DIRECTORY_NAMES


def write_hostile_packages(out_dir: Path) -> dict[str, HostilePackage]:
    """Every hostile package of the corpus, written under `out_dir`, by name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = make_base(out_dir)
    (out_dir / "secret-outside.txt").write_text("hors du paquet\n")
    orders = iter(range(BASE_ORDER + 1, BASE_ORDER + 10_000))
    packages: dict[str, HostilePackage] = {}

    def write_zip(name: str, data: bytes, expected: str, mention: str, why: str) -> None:
        path = out_dir / f"{name}.zip"
        path.write_bytes(data)
        packages[name] = HostilePackage(name, path, expected, mention, why)

    for name, mutate, mention in SCHEMA_CASES:
        manifest, files = base.fresh(next(orders))
        mutate(manifest)
        write_zip(name, package_zip(manifest, files), "refused", mention, f"schema: {mention}")
    for name, build, mention in RAW_JSON_CASES:
        manifest, files = base.fresh(next(orders))
        write_zip(name, package_zip(build(manifest), files), "refused", mention, "JSON")
    for name, build_zip, mention in ZIP_CASES:
        manifest, files = base.fresh(next(orders))
        entries = {"recto": _recto(manifest), "kbis": _doc(manifest, KBIS)}
        write_zip(name, build_zip(manifest, files), "refused", mention.format(**entries), "zip")
    for name, build_zip in ACCEPTED_CASES:
        manifest, files = base.fresh(next(orders))
        write_zip(name, build_zip(manifest, files), "accepted", "", "valid, if odd")
    for name, change, mention, why in DIRECTORY_CASES:
        manifest, files = base.fresh(next(orders))
        root = _write_directory(out_dir / name, manifest, files)
        change(root)
        packages[name] = HostilePackage(name, root, "refused", mention, why)
    return packages


# -- hostile documents ------------------------------------------------------------------------


def _png_with_chunk(kind: bytes, payload: bytes) -> bytes:
    png = documents.small_image("PNG")
    chunk = documents._png_chunk(kind, payload)
    return png[:33] + chunk + png[33:]  # right after IHDR


def _jpeg_huge_dimensions() -> bytes:
    jpeg = bytearray(documents.small_image("JPEG"))
    sof = jpeg.find(b"\xff\xc0")
    struct.pack_into(">HH", jpeg, sof + 5, 65500, 65500)
    return bytes(jpeg)


_CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
_ONE_PAGE_TREE = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
_PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"
# name -> (objects, why): PDFs written by hand, whose page tree lies or that carry what they
# should not.
HAND_WRITTEN_PDFS: dict[str, tuple[list[bytes], str]] = {
    "pdf-cyclic-page-tree": ([_CATALOG, b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"],
                             "a page tree containing itself"),
    "pdf-count-two-billion": ([_CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 2000000000 >>",
                               _PAGE], "/Count 2000000000 over one page"),
    "pdf-50000-deep-arrays": ([b"<< /Type /Catalog /Pages 2 0 R /Deep " + b"[" * 50_000
                               + b"]" * 50_000 + b" >>", _ONE_PAGE_TREE, _PAGE],
                              "arrays nested 50,000 deep"),
    "pdf-javascript": ([b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", _ONE_PAGE_TREE,
                        _PAGE, b"<< /S /JavaScript /JS (app.alert\\('bonjour'\\)) >>"],
                       "an /OpenAction JavaScript"),
}  # fmt: skip


def _nested_zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("zeros.bin", "w", force_zip64=True) as handle,
    ):
        block = bytes(1 << 20)
        for _ in range(64):
            handle.write(block)
    return buffer.getvalue()


def _small(fmt: str) -> Callable[[], bytes]:
    return lambda: documents.small_image(fmt)


def _pdf() -> bytes:
    return minimal_pdf(["EXTRAIT KBIS"])


def _giant_exif() -> bytes:
    jpeg = documents.small_image("JPEG")
    segment = b"Exif\x00\x00" + bytes(65526)  # the largest APP1 a JPEG can carry
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment + jpeg[2:]


# name -> (build, why): what stands as the holder's recto (or, for "pdf" names, the Kbis).
# Reuses tests/extraction/hostile.py and goes further.
HOSTILE_DOCUMENTS: dict[str, tuple[Callable[[], bytes], str]] = {
    "png-bomb-30000": (documents.png_bomb, "a 30000×30000 PNG: 900 Mpx once decoded"),
    "png-truncated": (lambda: documents.truncated(_small("PNG")()), "PNG cut in half"),
    "png-header-only": (lambda: _small("PNG")()[:8], "the PNG signature alone"),
    "png-bad-chunk-crc": (lambda: (p := _small("PNG")())[:29] + bytes(4) + p[33:],
                          "IHDR with a bad CRC"),
    "png-text-bomb": (lambda: _png_with_chunk(b"zTXt", b"k\x00\x00" + zlib.compress(
        bytes(20 << 20))), "a zTXt chunk inflating to 20 MiB"),
    "jpeg-truncated": (lambda: documents.truncated(_small("JPEG")()), "JPEG cut in half"),
    "jpeg-marker-only": (lambda: b"\xff\xd8\xff", "the JPEG start marker alone"),
    "jpeg-65500-square": (_jpeg_huge_dimensions, "a JPEG header claiming 65500×65500"),
    "jpeg-giant-exif": (_giant_exif, "a JPEG with a 64 KiB APP1 segment"),
    "empty-file": (lambda: b"", "zero bytes"),
    "one-byte": (lambda: b"\x00", "a single NUL byte"),
    "bare-zlib-stream": (lambda: zlib.compress(b""), "a zlib stream, not an image"),
    "random-bytes": (lambda: bytes((i * 7919) % 251 for i in range(20_000)), "noise"),
    "html-as-pdf": (lambda: documents.HTML_AS_PDF, "an HTML error page named .pdf"),
    "corrupt-pdf": (documents.corrupt_pdf, "PDF header then garbage"),
    "encrypted-pdf": (lambda: documents.encrypted_pdf(_pdf()), "PDF with a user password"),
    "pdf-500-pages": (lambda: documents.blank_pdf(500), "500 blank pages"),
    "pdf-header-only": (lambda: b"%PDF-1.7\n", "the PDF header alone"),
    "pdf-truncated": (lambda: documents.truncated(_pdf()), "PDF cut in half"),
    **{name: (functools.partial(pdf_from_objects, objects, header=b"%PDF-1.7\n"), why)
       for name, (objects, why) in HAND_WRITTEN_PDFS.items()},
    "pdf-zip-polyglot": (lambda: _pdf() + _nested_zip_bomb(), "a PDF followed by a zip bomb"),
    "gif-as-jpg": (lambda: b"GIF89a" + bytes(100), "a GIF named .jpg"),
    "tiff-as-jpg": (lambda: b"II*\x00" + bytes(100), "a TIFF named .jpg"),
    "zip-as-pdf": (lambda: zip_bytes({"a.txt": b"x"}), "a zip named .pdf"),
    "zip-bomb-as-png": (_nested_zip_bomb, "a 64 MiB zip bomb named .png"),
    "exe-as-pdf": (lambda: b"MZ\x90\x00" + bytes(200), "a Windows executable named .pdf"),
    "svg-script-as-png": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)'
                          b"</script></svg>", "an SVG with a script named .png"),
    "text-with-nul": (lambda: b"bonjour\x00\x00monde", "text with NUL bytes"),
    "utf16-text": (lambda: "Extrait Kbis".encode("utf-16"), "UTF-16 text"),
    "oversize-noise": (lambda: bytes((i * 31) % 256 for i in range(3_300_000)),
                       "3.3 MB: over the portal's 3 Mo"),
}  # fmt: skip


def write_hostile_documents(out_dir: Path) -> list[HostileDocument]:
    """One valid package per hostile document, the file standing as the holder's recto
    (images) or the Kbis (PDF-like), under its usual name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = make_base(out_dir)
    result = []
    for index, (name, (build, why)) in enumerate(HOSTILE_DOCUMENTS.items()):
        data = build()
        manifest, files = base.fresh(BASE_ORDER + 20_000 + index)
        slot = KBIS if "pdf" in name else HOLDER_RECTO
        target = base.doc(slot)
        files[target] = data
        path = out_dir / f"doc-{name}.zip"
        path.write_bytes(package_zip(manifest, files))
        result.append(HostileDocument(name, path, target, data, why))
    return result
