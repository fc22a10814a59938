"""The checks' rules as data: rules/checks.toml, loaded and validated once at start-up.

A malformed file stops the application with a `RulesError` naming the file and the key
(« rules/checks.toml: clé kbis.max_age_months : … »). The sha256 of the file (and of the
mandate trust store's certificates it names) is kept with the rules and recorded on every
check run.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ra_workbench.checks.results import RULE_IDS, WARN_ONLY_RULES
from ra_workbench.documents.phash import MAX_INDEXED_DISTANCE
from ra_workbench.extraction.media import MAX_PDF_PAGES
from ra_workbench.rulesfile import RulesError

CHECKS_FILE = "checks.toml"
MEGABYTE = 1_000_000  # « Mo » as the portal's users read it

MEDIA_TYPES = ("image/png", "image/jpeg", "application/pdf")
IDENTITY_TYPES = ("cni", "cnie", "identity_card", "passport", "residence_permit", "visa")
# An ICAO 9303 issuing-state code as the MRZ gives it, fillers stripped: FRA, D (Germany), EUE.
ISSUING_STATE = re.compile(r"[A-Z]{1,3}")
KBIS_KINDS = ("kbis", "extrait_k", "rne", "sirene")
DOCUMENT_TYPES = ("kbis", "identity", "payment_proof", "mandate")
ROLES = ("holder", "legal_representative", "mandataire")
# Conditions a requirement may name; each is a predicate over the dossier's facts.
CONDITIONS = (
    "has_mandataire",
    "holder_is_legal_representative",
    "payment_by_transfer",
    "mandate_on_file",
)
# Placeholders the customer wording may use; the values come from the result and the rules.
PLACEHOLDERS = (
    "file",
    "person",
    "document",
    "max_size_mo",
    "kbis_max_age_months",
    "mandate_max_age_months",
)


@dataclass(frozen=True)
class FileRules:
    max_size_bytes: int
    accepted_media_types: frozenset[str]
    extensions: Mapping[str, frozenset[str]]
    max_pdf_pages: int
    forbid_dots_in_name: bool


@dataclass(frozen=True)
class FileSignalRules:
    """file.signals: what a file's metadata tells of how it was made, each a warning."""

    # Software names (matched as words, case and accents aside) of image editors: a
    # document saved from one of them may have been retouched.
    image_editors: tuple[str, ...]
    # Producers of registry extracts: their PDF updated after its creation was changed by
    # someone else (a registry signs its own extract; the updates a signature covers do not
    # count).
    registry_producers: tuple[str, ...]
    # Screen sizes (width, height), either orientation: an image of exactly one, without a
    # camera in its EXIF, is a screen capture.
    screen_sizes: frozenset[tuple[int, int]]
    screenshot_document_types: frozenset[str]
    # An identity image whose shorter side has fewer pixels shows no face an operator can
    # compare.
    min_identity_short_side_px: int


@dataclass(frozen=True)
class IdentityRules:
    accepted_types: frozenset[str]
    manual_types: frozenset[str]
    accept_residence_permit: bool
    residence_permit_codes: frozenset[str]
    # ICAO 9303 issuing-state codes whose documents pass without an operator's look.
    trusted_issuers: frozenset[str]


@dataclass(frozen=True)
class ReuseRules:
    # identity.reuse: two identity images whose perceptual hashes differ by at most this
    # many bits are the same picture (re-encoded, resized). At most
    # fingerprints.MAX_INDEXED_DISTANCE, the furthest the band index finds every match.
    max_image_distance: int


@dataclass(frozen=True)
class KbisRules:
    max_age_months: int
    accepted_kinds: frozenset[str]


@dataclass(frozen=True)
class MandateRules:
    max_age_months: int
    require_signature_field: bool
    # REQUIREMENTS 7 « countersigned »: the mandataire's signature beside the legal
    # representative's, else manual review.
    require_countersignature: bool
    # The authorities whose certificates may sign a mandate (rules/<trust_store>, PEM):
    # each anchor's DER and subject, for the chain check and the evidence.
    trust_store: str
    trust_anchors: tuple[bytes, ...]
    trust_subjects: tuple[str, ...]


@dataclass(frozen=True)
class ContactRules:
    mobile_prefixes: tuple[str, ...]
    excluded_prefixes: tuple[str, ...]


ADDRESS_FIELDS = (
    "address.line1",
    "address.line2",
    "address.postcode",
    "address.city",
    "address.country",
)
ORGANISATION_FIELDS = ("name", "legal_form", *ADDRESS_FIELDS)
PERSON_FIELDS = ("civility", "first_name", "last_name", "email", "mobile", *ADDRESS_FIELDS)


@dataclass(frozen=True)
class FieldRules:
    allowed_punctuation: str
    organisation_required: tuple[str, ...] = ()
    person_required: tuple[str, ...] = ()
    civilities: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PaymentRules:
    pickup_surcharge_offer: str


@dataclass(frozen=True)
class DeliveryRules:
    shipping_address_fields: tuple[str, ...]


@dataclass(frozen=True)
class HolderRules:
    # A holder whose valid certificate expires within this many days may order its
    # renewal (holder.unique passes; the old certificate is revoked as superseded when the
    # new one is handed over). Earlier, one certificate per person (guide §4) still holds.
    renewal_window_days: int


@dataclass(frozen=True)
class DocumentRequirement:
    type: str
    person: str | None
    when: tuple[str, ...]
    unless: tuple[str, ...]


@dataclass(frozen=True)
class SignatureRequirement:
    signer: str
    when: tuple[str, ...]
    unless: tuple[str, ...]


@dataclass(frozen=True)
class VerdictRules:
    blocking_failures: frozenset[str]


# The detail codes a failing result of each rule can carry (checks/overrides.py reads them
# from the result's evidence): what rules/checks.toml's overrides.never_when may name.
FAILURE_CODES: Mapping[str, tuple[str, ...]] = {
    "identity.document_type": (*IDENTITY_TYPES, "unknown"),
    "signatures.complete": ("refused", "expired", "self_id_failed"),
    # A mandate signature that is not intact or was modified after signing (pyHanko,
    # extraction/signatures.py): never set aside.
    "mandate.valid": ("signature_invalid",),
    "kbis.siren_match": ("manual_entry",),
    # identity.reuse, by what was found in another dossier for another person: the same
    # MRZ document number, or the same image.
    "identity.reuse": ("document_number", "image"),
}
# What no rules file may make overridable (REQUIREMENTS 1, 4, 10; guide §4 « Il n'est pas
# possible d'avoir plusieurs certificats à son nom »): the loader refuses a file without them.
NEVER_OVERRIDABLE_FLOOR = frozenset({"identity.valid_on_date", "holder.unique"})
NEVER_OVERRIDABLE_WHEN_FLOOR: Mapping[str, frozenset[str]] = {
    "identity.document_type": frozenset({"visa", "unknown"}),
    "signatures.complete": frozenset({"refused", "self_id_failed"}),
    "mandate.valid": frozenset({"signature_invalid"}),
    "kbis.siren_match": frozenset({"manual_entry"}),
    "identity.reuse": frozenset({"document_number"}),
}


@dataclass(frozen=True)
class OverrideRules:
    """Which failures an override (justified, four eyes) may set aside: all but these."""

    never: frozenset[str]
    never_when: Mapping[str, frozenset[str]]

    def is_hard(self, rule: str, code: str | None) -> bool:
        return rule in self.never or (code is not None and code in self.never_when.get(rule, ()))


@dataclass(frozen=True)
class Rules:
    files: FileRules
    file_signals: FileSignalRules
    identity: IdentityRules
    reuse: ReuseRules
    kbis: KbisRules
    mandate: MandateRules
    contact: ContactRules
    fields: FieldRules
    payment: PaymentRules
    delivery: DeliveryRules
    holder: HolderRules
    # Declared legal form code → the ways an extract writes it (folded when compared).
    legal_forms: Mapping[str, tuple[str, ...]]
    documents: tuple[DocumentRequirement, ...]
    signatures: tuple[SignatureRequirement, ...]
    verdict: VerdictRules
    overrides: OverrideRules
    customer_requests: Mapping[str, str]
    content_hash: str
    source: str

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """The catalogue's rule ids, in order (the queue's "failing rule" filter lists them)."""
        return RULE_IDS

    def wording_values(self) -> dict[str, str]:
        """The rule-wide placeholder values of the customer wording."""
        return {
            "max_size_mo": f"{self.files.max_size_bytes / MEGABYTE:g}",
            "kbis_max_age_months": str(self.kbis.max_age_months),
            "mandate_max_age_months": str(self.mandate.max_age_months),
        }


class _Table:
    """A TOML table read key by key; each problem names the file and the dotted key."""

    def __init__(self, source: str, prefix: str, data: Any) -> None:
        self.source = source
        self.prefix = prefix
        if not isinstance(data, dict):
            raise self.error(None, "doit être une table")
        self.data: dict[str, Any] = data
        self.read: set[str] = set()

    def key(self, name: str | None) -> str:
        if not name:
            return self.prefix
        return f"{self.prefix}.{name}" if self.prefix else name

    def error(self, name: str | None, problem: str) -> RulesError:
        return RulesError(f"{self.source}: clé {self.key(name)} : {problem}")

    def raw(self, name: str, default: Any = ...) -> Any:
        self.read.add(name)
        if name not in self.data:
            if default is ...:
                raise self.error(name, "absente")
            return default
        return self.data[name]

    def table(self, name: str, default: Any = ...) -> _Table:
        return _Table(self.source, self.key(name), self.raw(name, default))

    def integer(self, name: str, *, minimum: int = 0, maximum: int | None = None) -> int:
        value = self.raw(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(name, f"doit être un nombre entier (reçu {value!r})")
        if value < minimum:
            raise self.error(name, f"doit être au moins {minimum} (reçu {value})")
        if maximum is not None and value > maximum:
            raise self.error(name, f"doit valoir au plus {maximum} (reçu {value})")
        return value

    def boolean(self, name: str) -> bool:
        value = self.raw(name)
        if not isinstance(value, bool):
            raise self.error(name, f"doit valoir true ou false (reçu {value!r})")
        return value

    def string(self, name: str) -> str:
        value = self.raw(name)
        if not isinstance(value, str) or not value.strip():
            raise self.error(name, f"doit être un texte non vide (reçu {value!r})")
        return value

    def strings(
        self,
        name: str,
        *,
        allowed: tuple[str, ...] | None = None,
        default: Any = ...,
        non_empty: bool = True,
    ) -> tuple[str, ...]:
        value = self.raw(name, default)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(name, f"doit être une liste de textes (reçu {value!r})")
        if non_empty and not value:
            raise self.error(name, "ne doit pas être vide")
        if allowed is not None:
            unknown = [v for v in value if v not in allowed]
            if unknown:
                raise self.error(
                    name,
                    f"valeur inconnue {unknown[0]!r} (attendu parmi : {', '.join(allowed)})",
                )
        return tuple(value)

    def finish(self) -> None:
        """Refuse keys nobody reads: a typo must not silently fall back on a default."""
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            raise self.error(unknown[0], "clé inconnue")


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _files(root: _Table) -> FileRules:
    t = root.table("files")
    media = t.strings("accepted_media_types", allowed=MEDIA_TYPES)
    ext_table = t.table("extensions")
    extensions: dict[str, frozenset[str]] = {}
    for media_type in media:
        exts = ext_table.strings(media_type)
        bad = [e for e in exts if not re.fullmatch(r"\.[a-z0-9]+", e)]
        if bad:
            raise ext_table.error(media_type, f"extension mal formée {bad[0]!r} (ex. « .pdf »)")
        extensions[media_type] = frozenset(exts)
    ext_table.finish()
    rules = FileRules(
        max_size_bytes=t.integer("max_size_bytes", minimum=1),
        accepted_media_types=frozenset(media),
        extensions=extensions,
        # What the checks accept is what the extractor reads and the dossier page shows.
        max_pdf_pages=t.integer("max_pdf_pages", minimum=1, maximum=MAX_PDF_PAGES),
        forbid_dots_in_name=t.boolean("forbid_dots_in_name"),
    )
    t.finish()
    return rules


SCREEN_SIZE = re.compile(r"([1-9][0-9]{2,4})x([1-9][0-9]{2,4})")


def _file_signals(root: _Table) -> FileSignalRules:
    t = root.table("file_signals")
    sizes: set[tuple[int, int]] = set()
    for text in t.strings("screen_sizes"):
        match = SCREEN_SIZE.fullmatch(text)
        if match is None:
            raise t.error(
                "screen_sizes", f"taille d'écran « largeurxhauteur » attendue, reçu {text!r}"
            )
        width, height = int(match[1]), int(match[2])
        sizes |= {(width, height), (height, width)}
    rules = FileSignalRules(
        image_editors=t.strings("image_editors"),
        registry_producers=t.strings("registry_producers"),
        screen_sizes=frozenset(sizes),
        screenshot_document_types=frozenset(
            t.strings("screenshot_document_types", allowed=DOCUMENT_TYPES, non_empty=False)
        ),
        min_identity_short_side_px=t.integer("min_identity_short_side_px", maximum=10_000),
    )
    t.finish()
    return rules


def _identity(root: _Table) -> IdentityRules:
    t = root.table("identity")
    accepted = t.strings("accepted_types", allowed=IDENTITY_TYPES)
    if "visa" in accepted:
        raise t.error("accepted_types", "un visa n'est jamais une pièce d'identité acceptée")
    manual = t.strings("manual_types", allowed=IDENTITY_TYPES, default=[], non_empty=False)
    if "visa" in manual:
        raise t.error("manual_types", "un visa n'est jamais une pièce d'identité acceptée")
    rules = IdentityRules(
        accepted_types=frozenset(accepted),
        manual_types=frozenset(manual),
        accept_residence_permit=t.boolean("accept_residence_permit"),
        residence_permit_codes=frozenset(t.strings("residence_permit_codes")),
        trusted_issuers=frozenset(_issuing_states(t, "trusted_issuers")),
    )
    t.finish()
    return rules


def _issuing_states(t: _Table, name: str) -> tuple[str, ...]:
    codes = t.strings(name)
    bad = [c for c in codes if not ISSUING_STATE.fullmatch(c)]
    if bad:
        raise t.error(name, f"code d'État émetteur OACI mal formé {bad[0]!r} (ex. « FRA », « D »)")
    return codes


def _reuse(root: _Table) -> ReuseRules:
    t = root.table("reuse")
    rules = ReuseRules(
        max_image_distance=t.integer("max_image_distance", maximum=MAX_INDEXED_DISTANCE)
    )
    t.finish()
    return rules


def _kbis(root: _Table) -> KbisRules:
    t = root.table("kbis")
    rules = KbisRules(
        max_age_months=t.integer("max_age_months", minimum=1),
        accepted_kinds=frozenset(t.strings("accepted_kinds", allowed=KBIS_KINDS)),
    )
    t.finish()
    return rules


TRUST_SUFFIXES = (".pem", ".crt", ".cer")


def _trust_store(t: _Table, name: str, base: Path | None) -> tuple[str, list[x509.Certificate]]:
    """The PEM certificates of a file or a directory (its *.pem, *.crt, *.cer), relative to
    the rules directory."""
    relative = t.string(name)
    if base is None:
        raise t.error(name, "magasin de confiance sans répertoire des règles")
    path = (base / relative).resolve()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in TRUST_SUFFIXES)
    elif path.is_file():
        files = [path]
    else:
        raise t.error(name, f"magasin de confiance introuvable : {_display(path)}")
    anchors: list[x509.Certificate] = []
    for file in files:
        try:
            found = x509.load_pem_x509_certificates(file.read_bytes())
        except (OSError, ValueError) as exc:
            raise t.error(
                name, f"{file.name} : certificat PEM illisible ({type(exc).__name__})"
            ) from exc
        for certificate in found:
            try:
                constraints = certificate.extensions.get_extension_for_class(
                    x509.BasicConstraints
                ).value
            except x509.ExtensionNotFound:
                constraints = None
            if constraints is None or not constraints.ca:
                raise t.error(
                    name,
                    f"{file.name} : « {certificate.subject.rfc4514_string()} » n'est pas "
                    "un certificat d'autorité (BasicConstraints CA)",
                )
            anchors.append(certificate)
    if not anchors:
        raise t.error(name, f"magasin de confiance vide : {_display(path)}")
    return relative, anchors


def _mandate(root: _Table, base: Path | None) -> MandateRules:
    t = root.table("mandate")
    max_age_months = t.integer("max_age_months", minimum=1)
    require_signature_field = t.boolean("require_signature_field")
    require_countersignature = t.boolean("require_countersignature")
    store, anchors = _trust_store(t, "trust_store", base)
    rules = MandateRules(
        max_age_months=max_age_months,
        require_signature_field=require_signature_field,
        require_countersignature=require_countersignature,
        trust_store=store,
        trust_anchors=tuple(a.public_bytes(serialization.Encoding.DER) for a in anchors),
        trust_subjects=tuple(a.subject.rfc4514_string() for a in anchors),
    )
    t.finish()
    return rules


def _contact(root: _Table) -> ContactRules:
    t = root.table("contact")
    prefixes = t.strings("mobile_prefixes")
    excluded = t.strings("excluded_prefixes", default=[], non_empty=False)
    for name, values in (("mobile_prefixes", prefixes), ("excluded_prefixes", excluded)):
        bad = [p for p in values if not re.fullmatch(r"0[0-9]{1,9}", p)]
        if bad:
            raise t.error(name, f"préfixe national attendu (ex. « 06 »), reçu {bad[0]!r}")
    t.finish()
    return ContactRules(mobile_prefixes=prefixes, excluded_prefixes=excluded)


def _fields(root: _Table) -> FieldRules:
    t = root.table("fields")
    punctuation = t.raw("allowed_punctuation")
    if not isinstance(punctuation, str) or any(c.isalnum() or ord(c) > 127 for c in punctuation):
        raise t.error("allowed_punctuation", "doit être une suite de signes ASCII")
    civilities = t.strings("civilities")
    bad = [c for c in civilities if not re.fullmatch(r"[A-Z]{1,8}", c)]
    if bad:
        raise t.error("civilities", f"code en majuscules attendu (ex. « MME »), reçu {bad[0]!r}")
    rules = FieldRules(
        allowed_punctuation=punctuation,
        organisation_required=t.strings("organisation_required", allowed=ORGANISATION_FIELDS),
        person_required=t.strings("person_required", allowed=PERSON_FIELDS),
        civilities=frozenset(civilities),
    )
    t.finish()
    return rules


def _payment(root: _Table) -> PaymentRules:
    t = root.table("payment")
    rules = PaymentRules(pickup_surcharge_offer=t.string("pickup_surcharge_offer"))
    t.finish()
    return rules


def _delivery(root: _Table) -> DeliveryRules:
    t = root.table("delivery")
    fields = t.strings(
        "shipping_address_fields", allowed=tuple(f.removeprefix("address.") for f in ADDRESS_FIELDS)
    )
    t.finish()
    return DeliveryRules(shipping_address_fields=fields)


def _holder(root: _Table) -> HolderRules:
    t = root.table("holder")
    # At most a year: a renewal is for a certificate about to end, not a second one.
    rules = HolderRules(renewal_window_days=t.integer("renewal_window_days", maximum=366))
    t.finish()
    return rules


def _legal_forms(root: _Table) -> dict[str, tuple[str, ...]]:
    t = root.table("legal_forms")
    forms: dict[str, tuple[str, ...]] = {}
    for code in list(t.data):
        if not re.fullmatch(r"[A-Z]{1,12}", code):
            raise t.error(code, "code de forme juridique en majuscules attendu (ex. « SAS »)")
        forms[code] = t.strings(code)
    if not forms:
        raise t.error(None, "ne doit pas être vide")
    t.finish()
    return forms


def _conditions(t: _Table) -> tuple[tuple[str, ...], tuple[str, ...]]:
    when = t.strings("when", allowed=CONDITIONS, default=[], non_empty=False)
    unless = t.strings("unless", allowed=CONDITIONS, default=[], non_empty=False)
    return when, unless


def _requirement_tables(root: _Table, section: str) -> list[_Table]:
    t = root.table(section)
    items = t.raw("required")
    if not isinstance(items, list) or not items:
        raise t.error("required", "doit être une liste de tables [[…]] non vide")
    t.finish()
    return [_Table(root.source, f"{section}.required[{i}]", item) for i, item in enumerate(items)]


def _documents(root: _Table) -> tuple[DocumentRequirement, ...]:
    out = []
    for t in _requirement_tables(root, "documents"):
        doc_type = t.raw("type")
        if doc_type not in DOCUMENT_TYPES:
            raise t.error("type", f"type inconnu {doc_type!r} ({', '.join(DOCUMENT_TYPES)})")
        person = t.raw("person", None)
        if (doc_type == "identity") != (person is not None) or (
            person is not None and person not in ROLES
        ):
            raise t.error("person", f"une pièce d'identité nomme sa personne ({', '.join(ROLES)})")
        when, unless = _conditions(t)
        t.finish()
        out.append(DocumentRequirement(type=doc_type, person=person, when=when, unless=unless))
    return tuple(out)


def _signatures(root: _Table) -> tuple[SignatureRequirement, ...]:
    out = []
    for t in _requirement_tables(root, "signatures"):
        signer = t.raw("signer")
        if signer not in ROLES:
            raise t.error("signer", f"signataire inconnu {signer!r} ({', '.join(ROLES)})")
        when, unless = _conditions(t)
        t.finish()
        out.append(SignatureRequirement(signer=signer, when=when, unless=unless))
    return tuple(out)


def _verdict(root: _Table) -> VerdictRules:
    t = root.table("verdict")
    blocking = t.strings("blocking_failures", allowed=RULE_IDS, non_empty=False)
    t.finish()
    return VerdictRules(blocking_failures=frozenset(blocking))


def _overrides(root: _Table) -> OverrideRules:
    t = root.table("overrides")
    never = frozenset(t.strings("never", allowed=RULE_IDS))
    missing = sorted(NEVER_OVERRIDABLE_FLOOR - never)
    if missing:
        raise t.error("never", f"{missing[0]} ne peut jamais faire l'objet d'une dérogation")
    when_table = t.table("never_when")
    never_when: dict[str, frozenset[str]] = {}
    for rule_id in when_table.data:
        if rule_id not in FAILURE_CODES:
            raise when_table.error(
                rule_id, f"aucun code d'échec pour ce contrôle ({', '.join(FAILURE_CODES)})"
            )
        if rule_id in never:
            raise when_table.error(rule_id, "déjà impératif en toutes circonstances (never)")
        never_when[rule_id] = frozenset(when_table.strings(rule_id, allowed=FAILURE_CODES[rule_id]))
    for rule_id, floor in NEVER_OVERRIDABLE_WHEN_FLOOR.items():
        absent = sorted(floor - never_when.get(rule_id, frozenset()))
        if rule_id not in never and absent:
            raise when_table.error(
                rule_id, f"« {absent[0]} » ne peut jamais faire l'objet d'une dérogation"
            )
    when_table.finish()
    t.finish()
    return OverrideRules(never=never, never_when=never_when)


def _customer_requests(root: _Table, verdict: VerdictRules) -> dict[str, str]:
    t = root.table("customer_requests")
    sample = dict.fromkeys(PLACEHOLDERS, "x")
    wording: dict[str, str] = {}
    for rule in RULE_IDS:
        if rule in verdict.blocking_failures or rule in WARN_ONLY_RULES:
            continue  # the customer cannot fix these, or never fails them: nothing to ask for
        text = t.string(rule)
        try:
            text.format_map(sample)
        except KeyError as exc:
            raise t.error(
                rule, f"variable inconnue {{{exc.args[0]}}} ({', '.join(PLACEHOLDERS)})"
            ) from None
        except (ValueError, IndexError) as exc:
            raise t.error(rule, f"accolades mal formées ({exc})") from None
        wording[rule] = text
    for name in t.data:
        if name not in RULE_IDS:
            raise t.error(name, "identifiant de contrôle inconnu")
        t.read.add(name)
    t.finish()
    return wording


def parse_rules(text: bytes, source: str, base: Path | None = None) -> Rules:
    """Validate the content of checks.toml; `source` names the file in error messages,
    `base` is the rules directory the files it names (the trust store) are relative to."""
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RulesError(f"{source}: le fichier doit être encodé en UTF-8 ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source}: TOML invalide : {exc}") from exc
    root = _Table(source, "", data)
    verdict = _verdict(root)
    mandate = _mandate(root, base)
    # The trust store is part of the rules a run applied: its certificates are in the hash.
    digest = hashlib.sha256(text)
    for anchor in sorted(mandate.trust_anchors):
        digest.update(b"\0trust-anchor\0" + anchor)
    rules = Rules(
        files=_files(root),
        file_signals=_file_signals(root),
        identity=_identity(root),
        reuse=_reuse(root),
        kbis=_kbis(root),
        mandate=mandate,
        contact=_contact(root),
        fields=_fields(root),
        payment=_payment(root),
        delivery=_delivery(root),
        holder=_holder(root),
        legal_forms=_legal_forms(root),
        documents=_documents(root),
        signatures=_signatures(root),
        verdict=verdict,
        overrides=_overrides(root),
        customer_requests=_customer_requests(root, verdict),
        content_hash=digest.hexdigest(),
        source=source,
    )
    root.finish()
    return rules


def load_rules(rules_dir: Path) -> Rules:
    path = rules_dir / CHECKS_FILE
    source = _display(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise RulesError(f"{source}: fichier illisible ou absent ({exc.strerror})") from exc
    return parse_rules(text, source, rules_dir)
