"""Issuance configuration: rules/issuance.toml, overridden by the environment.

Loaded and validated when the issuance blueprint is registered (application start-up), so a
bad policy OID or key algorithm stops the app with a French message naming the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from ra_workbench.issuance.ca import KEY_ALGORITHMS, CertificateProfile, Publication

ISSUANCE_FILE = "issuance.toml"
CONFIG_KEY = "RA_ISSUANCE"
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
_BACKEND = re.compile(r"^(local|failing(:[0-9]+)?)$")


class IssuanceConfigError(RuntimeError):
    """rules/issuance.toml or its environment overrides are malformed (message in French)."""


MAX_APPROVAL_HOURS = 24 * 31
DEFAULT_PUBLIC_URL = "http://pki.ra-workbench.fr"
DEFAULT_PDS = {
    "fr": "https://www.certeurope.fr/pds/pds-fr.pdf",
    "en": "https://www.certeurope.fr/pds/pds-en.pdf",
}
# Where relying parties fetch the CA certificate, the CRL and OCSP answers: the public
# blueprint's routes (ra_workbench/issuance/public.py), under the public base URL.
CA_ISSUERS_PATH = "/pki/ac-emettrice.cer"
CRL_PATH = "/pki/ac-emettrice.crl"
OCSP_PATH = "/pki/ocsp"


@dataclass(frozen=True)
class IssuanceConfig:
    backend: str
    profile: CertificateProfile
    # An approval older than this is not issued (REG-6.3.1-00B).
    approval_valid_hours: int = 168
    public_url: str = DEFAULT_PUBLIC_URL
    # A CRL's nextUpdate is this many hours after its thisUpdate; it is regenerated on every
    # revocation and, by the schedule, before it goes stale.
    crl_next_update_hours: int = 24
    ocsp_next_update_hours: int = 24


def _http_url(key: str, value: Any, *, https: bool = False) -> str:
    text = str(value or "").strip()
    schemes = ("https://",) if https else ("http://", "https://")
    if not text.startswith(schemes) or " " in text:
        expected = "https://" if https else "http(s)://"
        raise _fail(key, f"URL {expected} attendue, lu {value!r}")
    return text.rstrip("/")


def _hours(section: Mapping[str, Any], key: str, default: int, name: str) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 24 * 31:
        raise _fail(name, f"nombre d'heures entre 1 et {24 * 31} attendu, lu {value!r}")
    return value


def _fail(key: str, message: str) -> IssuanceConfigError:
    return IssuanceConfigError(f"rules/{ISSUANCE_FILE} : clé {key} : {message}")


def parse_config(raw: Mapping[str, Any], environ: Mapping[str, str]) -> IssuanceConfig:
    ca = raw.get("ca") or {}
    certificate = raw.get("certificate") or {}
    backend = str(environ.get("RA_WORKBENCH_CA_BACKEND") or ca.get("backend") or "local")
    if not _BACKEND.match(backend):
        raise _fail("ca.backend", f"{backend!r} inconnu (local, failing ou failing:N)")
    oids_env = environ.get("RA_WORKBENCH_CERT_POLICY_OIDS")
    oids: Any = (
        [o.strip() for o in oids_env.split(",") if o.strip()]
        if oids_env
        else certificate.get("policy_oids")
    )
    if not isinstance(oids, list) or not oids:
        raise _fail("certificate.policy_oids", "au moins un OID de politique est requis")
    for oid in oids:
        if not isinstance(oid, str) or not _OID.match(oid):
            raise _fail("certificate.policy_oids", f"OID invalide : {oid!r}")
    validity: Any = environ.get("RA_WORKBENCH_CERT_VALIDITY_DAYS") or certificate.get(
        "validity_days", 1095
    )
    try:
        validity_days = int(validity)
    except (TypeError, ValueError) as exc:
        raise _fail("certificate.validity_days", f"entier attendu, lu {validity!r}") from exc
    if not 1 <= validity_days <= 5 * 366:
        raise _fail("certificate.validity_days", "entre 1 et 1830 jours")
    algorithm = str(
        environ.get("RA_WORKBENCH_TOKEN_KEY_ALGORITHM")
        or certificate.get("key_algorithm")
        or "p256"
    )
    if algorithm not in KEY_ALGORITHMS:
        raise _fail("certificate.key_algorithm", f"{algorithm!r} : p256 ou rsa3072 attendu")
    hours: Any = (raw.get("approval") or {}).get("valid_hours", 168)
    if not isinstance(hours, int) or isinstance(hours, bool):
        raise _fail("approval.valid_hours", f"entier attendu, lu {hours!r}")
    if not 1 <= hours <= MAX_APPROVAL_HOURS:
        raise _fail("approval.valid_hours", f"entre 1 et {MAX_APPROVAL_HOURS} heures")
    publication = raw.get("publication") or {}
    public_url = _http_url(
        "publication.public_url (RA_WORKBENCH_PUBLIC_URL)",
        environ.get("RA_WORKBENCH_PUBLIC_URL")
        or publication.get("public_url")
        or DEFAULT_PUBLIC_URL,
    )
    pds = publication.get("pds", DEFAULT_PDS)
    if not isinstance(pds, Mapping) or not {"fr", "en"} <= set(pds):
        raise _fail("publication.pds", "les URL des PDS en français (fr) et anglais (en)")
    pds_urls = tuple(
        (_http_url(f"publication.pds.{lang}", url, https=True), str(lang))
        for lang, url in pds.items()
    )
    return IssuanceConfig(
        approval_valid_hours=hours,
        backend=backend,
        public_url=public_url,
        crl_next_update_hours=_hours(
            publication, "crl_next_update_hours", 24, "publication.crl_next_update_hours"
        ),
        ocsp_next_update_hours=_hours(
            publication, "ocsp_next_update_hours", 24, "publication.ocsp_next_update_hours"
        ),
        profile=CertificateProfile(
            policy_oids=tuple(oids),
            validity_days=validity_days,
            key_algorithm=algorithm,
            publication=Publication(
                ca_issuers_url=public_url + CA_ISSUERS_PATH,
                crl_url=public_url + CRL_PATH,
                ocsp_url=public_url + OCSP_PATH,
                pds=pds_urls,
            ),
        ),
    )


def load_config(rules_dir: Path, environ: Mapping[str, str] | None = None) -> IssuanceConfig:
    path = rules_dir / ISSUANCE_FILE
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise IssuanceConfigError(f"rules/{ISSUANCE_FILE} illisible : {exc}") from exc
    return parse_config(raw, os.environ if environ is None else environ)


def init_app(app: Flask) -> None:
    app.config[CONFIG_KEY] = load_config(app.config["RA_SETTINGS"].rules_dir)


def issuance_config() -> IssuanceConfig:
    config = current_app.config.get(CONFIG_KEY)
    if config is None:
        config = load_config(current_app.config["RA_SETTINGS"].rules_dir)
        current_app.config[CONFIG_KEY] = config
    return config  # type: ignore[no-any-return]
