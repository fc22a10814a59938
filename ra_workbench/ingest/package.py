"""Read and validate a portal dossier package (format `portail-commande/1`). Pure: a path or
bytes in, a `Package` or a `PackageRefused` with French messages out. Nothing is stored here.

A package is refused only when it is not well formed (FORMAT.md §1); content that breaks the
portal's rules (accents, dotted names, big files…) is accepted and flagged by the checks.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import stat
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePosixPath
from typing import Any

FORMAT = "portail-commande/1"
SIGNATURE_FORMAT = "portail-signature/1"
PERSON_ROLES = ("holder", "legal_representative", "mandataire")
DOCUMENT_TYPES = ("kbis", "identity", "payment_proof", "mandate")


class PackageRefused(Exception):
    def __init__(self, errors: list[str], order_number: str | None = None) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors
        self.order_number = order_number


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


def _safe_relative(path: str) -> str | None:
    """The normalised relative path, or None when it is absolute or escapes the package."""
    if not path or "\\" in path or "\x00" in path:
        return None
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part == ".." for part in pure.parts):
        return None
    if len(path) > 1 and path[1] == ":":  # C:\ style drive
        return None
    parts = [p for p in pure.parts if p not in ("", ".")]
    return "/".join(parts) if parts else None


# -- reading the container -------------------------------------------------------------------


def _read_zip(data: bytes, limits: Limits) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackageRefused(["archive zip illisible ou corrompue"]) from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_entries:
            raise PackageRefused(
                [f"archive de {len(infos)} entrées (maximum {limits.max_entries})"]
            )
        errors: list[str] = []
        total = 0
        for info in infos:
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                errors.append(f"lien symbolique refusé dans l'archive : {info.filename}")
            if _safe_relative(info.filename.rstrip("/")) is None:
                errors.append(f"chemin dangereux refusé dans l'archive : {info.filename}")
            total += info.file_size
        if total > limits.max_uncompressed_bytes:
            errors.append(
                f"archive trop volumineuse une fois décompressée ({total} octets, "
                f"maximum {limits.max_uncompressed_bytes})"
            )
        if errors:
            raise PackageRefused(errors)
        files: dict[str, bytes] = {}
        read_total = 0
        for info in infos:
            if info.is_dir():
                continue
            # Read with a hard cap: the declared sizes of a hostile zip can lie.
            with archive.open(info) as handle:
                content = handle.read(limits.max_uncompressed_bytes - read_total + 1)
            read_total += len(content)
            if read_total > limits.max_uncompressed_bytes:
                raise PackageRefused(["archive trop volumineuse une fois décompressée"])
            name = _safe_relative(info.filename)
            if name is not None:
                files[name] = content
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


def _read_directory(root: Path, limits: Limits) -> dict[str, bytes]:
    """Read the files dossier.json names (and nothing else), refusing links and escapes."""
    manifest_path = root / "dossier.json"
    if manifest_path.is_symlink() or not manifest_path.is_file():
        raise PackageRefused(["dossier.json absent à la racine du paquet"])
    files = {"dossier.json": manifest_path.read_bytes()}
    manifest = _parse_manifest(files["dossier.json"])
    errors: list[str] = []
    total = len(files["dossier.json"])
    root_resolved = root.resolve()
    for entry in manifest.get("documents") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            continue
        rel = _safe_relative(entry["path"])
        if rel is None:
            continue  # reported by validation with the manifest's wording
        candidate = root / rel
        if candidate.is_symlink():
            errors.append(f"lien symbolique refusé : {entry['path']}")
            continue
        try:
            candidate.resolve().relative_to(root_resolved)
        except ValueError:
            errors.append(f"chemin hors du paquet : {entry['path']}")
            continue
        if candidate.is_file():
            size = candidate.stat().st_size
            total += size
            if total > limits.max_uncompressed_bytes:
                raise PackageRefused(["paquet trop volumineux"])
            files[rel] = candidate.read_bytes()
    if errors:
        raise PackageRefused(errors, manifest.get("order_number"))
    return files


def _parse_manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageRefused([f"dossier.json illisible : JSON invalide ({exc})"]) from exc
    if not isinstance(manifest, dict):
        raise PackageRefused(["dossier.json doit contenir un objet JSON"])
    return manifest


# -- validating the manifest ----------------------------------------------------------------


def _require(
    obj: Any, key: str, where: str, errors: list[str], kind: type | tuple[type, ...]
) -> Any:
    if not isinstance(obj, dict) or key not in obj or obj[key] is None:
        errors.append(f"champ obligatoire manquant : {where}{key}")
        return None
    value = obj[key]
    if not isinstance(value, kind):
        errors.append(f"champ {where}{key} : type inattendu")
        return None
    return value


def _validate_person(person: Any, where: str, errors: list[str]) -> None:
    if not isinstance(person, dict):
        errors.append(f"{where} doit être un objet")
        return
    for key in ("civility", "first_name", "last_name", "email", "mobile"):
        _require(person, key, f"{where}.", errors, str)


def validate_manifest(manifest: dict[str, Any], files: dict[str, bytes]) -> list[PackageFile]:
    errors: list[str] = []
    fmt = manifest.get("format")
    if fmt != FORMAT:
        raise PackageRefused(
            [f"format inconnu : {fmt!r} (attendu {FORMAT!r})"], manifest.get("order_number")
        )
    order_number = _require(manifest, "order_number", "", errors, str)
    if isinstance(order_number, str) and (not order_number.isdigit() or len(order_number) > 20):
        errors.append("order_number doit être composé de chiffres")
    revision = _require(manifest, "revision", "", errors, int)
    if isinstance(revision, bool) or (isinstance(revision, int) and revision < 1):
        errors.append("revision doit être un entier ≥ 1")
    submitted = _require(manifest, "submitted_at", "", errors, str)
    if isinstance(submitted, str):
        try:
            parse_datetime(submitted)
        except ValueError as exc:
            errors.append(f"submitted_at invalide : {exc}")
    offer = _require(manifest, "offer", "", errors, dict)
    if offer is not None:
        _require(offer, "code", "offer.", errors, str)
    mode = _require(manifest, "delivery_mode", "", errors, str)
    if mode is not None and mode not in ("shipping", "pickup"):
        errors.append(f"delivery_mode inconnu : {mode!r}")
    dossier_type = manifest.get("dossier_type", "dematerialised")
    if dossier_type != "dematerialised":
        errors.append(f"dossier_type non pris en charge : {dossier_type!r}")
    organisation = _require(manifest, "organisation", "", errors, dict)
    if organisation is not None:
        _require(organisation, "siren", "organisation.", errors, str)
        _require(organisation, "name", "organisation.", errors, str)
    _validate_person(manifest.get("legal_representative"), "legal_representative", errors)

    for key in ("holders", "porteurs"):
        if key in manifest:
            errors.append(
                "une commande ne peut avoir qu'un seul porteur (commande groupée refusée)"
            )
    holder = manifest.get("holder")
    if isinstance(holder, list):
        errors.append("une commande ne peut avoir qu'un seul porteur (commande groupée refusée)")
    elif not isinstance(holder, dict):
        errors.append("champ obligatoire manquant : holder")
    elif not holder.get("same_as_legal_representative"):
        _validate_person(holder, "holder", errors)
    if isinstance(holder, dict):
        channel = holder.get("activation_code_channel")
        if channel not in ("sms", "email"):
            errors.append("holder.activation_code_channel doit valoir 'sms' ou 'email'")
    mandataire = manifest.get("mandataire")
    if mandataire is not None:
        _validate_person(mandataire, "mandataire", errors)

    payment = _require(manifest, "payment", "", errors, dict)
    if payment is not None:
        method = _require(payment, "method", "payment.", errors, str)
        if method is not None and method not in ("card", "transfer"):
            errors.append(f"payment.method inconnu : {method!r}")
        for key in ("amount_ttc",):
            if payment.get(key) is not None:
                try:
                    Decimal(str(payment[key]))
                except InvalidOperation:
                    errors.append(f"payment.{key} n'est pas un montant décimal")

    documents = _require(manifest, "documents", "", errors, list)
    result: list[PackageFile] = []
    seen_paths: set[str] = set()
    for index, entry in enumerate(documents or []):
        where = f"documents[{index}]"
        if not isinstance(entry, dict):
            errors.append(f"{where} doit être un objet")
            continue
        path = entry.get("path")
        doc_type = entry.get("type")
        if not isinstance(path, str):
            errors.append(f"{where}.path manquant")
            continue
        rel = _safe_relative(path)
        if rel is None:
            errors.append(f"{where}.path sort du paquet : {path!r}")
            continue
        if rel == "dossier.json":
            errors.append(f"{where}.path désigne dossier.json")
            continue
        if rel not in files:
            errors.append(f"{where}.path ne désigne aucun fichier du paquet : {path!r}")
            continue
        if rel in seen_paths:
            errors.append(f"{where}.path cité deux fois : {path!r}")
            continue
        seen_paths.add(rel)
        if doc_type not in DOCUMENT_TYPES:
            errors.append(f"{where}.type inconnu : {doc_type!r}")
            continue
        person = entry.get("person")
        side = entry.get("side")
        if doc_type == "identity":
            if person not in PERSON_ROLES:
                errors.append(f"{where}.person inconnu : {person!r}")
                continue
            if side not in ("recto", "verso"):
                errors.append(f"{where}.side doit valoir 'recto' ou 'verso'")
                continue
        else:
            person, side = None, None
        result.append(
            PackageFile(path=rel, type=doc_type, person=person, side=side, data=files[rel])
        )
    if errors:
        raise PackageRefused(errors, order_number if isinstance(order_number, str) else None)
    return result


def read_package_bytes(data: bytes, name: str, limits: Limits | None = None) -> Package:
    """A zipped package, as uploaded to the API."""
    files = _read_zip(data, limits or Limits())
    if "dossier.json" not in files:
        raise PackageRefused(["dossier.json absent à la racine du paquet"])
    manifest = _parse_manifest(files["dossier.json"])
    documents = validate_manifest(manifest, files)
    return Package(manifest=manifest, files=documents, name=name)


def read_package_path(path: Path, limits: Limits | None = None) -> Package:
    """A package directory or a `.zip` of it."""
    limits = limits or Limits()
    if path.is_dir():
        files = _read_directory(path, limits)
        manifest = _parse_manifest(files["dossier.json"])
        documents = validate_manifest(manifest, files)
        return Package(manifest=manifest, files=documents, name=path.name)
    if path.is_file():
        size = path.stat().st_size
        if size > limits.max_uncompressed_bytes:
            raise PackageRefused([f"archive trop volumineuse ({size} octets)"])
        return read_package_bytes(path.read_bytes(), path.name, limits)
    raise PackageRefused([f"paquet introuvable : {path}"])


def parse_signature_event(data: bytes) -> dict[str, Any]:
    """Validate a `portail-signature/1` event; returns it with `at` parsed."""
    try:
        event = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageRefused([f"événement de signature illisible : {exc}"]) from exc
    if not isinstance(event, dict):
        raise PackageRefused(["l'événement de signature doit être un objet JSON"])
    errors: list[str] = []
    if event.get("format") != SIGNATURE_FORMAT:
        errors.append(f"format inconnu : {event.get('format')!r} (attendu {SIGNATURE_FORMAT!r})")
    for key in ("order_number", "signer", "status", "identity_verification", "evidence_id", "at"):
        if not isinstance(event.get(key), str) or not event.get(key):
            errors.append(f"champ obligatoire manquant : {key}")
    if event.get("signer") not in (*PERSON_ROLES, None):
        errors.append(f"signataire inconnu : {event.get('signer')!r}")
    if event.get("status") not in ("signed", "refused", "expired", None):
        errors.append(f"statut de signature inconnu : {event.get('status')!r}")
    if event.get("identity_verification") not in (
        "self_id_passed",
        "self_id_failed",
        "not_done",
        None,
    ):
        errors.append(f"vérification d'identité inconnue : {event.get('identity_verification')!r}")
    if isinstance(event.get("at"), str):
        try:
            event["at_parsed"] = parse_datetime(event["at"])
        except ValueError as exc:
            errors.append(f"date 'at' invalide : {exc}")
    if errors:
        order = event.get("order_number")
        raise PackageRefused(errors, order if isinstance(order, str) else None)
    return event
