"""Read and validate a portal dossier package (format `portail-commande/1`). Pure: a path or
bytes in, a `Package` or a `PackageRefused` with French messages out. Nothing is stored here.

A package is refused only when it is not well formed (FORMAT.md §1); content that breaks the
portal's rules (accents, dotted names, big files…) is accepted and flagged by the checks.
"Well formed" is our own contract, `schema/dossier.schema.json` (and `signature.schema.json`
for signature events): every refusal names the field (a JSON pointer such as
`/holder/civility`) or the zip entry, in French, and nothing a hostile package can send —
a lying zip, a JSON nested 100,000 deep, a NaN, a lone surrogate — gets past this module
as anything but a `PackageRefused`.
"""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import io
import json
import math
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators

FORMAT = "portail-commande/1"
SCHEMA_DIR = Path(__file__).with_name("schema")

# A real dossier.json is a few kilobytes and four levels deep; these bounds are far above
# that and far below what could exhaust memory or the parser's stack.
MAX_MANIFEST_BYTES = 256 * 1024
MAX_EVENT_BYTES = 64 * 1024
MAX_JSON_DEPTH = 16
MAX_REPORTED_ERRORS = 20
MAX_NAME_CHARS = 300  # dossier_revisions.package_name
# Only what every zip tool writes. LZMA entries choose their own dictionary size (a memory
# bomb no read cap prevents); other methods are not what the portal sends.
ZIP_METHODS = {zipfile.ZIP_STORED: "stockée", zipfile.ZIP_DEFLATED: "deflate"}

# Characters no declared field may hold: C0 and C1 controls, DEL, bidirectional overrides
# (they disguise file names on an operator's screen), unpaired surrogates (not Unicode: they
# cannot be encoded, stored or printed). Free text (delivery_info) may hold tab and newlines.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_FORBIDDEN_MULTILINE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
MULTILINE_FIELDS = frozenset({"/delivery_info"})
FORBIDDEN_CHARACTER = "caractère interdit (caractère de contrôle ou Unicode non valide)"
_ORDER_NUMBER = re.compile(r"[0-9]{1,20}")
# JSON strings (possessive: linear on any input) and the brackets left once they are gone.
_JSON_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")
_TYPE_NAMES_FR = {
    "string": "texte",
    "boolean": "booléen (true ou false)",
    "integer": "entier",
    "number": "nombre",
    "object": "objet",
    "array": "liste",
    "null": "null",
}


class PackageRefused(Exception):
    """What the portal sent cannot be taken (French messages). `code` says why, stably, for
    the API (portal/problems.py): `invalid_content` for a shape or content refusal, or the
    order's state."""

    def __init__(
        self, errors: list[str], order_number: str | None = None, *, code: str = "invalid_content"
    ) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors
        self.order_number = order_number
        self.code = code


@dataclass(frozen=True)
class Limits:
    max_uncompressed_bytes: int = 80 * 1024 * 1024
    max_entries: int = 200


@dataclass(frozen=True)
class PackageFile:
    path: str
    type: str
    person: str | None
    side: str | None
    data: bytes

    @property
    def original_name(self) -> str:
        return PurePosixPath(self.path).name


@dataclass
class Package:
    manifest: dict[str, Any]
    files: list[PackageFile]
    name: str
    order_number: str = field(init=False)
    revision: int = field(init=False)
    submitted_at: dt.datetime = field(init=False)

    def __post_init__(self) -> None:
        self.name = display_name(self.name)
        self.order_number = str(self.manifest["order_number"])
        self.revision = int(self.manifest["revision"])
        self.submitted_at = parse_datetime(self.manifest["submitted_at"])


def parse_datetime(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError("date attendue sous forme de texte ISO 8601")
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("date sans fuseau horaire")
    return parsed.astimezone(dt.UTC)


# -- what a message may show -----------------------------------------------------------------


def _escape(text: str) -> str:
    return _FORBIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def shown(value: Any, limit: int = 40) -> str:
    """A value as a refusal may quote it: short, and printable whatever it held."""
    if isinstance(value, str):
        text = value if len(value) <= limit else value[:limit] + "…"
        return f"« {_escape(text)} »"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value) if value.bit_length() <= 64 else "un nombre de plus de 20 chiffres"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return "un objet"
    return "une liste" if isinstance(value, list) else "une valeur"


def display_name(name: str) -> str:
    """A package's name as stored and printed: printable, at most 300 characters."""
    text = _escape(str(name))
    return text if len(text) <= MAX_NAME_CHARS else text[: MAX_NAME_CHARS - 1] + "…"


def valid_order_number(value: Any) -> str | None:
    """The order number a refusal may be filed under: only one that is one."""
    return value if isinstance(value, str) and _ORDER_NUMBER.fullmatch(value) else None


def _pointer(parts: Iterable[Any]) -> str:
    escaped = []
    for part in parts:
        text = str(part).replace("~", "~0").replace("/", "~1")
        escaped.append(_escape(text if len(text) <= 40 else text[:40] + "…"))
    return "/" + "/".join(escaped) if escaped else "/"


def _capped(errors: list[str]) -> list[str]:
    unique = list(dict.fromkeys(errors))
    if len(unique) <= MAX_REPORTED_ERRORS:
        return unique
    rest = len(unique) - MAX_REPORTED_ERRORS
    return [*unique[:MAX_REPORTED_ERRORS], f"… et {rest} autre(s) erreur(s)"]


# -- JSON, bounded ---------------------------------------------------------------------------


class _JsonRefusal(Exception):
    pass


def _refuse_constant(name: str) -> Any:
    raise _JsonRefusal(f"valeur {name} interdite (nombre non fini)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _JsonRefusal(f"nombre {shown(text)} hors des limites (nombre non fini)")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _JsonRefusal(f"clé {shown(key)} en double dans un même objet")
        result[key] = value
    return result


_JSON_MESSAGES_FR = {
    "Expecting value": "valeur attendue",
    "Expecting property name enclosed in double quotes": "nom de champ entre guillemets attendu",
    "Expecting ',' delimiter": "virgule attendue",
    "Expecting ':' delimiter": "deux-points attendus",
    "Unterminated string starting at": "texte non terminé",
    "Invalid control character at": "caractère de contrôle dans un texte",
    "Invalid \\escape": "séquence d'échappement non valide",
    "Invalid \\uXXXX escape": "séquence \\u non valide",
    "Extra data": "données après la fin du JSON",
}


def _nesting_exceeds(text: str, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than `limit`, before json.loads sees it
    (a dossier.json of 100,000 `[` would otherwise exhaust the parser's stack)."""
    depth = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def parse_json(data: bytes, *, what: str, max_bytes: int) -> Any:
    """Strict, bounded JSON: UTF-8, at most `max_bytes` and MAX_JSON_DEPTH levels, no
    NaN/Infinity, no duplicate key. Refusals say `what` was unreadable, and why, in French."""
    if len(data) > max_bytes:
        raise PackageRefused([f"{what} trop volumineux ({len(data)} octets, maximum {max_bytes})"])
    if data.startswith(codecs.BOM_UTF8):  # RFC 8259 lets a parser ignore it
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PackageRefused(
            [f"{what} illisible : encodage UTF-8 non valide (octet {exc.start})"]
        ) from exc
    if _nesting_exceeds(text, MAX_JSON_DEPTH):
        raise PackageRefused(
            [f"{what} illisible : JSON imbriqué sur plus de {MAX_JSON_DEPTH} niveaux"]
        )
    try:
        return json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except _JsonRefusal as exc:
        raise PackageRefused([f"{what} illisible : {exc}"]) from exc
    except json.JSONDecodeError as exc:
        reason = next((fr for en, fr in _JSON_MESSAGES_FR.items() if exc.msg.startswith(en)), "")
        raise PackageRefused(
            [
                f"{what} illisible : JSON non valide ({reason or 'syntaxe'}, "
                f"ligne {exc.lineno}, colonne {exc.colno})"
            ]
        ) from exc
    except RecursionError as exc:  # unreachable after the depth scan; kept as a fuse
        raise PackageRefused([f"{what} illisible : JSON trop imbriqué"]) from exc
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise PackageRefused([f"{what} illisible : nombre trop long"]) from exc


def _forbidden_characters(
    value: Any, path: tuple[Any, ...] = (), multiline: frozenset[str] = MULTILINE_FIELDS
) -> Iterator[str]:
    """Every key and string of the document, whether the schema knows the field or not;
    the fields in `multiline` (JSON pointers) may hold tab and newlines."""
    if isinstance(value, str):
        allowed = _FORBIDDEN_MULTILINE if _pointer(path) in multiline else _FORBIDDEN
        if allowed.search(value):
            yield f"champ {_pointer(path)} : {FORBIDDEN_CHARACTER}"
    elif isinstance(value, dict):
        for key, item in value.items():
            if _FORBIDDEN.search(key):
                yield f"nom de champ {_pointer((*path, key))} : {FORBIDDEN_CHARACTER}"
            yield from _forbidden_characters(item, (*path, key), multiline)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _forbidden_characters(item, (*path, index), multiline)


# -- the schema ------------------------------------------------------------------------------


def _is_integer(_checker: Any, instance: Any) -> bool:
    # A JSON integer, not 1.0 (which the standard's "integer" admits) nor true.
    return isinstance(instance, int) and not isinstance(instance, bool)


_StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


@functools.cache
def load_schema(name: str, directory: Path = SCHEMA_DIR) -> Any:
    """`dossier` or `signature`: the validator of `schema/<name>.schema.json` (another
    domain's portal contract lives in its own `directory`)."""
    schema = json.loads((directory / f"{name}.schema.json").read_text(encoding="utf-8"))
    _StrictValidator.check_schema(schema)
    return _StrictValidator(_inline_refs(schema, schema.get("$defs", {})))


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with its local `$ref`s replaced by what they name: the same validation
    (a `$ref` beside other keywords becomes an `allOf`, as 2020-12 reads it), without a
    reference lookup at every step — half the time per package. The schemas are not
    recursive."""
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    rest = {k: _inline_refs(v, defs) for k, v in node.items() if k not in ("$ref", "$defs")}
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return rest if "$ref" not in node else {**rest, "$ref": ref}
    target = _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
    if not rest:
        return target
    return {**rest, "allOf": [*rest.get("allOf", []), target]}


def _schema_messages(error: ValidationError) -> list[str]:
    where = _pointer(error.absolute_path)
    keyword = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    custom = schema.get("x-message-fr")
    if keyword == "required":
        missing = [key for key in error.validator_value if key not in instance]
        return [
            f"champ obligatoire manquant : {_pointer((*error.absolute_path, key))}"
            for key in missing
        ]
    if keyword == "additionalProperties":
        known = schema.get("properties", {})
        return [
            f"champ inconnu : {_pointer((*error.absolute_path, key))}"
            for key in instance
            if key not in known
        ]
    if keyword == "type":
        expected = error.validator_value
        names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " ou ".join(_TYPE_NAMES_FR.get(n, n) for n in names)
        got = _json_type(instance)
        return [f"champ {where} : type inattendu ({wanted} attendu, {got} reçu)"]
    if keyword == "enum":
        admitted = ", ".join(str(v) for v in error.validator_value)
        return [
            f"champ {where} : valeur {shown(instance)} non admise (valeurs admises : {admitted})"
        ]
    if keyword == "const":
        return [f"champ {where} : {custom or 'valeur non admise'} (reçu {shown(instance)})"]
    if keyword == "pattern":
        return [f"champ {where} : {custom or 'format non valide'}"]
    if keyword == "maxLength":
        return [
            f"champ {where} : trop long ({len(instance)} caractères, "
            f"{error.validator_value} au plus)"
        ]
    if keyword == "minLength":
        return [f"champ {where} : vide ({error.validator_value} caractère au moins)"]
    if keyword in ("minimum", "maximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        return [f"champ {where} : {shown(instance)} hors des bornes (de {low} à {high})"]
    if keyword == "maxItems":
        return [f"champ {where} : {len(instance)} éléments ({error.validator_value} au plus)"]
    return [f"champ {where} : valeur non admise ({keyword})"]


def _json_type(value: Any) -> str:
    for name, kind in (("boolean", bool), ("integer", int), ("number", float), ("string", str)):
        if isinstance(value, kind):
            return _TYPE_NAMES_FR[name]
    if value is None:
        return "null"
    return _TYPE_NAMES_FR["object" if isinstance(value, dict) else "array"]


def schema_errors(
    name: str, instance: Any, *, skip: tuple[str, ...] = (), directory: Path = SCHEMA_DIR
) -> list[str]:
    """French messages for every way `instance` breaks the schema `name`, fields in order.
    Where a field has an enum or const, its type error would only repeat it."""
    validator = load_schema(name, directory)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path)))
    enumerated = {tuple(e.absolute_path) for e in errors if e.validator in ("enum", "const")}
    messages: list[str] = []
    for error in errors:
        if error.validator == "type" and tuple(error.absolute_path) in enumerated:
            continue
        for message in _schema_messages(error):
            if not any(f" {prefix}" in message for prefix in skip):
                messages.append(message)
    return messages


# -- reading the container -------------------------------------------------------------------


def _safe_relative(path: str) -> str | None:
    """The normalised relative path, or None when it is absolute or escapes the package."""
    if not path or "\\" in path or _FORBIDDEN.search(path):
        return None
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part == ".." for part in pure.parts):
        return None
    if len(path) > 1 and path[1] == ":":  # C:\ style drive
        return None
    parts = [p for p in pure.parts if p not in ("", ".")]
    return "/".join(parts) if parts else None


def _zip_entry_error(exc: BaseException) -> str:
    if isinstance(exc, zipfile.BadZipFile) and "CRC" in str(exc):
        return "somme de contrôle CRC-32 incorrecte"
    if isinstance(exc, zlib.error):
        return "données compressées corrompues"
    if isinstance(exc, EOFError):
        return "données tronquées"
    if isinstance(exc, NotImplementedError):
        return "méthode de compression non prise en charge"
    if isinstance(exc, RuntimeError):
        return "entrée chiffrée"
    return "entrée corrompue"


def _open_zip(data: bytes) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        return archive, archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, struct.error) as exc:
        raise PackageRefused(["archive zip illisible ou corrompue"]) from exc
    except (ValueError, NotImplementedError, RuntimeError) as exc:
        # e.g. an entry flagged UTF-8 whose name is not
        raise PackageRefused(["archive zip illisible : répertoire central non valide"]) from exc


def _check_zip_entries(
    infos: list[zipfile.ZipInfo], limits: Limits
) -> list[tuple[zipfile.ZipInfo, str]]:
    """Everything the central directory can be refused for, at once; else the file entries to
    read, each with its package path."""
    if len(infos) > limits.max_entries:
        raise PackageRefused([f"archive de {len(infos)} entrées (maximum {limits.max_entries})"])
    errors: list[str] = []
    total = 0
    seen: set[str] = set()
    to_read: list[tuple[zipfile.ZipInfo, str]] = []
    for info in infos:
        name = shown(info.filename, 80)
        mode = info.external_attr >> 16
        relative = _safe_relative(info.filename.rstrip("/"))
        if stat.S_ISLNK(mode):
            errors.append(f"lien symbolique refusé dans l'archive : {name}")
        if relative is None:
            errors.append(f"chemin dangereux refusé dans l'archive : {name}")
        elif relative in seen:
            errors.append(f"entrée en double dans l'archive : {name}")
        else:
            seen.add(relative)
            if not info.is_dir():
                to_read.append((info, relative))
        if info.flag_bits & 0x1:
            errors.append(f"entrée chiffrée (protégée par mot de passe) refusée : {name}")
        elif not info.is_dir() and info.compress_type not in ZIP_METHODS:
            errors.append(
                f"entrée {name} : méthode de compression {info.compress_type} non prise en "
                "charge (seules « stockée » et « deflate » le sont)"
            )
        is_manifest = PurePosixPath(relative or "").name == "dossier.json"
        if is_manifest and info.file_size > MAX_MANIFEST_BYTES:
            errors.append(
                f"{name} trop volumineux ({info.file_size} octets, maximum {MAX_MANIFEST_BYTES})"
            )
        total += info.file_size
    if total > limits.max_uncompressed_bytes:
        errors.append(
            f"archive trop volumineuse une fois décompressée ({total} octets, "
            f"maximum {limits.max_uncompressed_bytes})"
        )
    if errors:
        raise PackageRefused(_capped(errors))
    return to_read


def _read_zip(data: bytes, limits: Limits) -> dict[str, bytes]:
    archive, infos = _open_zip(data)
    with archive:
        files: dict[str, bytes] = {}
        for info, relative in _check_zip_entries(infos, limits):
            name = shown(info.filename, 80)
            # Read with a hard cap, one byte over the declared size: the declared sizes of a
            # hostile zip can lie, and an entry that inflates to more or less is refused. As
            # the declared sizes were summed under the limit, this bounds the whole archive.
            # The cap is also the size of each chunk zlib may inflate at once.
            try:
                with archive.open(info) as handle:
                    content = handle.read(info.file_size + 1)
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                OSError,
                ValueError,
                struct.error,
                NotImplementedError,
                RuntimeError,
            ) as exc:
                raise PackageRefused(
                    [f"entrée {name} de l'archive illisible : {_zip_entry_error(exc)}"]
                ) from exc
            if len(content) != info.file_size:
                raise PackageRefused(
                    [
                        f"entrée {name} de l'archive : taille déclarée ({info.file_size} "
                        f"octets) différente de la taille réelle ({len(content)} octets)"
                    ]
                )
            files[relative] = content
    return _strip_common_root(files)


def _strip_common_root(files: dict[str, bytes]) -> dict[str, bytes]:
    """A zip of the package directory holds `<dir>/dossier.json`: root the paths there."""
    if "dossier.json" in files:
        return files
    manifests = [p for p in files if PurePosixPath(p).name == "dossier.json"]
    if len(manifests) == 1 and len(PurePosixPath(manifests[0]).parts) == 2:
        prefix = manifests[0][: -len("dossier.json")]
        return {p[len(prefix) :]: d for p, d in files.items() if p.startswith(prefix)}
    return files


def _read_directory(root: Path, limits: Limits) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The checked manifest and the files it names (nothing else), refusing links and
    escapes. The manifest is validated before any file it names is touched."""
    manifest_path = root / "dossier.json"
    try:
        if manifest_path.is_symlink() or not manifest_path.is_file():
            raise PackageRefused(["dossier.json absent à la racine du paquet"])
        size = manifest_path.stat().st_size
        if size > MAX_MANIFEST_BYTES:
            raise PackageRefused(
                [f"dossier.json trop volumineux ({size} octets, maximum {MAX_MANIFEST_BYTES})"]
            )
        raw = manifest_path.read_bytes()
    except OSError as exc:
        raise PackageRefused(["dossier.json illisible (lecture impossible)"]) from exc
    manifest = check_manifest(_parse_manifest(raw))
    order_number = valid_order_number(manifest.get("order_number"))
    files = {"dossier.json": raw}
    errors: list[str] = []
    total = len(raw)
    root_resolved = root.resolve()
    for index, entry in enumerate(manifest["documents"]):
        rel = _safe_relative(entry["path"])
        if rel is None:
            continue  # reported by match_documents with the manifest's wording
        where = f"/documents/{index}/path"
        candidate = root / rel
        try:
            if candidate.is_symlink():
                errors.append(f"champ {where} : lien symbolique refusé : {shown(entry['path'])}")
                continue
            try:
                candidate.resolve().relative_to(root_resolved)
            except ValueError:
                errors.append(f"champ {where} : chemin hors du paquet : {shown(entry['path'])}")
                continue
            if candidate.is_file():
                size = candidate.stat().st_size
                total += size
                if total > limits.max_uncompressed_bytes:
                    raise PackageRefused(["paquet trop volumineux"], order_number)
                files[rel] = candidate.read_bytes()
        except OSError:
            errors.append(f"champ {where} : fichier illisible : {shown(entry['path'])}")
    if errors:
        raise PackageRefused(_capped(errors), order_number)
    return manifest, files


def _parse_manifest(data: bytes) -> dict[str, Any]:
    manifest = parse_json(data, what="dossier.json", max_bytes=MAX_MANIFEST_BYTES)
    if not isinstance(manifest, dict):
        raise PackageRefused(["dossier.json illisible : un objet JSON est attendu à la racine"])
    return manifest


# -- validating the manifest ----------------------------------------------------------------

GROUPED_ORDER = "une commande ne peut avoir qu'un seul porteur (commande groupée refusée)"


def check_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest against schema/dossier.schema.json and what a schema cannot say (a
    calendar date, one holder). Returns it unchanged, or raises every error at once."""
    order_number = valid_order_number(manifest.get("order_number"))
    fmt = manifest.get("format")
    if fmt != FORMAT:
        raise PackageRefused(
            [f"champ /format : format inconnu {shown(fmt)} (attendu « {FORMAT} »)"], order_number
        )
    documents = manifest.get("documents")
    max_documents = load_schema("dossier").schema["properties"]["documents"]["maxItems"]
    if isinstance(documents, list) and len(documents) > max_documents:
        # The schema's own maxItems, refused before validation, whose cost grows with every
        # entry.
        raise PackageRefused(
            [f"champ /documents : {len(documents)} éléments ({max_documents} au plus)"],
            order_number,
        )
    errors = list(_forbidden_characters(manifest))
    skip: tuple[str, ...] = ()
    if "holders" in manifest or "porteurs" in manifest or isinstance(manifest.get("holder"), list):
        errors.append(GROUPED_ORDER)
        skip = ("/holder", "/porteurs")
    errors += schema_errors("dossier", manifest, skip=skip)
    submitted = manifest.get("submitted_at")
    if isinstance(submitted, str) and not errors:
        try:
            parse_datetime(submitted)
        except (ValueError, OverflowError):
            errors.append("champ /submitted_at : date inexistante")
    if errors:
        raise PackageRefused(_capped(errors), order_number)
    return manifest


def match_documents(manifest: dict[str, Any], files: dict[str, bytes]) -> list[PackageFile]:
    """The documents a checked manifest names, each found in the package exactly once."""
    errors: list[str] = []
    result: list[PackageFile] = []
    seen_paths: set[str] = set()
    for index, entry in enumerate(manifest["documents"]):
        where = f"champ /documents/{index}/path"
        path = entry["path"]
        rel = _safe_relative(path)
        if rel is None:
            errors.append(f"{where} : sort du paquet : {shown(path)}")
            continue
        if rel == "dossier.json":
            errors.append(f"{where} : désigne dossier.json")
            continue
        if rel not in files:
            errors.append(f"{where} : ne désigne aucun fichier du paquet : {shown(path)}")
            continue
        if rel in seen_paths:
            errors.append(f"{where} : cité deux fois : {shown(path)}")
            continue
        seen_paths.add(rel)
        doc_type = entry["type"]
        person, side = (entry["person"], entry["side"]) if doc_type == "identity" else (None, None)
        result.append(
            PackageFile(path=rel, type=doc_type, person=person, side=side, data=files[rel])
        )
    if errors:
        raise PackageRefused(_capped(errors), valid_order_number(manifest.get("order_number")))
    return result


def read_package_bytes(data: bytes, name: str, limits: Limits | None = None) -> Package:
    """A zipped package, as uploaded to the API."""
    files = _read_zip(data, limits or Limits())
    if "dossier.json" not in files:
        raise PackageRefused(["dossier.json absent à la racine du paquet"])
    manifest = check_manifest(_parse_manifest(files["dossier.json"]))
    return Package(manifest=manifest, files=match_documents(manifest, files), name=name)


def read_package_path(path: Path, limits: Limits | None = None) -> Package:
    """A package directory or a `.zip` of it."""
    limits = limits or Limits()
    try:
        if path.is_dir():
            manifest, files = _read_directory(path, limits)
            return Package(
                manifest=manifest, files=match_documents(manifest, files), name=path.name
            )
        if path.is_file():
            size = path.stat().st_size
            if size > limits.max_uncompressed_bytes:
                raise PackageRefused([f"archive trop volumineuse ({size} octets)"])
            data = path.read_bytes()
        else:
            raise PackageRefused([f"paquet introuvable : {display_name(str(path))}"])
    except OSError as exc:
        raise PackageRefused([f"paquet illisible : {display_name(str(path))}"]) from exc
    return read_package_bytes(data, path.name, limits)


def parse_signature_event(data: bytes) -> dict[str, Any]:
    """Validate a `portail-signature/1` event against schema/signature.schema.json; returns
    it with `at` parsed."""
    event = parse_portal_json(data, what="événement de signature", schema="signature")
    try:
        event["at_parsed"] = parse_datetime(event["at"])
    except (ValueError, OverflowError) as exc:
        raise PackageRefused(["champ /at : date inexistante"], event["order_number"]) from exc
    return event


def parse_portal_json(
    data: bytes,
    *,
    what: str,
    schema: str,
    directory: Path = SCHEMA_DIR,
    multiline: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """A small JSON document from the portal (a signature event, a revocation request),
    bounded, free of forbidden characters (but in the `multiline` fields' newlines) and
    valid against `<directory>/<schema>.schema.json`; refused in French otherwise."""
    document = parse_json(data, what=what, max_bytes=MAX_EVENT_BYTES)
    if not isinstance(document, dict):
        raise PackageRefused([f"{what} illisible : un objet JSON est attendu à la racine"])
    errors = list(_forbidden_characters(document, multiline=multiline))
    errors += schema_errors(schema, document, directory=directory)
    if errors:
        raise PackageRefused(_capped(errors), valid_order_number(document.get("order_number")))
    return document
