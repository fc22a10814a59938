"""Configuration from the environment, with one data directory for everything on disk.

Every setting has an embedded default so that `make demo` runs on a bare machine
(SQLite and a local document store under ./instance); production sets DATABASE_URL
to PostgreSQL and REDIS_URL to a Redis server.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be an integer, got {raw!r}") from exc


def _env_bool(name: str, *, default: bool) -> bool:
    raw = (os.environ.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "oui", "on"}:
        return True
    if raw in {"0", "false", "no", "non", "off"}:
        return False
    raise RuntimeError(f"{name} must be 1 or 0, got {raw!r}")


def _parse_tokens(raw: str) -> dict[str, str]:
    """`portal=tok1;ops=tok2` → {token: client name}."""
    tokens: dict[str, str] = {}
    for item in raw.split(";"):
        item = item.strip()
        if not item:
            continue
        name, sep, token = item.partition("=")
        if not sep or not name.strip() or len(token.strip()) < 16:
            raise RuntimeError(
                "RA_WORKBENCH_API_TOKENS must read 'client=token;client2=token2' "
                "with tokens of at least 16 characters"
            )
        tokens[token.strip()] = name.strip()
    return tokens


def _parse_anchors(raw: str) -> tuple[str, ...]:
    """`/mnt/other/audit;redis://host:6379/0/ra-audit` → each place outside the data directory
    where the audit trail's head and seal log are also kept (ra_workbench/audit/anchor.py)."""
    places: list[str] = []
    for item in raw.split(";"):
        item = item.strip()
        if not item:
            continue
        if not (item.startswith(("redis://", "rediss://")) or Path(item).is_absolute()):
            raise RuntimeError(
                "RA_WORKBENCH_AUDIT_ANCHORS : chemins absolus ou URL redis://hôte:port/base/clé, "
                f"séparés par « ; » (lu {item!r})"
            )
        places.append(item)
    return tuple(places)


def _parse_recipients(raw: str) -> tuple[str, ...]:
    recipients = tuple(r.strip() for r in raw.replace(";", ",").split(",") if r.strip())
    for recipient in recipients:
        if "@" not in recipient:
            raise RuntimeError(
                "RA_WORKBENCH_AUDIT_SEAL_TO : adresses e-mail séparées par « , » "
                f"(lu {recipient!r})"
            )
    return recipients


def _parse_tsa_url(raw: str) -> str | None:
    raw = raw.strip()
    if raw and not raw.startswith(("http://", "https://")):
        raise RuntimeError(f"RA_WORKBENCH_AUDIT_TSA_URL : URL http(s):// attendue (lu {raw!r})")
    return raw or None


@dataclass
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    api_tokens: dict[str, str]
    rules_dir: Path
    max_upload_bytes: int = 60 * 1024 * 1024
    max_package_uncompressed_bytes: int = 80 * 1024 * 1024
    max_package_entries: int = 200
    session_minutes: int = 30
    claim_minutes: int = 60
    sla_days: int = 5
    ca_passphrase: str = ""
    smtp_url: str | None = None
    audit_key: str = ""
    # Where the audit chain's head is also kept, beyond <data_dir>/audit (paths, redis://).
    audit_anchors: tuple[str, ...] = ()
    # Who receives the periodic signed seal of the chain's head (supervisors).
    audit_seal_recipients: tuple[str, ...] = ()
    # RFC 3161 time-stamping authority asked to stamp each seal, and its CA to check them.
    audit_tsa_url: str | None = None
    audit_tsa_ca_file: Path | None = None
    # Staff sign-in: days a new account may sign in before enrolling a second factor (0: none),
    # session cookie only over HTTPS, and how many refused sign-ins are tolerated.
    mfa_grace_days: int = 0
    secure_cookies: bool = False
    login_limit_client: str = "20 per 10 minutes"
    login_limit_account: str = "10 per hour"
    # Security keys (WebAuthn): the relying party's ID, a host name (never an IP address:
    # browsers refuse one), and the origin the browser must report; None: the request's own.
    webauthn_rp_id: str | None = None
    webauthn_origin: str | None = None
    # Logs: « text » (readable, the demo) or « json » (one event per line, production).
    log_format: str = "text"
    log_level: str = "INFO"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "store"

    @property
    def inbox_dir(self) -> Path:
        return self.data_dir / "inbox"

    @property
    def ca_dir(self) -> Path:
        return self.data_dir / "ca"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get("RA_WORKBENCH_DATA") or "instance").resolve()
        default_db = f"sqlite:///{data_dir / 'ra_workbench.sqlite3'}"
        database_url = env.get("DATABASE_URL") or default_db
        if database_url.startswith("postgresql://"):
            # psycopg 3 is the driver we ship.
            database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
        secret_key = env.get("RA_WORKBENCH_SECRET_KEY") or _persistent_secret(
            data_dir, "secret_key"
        )
        audit_key = env.get("RA_WORKBENCH_AUDIT_KEY") or _persistent_secret(data_dir, "audit_key")
        tsa_ca = env.get("RA_WORKBENCH_AUDIT_TSA_CA")
        rules_dir = Path(
            env.get("RA_WORKBENCH_RULES") or Path(__file__).resolve().parent.parent / "rules"
        )
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            redis_url=env.get("REDIS_URL") or None,
            secret_key=secret_key,
            api_tokens=_parse_tokens(env.get("RA_WORKBENCH_API_TOKENS", "")),
            rules_dir=rules_dir,
            max_upload_bytes=_env_int("RA_WORKBENCH_MAX_UPLOAD_BYTES", 60 * 1024 * 1024),
            max_package_uncompressed_bytes=_env_int(
                "RA_WORKBENCH_MAX_PACKAGE_BYTES", 80 * 1024 * 1024
            ),
            max_package_entries=_env_int("RA_WORKBENCH_MAX_PACKAGE_ENTRIES", 200),
            session_minutes=_env_int("RA_WORKBENCH_SESSION_MINUTES", 30),
            claim_minutes=_env_int("RA_WORKBENCH_CLAIM_MINUTES", 60),
            sla_days=_env_int("RA_WORKBENCH_SLA_DAYS", 5),
            ca_passphrase=env.get("RA_WORKBENCH_CA_PASSPHRASE", ""),
            smtp_url=env.get("RA_WORKBENCH_SMTP_URL") or None,
            audit_key=audit_key,
            audit_anchors=_parse_anchors(env.get("RA_WORKBENCH_AUDIT_ANCHORS", "")),
            audit_seal_recipients=_parse_recipients(env.get("RA_WORKBENCH_AUDIT_SEAL_TO", "")),
            audit_tsa_url=_parse_tsa_url(env.get("RA_WORKBENCH_AUDIT_TSA_URL", "")),
            audit_tsa_ca_file=Path(tsa_ca) if tsa_ca else None,
            mfa_grace_days=_env_int("RA_WORKBENCH_MFA_GRACE_DAYS", 0),
            secure_cookies=_env_bool("RA_WORKBENCH_SECURE_COOKIES", default=False),
            login_limit_client=env.get("RA_WORKBENCH_LOGIN_LIMIT_CLIENT") or "20 per 10 minutes",
            login_limit_account=env.get("RA_WORKBENCH_LOGIN_LIMIT_ACCOUNT") or "10 per hour",
            webauthn_rp_id=env.get("RA_WORKBENCH_WEBAUTHN_RP_ID") or None,
            webauthn_origin=env.get("RA_WORKBENCH_WEBAUTHN_ORIGIN") or None,
            log_format=(env.get("RA_WORKBENCH_LOG_FORMAT") or "text").strip().lower(),
            log_level=(env.get("RA_WORKBENCH_LOG_LEVEL") or "INFO").strip().upper(),
        )


def _persistent_secret(data_dir: Path, name: str) -> str:
    """A random secret generated once and kept in the data directory (never in the database)."""
    path = data_dir / "secrets" / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(value)
    tmp.chmod(0o600)
    tmp.replace(path)
    return value
