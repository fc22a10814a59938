"""The holder's token through PKCS#11 (python-pkcs11): the key pair is born on the token,
sensitive and never extractable, the CSR is signed there, the certificate is written back,
and the token's serial number is read from the token itself.

SoftHSM2 (Debian's `softhsm2`) stands in for a blank USB token in the demo and the tests:
its configuration file and token directory live under the data directory
(<data dir>/softhsm), and each issuance initialises a fresh token there, as the operator
takes a new key from the box. A real token is a configuration change: RA_WORKBENCH_PKCS11_MODULE
(the vendor's PKCS#11 library), RA_WORKBENCH_TOKEN_SLOT or RA_WORKBENCH_TOKEN_LABEL; the token
found there is the one prepared (with SoftHSM2 too, when a slot or label is configured).

The activation code becomes the token's user PIN and is never stored here: it is an
argument, passed on to the token, and forgotten. No Flask, no database.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pkcs11
from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_ecdsa_signature
from pkcs11.util.x509 import decode_x509_certificate

from ra_workbench.config import _persistent_secret

SOFTHSM2_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
DEFAULT_TOKEN_LABEL = "RA Workbench"  # noqa: S105 - a token's name, not a secret
# What the holder's objects are called on the token (CKA_LABEL); CKA_ID ties the key pair
# to its certificate, as PKCS#11 applications (browsers, signing software) expect.
HOLDER_KEY_LABEL = "signature qualifiée"
P256_PARAMETERS = bytes.fromhex("06082a8648ce3d030107")  # namedCurve prime256v1 (DER OID)


class TokenError(Exception):
    """The token cannot be prepared (absent, wrong PIN, refused operation): a message an
    operator can act on."""


@dataclass(frozen=True)
class TokenConfig:
    """Where the token is: its PKCS#11 module, and a serial number, a slot or a label (in
    that order of precedence); the SO PIN that opens it for the security officer; SoftHSM2's
    configuration when the module is SoftHSM2, and whether each issuance initialises a
    fresh SoftHSM2 token (`blank_per_issuance`: SoftHSM2 with no slot or label configured)."""

    module: str
    token_label: str
    so_pin: str
    slot: int | None = None
    softhsm_dir: Path | None = None
    token_serial: str | None = None
    blank_per_issuance: bool = False

    @property
    def softhsm_conf(self) -> Path | None:
        return self.softhsm_dir / "softhsm2.conf" if self.softhsm_dir else None

    @property
    def softhsm_tokens(self) -> Path | None:
        return self.softhsm_dir / "tokens" if self.softhsm_dir else None

    @classmethod
    def from_env(cls, data_dir: Path, environ: Mapping[str, str] | None = None) -> TokenConfig:
        """RA_WORKBENCH_PKCS11_MODULE (SoftHSM2 by default), RA_WORKBENCH_TOKEN_SLOT,
        RA_WORKBENCH_TOKEN_LABEL, RA_WORKBENCH_TOKEN_SO_PIN (else one generated once and kept
        in <data dir>/secrets, fit for SoftHSM2 only)."""
        env = os.environ if environ is None else environ
        module = env.get("RA_WORKBENCH_PKCS11_MODULE") or SOFTHSM2_MODULE
        slot = env.get("RA_WORKBENCH_TOKEN_SLOT") or ""
        if slot and not slot.isdigit():
            raise TokenError(f"RA_WORKBENCH_TOKEN_SLOT : un numéro de slot, lu {slot!r}")
        so_pin = env.get("RA_WORKBENCH_TOKEN_SO_PIN") or _persistent_secret(
            data_dir, "token_so_pin"
        )
        label = env.get("RA_WORKBENCH_TOKEN_LABEL") or ""
        softhsm = _is_softhsm(module)
        return cls(
            module=module,
            token_label=label or DEFAULT_TOKEN_LABEL,
            so_pin=so_pin,
            slot=int(slot) if slot else None,
            softhsm_dir=data_dir / "softhsm" if softhsm else None,
            blank_per_issuance=softhsm and not slot and not label,
        )

    def of_token(self, token_serial: str) -> TokenConfig:
        """The same module, for the token with this serial number (one recorded on a
        certificate, or just initialised)."""
        return replace(self, token_serial=token_serial)


def _is_softhsm(module: str) -> bool:
    return Path(module).name.startswith("libsofthsm2")


@dataclass(frozen=True)
class PreparedToken:
    """What a prepared token gives the CA: the CSR signed on the token (DER), the token's
    serial number as the token reports it, and the key's CKA_ID (for the certificate)."""

    csr_der: bytes
    token_serial: str
    key_id: bytes


# -- SoftHSM2 ---------------------------------------------------------------------------------


def _write_softhsm_conf(config: TokenConfig) -> None:
    conf, tokens = config.softhsm_conf, config.softhsm_tokens
    if conf is None or tokens is None:
        return
    tokens.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    if not conf.exists() or conf.read_text() != text:
        conf.write_text(text)


def initialise_token(config: TokenConfig) -> str:
    """A blank SoftHSM2 token in the first free slot, labelled `config.token_label`, opened by
    the SO PIN; its user PIN is random until `prepare_token` sets the activation code.
    Returns the new token's serial number (several tokens may carry the same label). (A USB
    token comes initialised by its vendor or with its own tool: this is the demo's and the
    tests' stand-in.)"""
    if config.softhsm_conf is None:
        raise TokenError("seul un jeton SoftHSM2 s'initialise ici (module PKCS#11 d'un autre)")
    _write_softhsm_conf(config)
    tool = shutil.which("softhsm2-util")
    if tool is None:
        raise TokenError("softhsm2-util absent : installer le paquet Debian softhsm2")
    with _library_lock:  # the module is re-initialised below: no session may be open
        return _initialise_softhsm_token(config, tool)


def _initialise_softhsm_token(config: TokenConfig, tool: str) -> str:
    result = subprocess.run(
        [
            tool,
            "--init-token",
            "--free",
            "--label",
            config.token_label,
            "--so-pin",
            config.so_pin,
            "--pin",
            secrets.token_hex(8),
        ],
        env={**os.environ, "SOFTHSM2_CONF": str(config.softhsm_conf)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise TokenError(f"initialisation du jeton refusée : {result.stderr.strip()}")
    # « The token has been initialized and is reassigned to slot 1479483093 »
    reassigned = re.search(r"slot (\d+)\s*$", result.stdout)
    if reassigned is None:
        raise TokenError(f"initialisation du jeton : slot non indiqué ({result.stdout.strip()})")
    _library(config).reinitialize()  # the running library sees the new token
    return _serial(_token(replace(config, token_serial=None, slot=int(reassigned.group(1)))))


def station_token(config: TokenConfig) -> TokenConfig:
    """The token at the preparation station, for one issuance: with SoftHSM2 and no slot or
    label configured, a fresh blank token initialised now (a new key from the box); else the
    configured token, which must be there (`TokenError` otherwise, when it is opened)."""
    if config.blank_per_issuance:
        return config.of_token(initialise_token(config))
    return config


def describe_station(config: TokenConfig) -> str:
    """The preparation station in French, once its PKCS#11 module is loaded (SoftHSM2: its
    configuration and token directory written), so that the set-up, not the first issuance,
    says a module is missing."""
    _library(config)
    if config.blank_per_issuance:
        return f"SoftHSM2, un jeton neuf par émission, sous {config.softhsm_tokens}"
    where = f"slot {config.slot}" if config.slot is not None else f"« {config.token_label} »"
    return f"le jeton {where} du module {config.module}"


# -- PKCS#11 ----------------------------------------------------------------------------------

# Held by every session and by each re-initialisation of the module, which closes every
# session of the process (C_Finalize): two issuances in two threads of one process take turns.
_library_lock = threading.RLock()
# One loaded module per path and process (a second C_Initialize is refused), and the
# SoftHSM2 configuration file it was initialised with.
_libraries: dict[str, tuple[Any, str | None]] = {}


def _library(config: TokenConfig) -> Any:
    """The module, loaded once per process; SoftHSM2 reads SOFTHSM2_CONF when initialised,
    so a change of configuration file (another data directory) re-initialises it."""
    with _library_lock:
        conf = str(config.softhsm_conf) if config.softhsm_conf else None
        if conf is not None:
            _write_softhsm_conf(config)
            os.environ["SOFTHSM2_CONF"] = conf
        loaded = _libraries.get(config.module)
        if loaded is None:
            try:
                lib = pkcs11.lib(config.module)
            except pkcs11.PKCS11Error as exc:
                raise TokenError(f"module PKCS#11 introuvable : {config.module}") from exc
        else:
            lib, loaded_conf = loaded
            if loaded_conf != conf:
                lib.reinitialize()
        _libraries[config.module] = (lib, conf)
        return lib


def _token(config: TokenConfig) -> Any:
    lib = _library(config)
    found = []
    for slot in lib.get_slots(token_present=True):
        if config.slot is not None and config.token_serial is None:
            if slot.slot_id == config.slot:
                return slot.get_token()
            continue
        try:
            token = slot.get_token()
        except pkcs11.PKCS11Error:  # pulled out, unrecognised, unreadable: not this one
            continue
        if config.token_serial is not None:
            if _serial(token) == config.token_serial:
                return token
        elif token.label == config.token_label:
            found.append(token)
    if config.token_serial is not None:
        raise TokenError(f"le jeton n° {config.token_serial} n'est pas branché")
    if config.slot is not None:
        raise TokenError(f"aucun jeton dans le slot {config.slot}")
    if not found:
        raise TokenError(f"aucun jeton « {config.token_label} » branché")
    if len(found) > 1:
        raise TokenError(f"plusieurs jetons « {config.token_label} » : préciser le slot")
    return found[0]


def _serial(token: Any) -> str:
    # CK_TOKEN_INFO.serialNumber: 16 characters, blank-padded.
    return bytes(token.serial).decode("ascii", "replace").strip()


@contextmanager
def token_session(config: TokenConfig, *, user_pin: str | None = None) -> Iterator[Any]:
    """A read-write session, as the user with `user_pin`, else as the security officer."""
    with _library_lock:
        token = _token(config)
        try:
            if user_pin is not None:
                session = token.open(rw=True, user_pin=user_pin)
            else:
                session = token.open(rw=True, so_pin=config.so_pin)
        except pkcs11.PinIncorrect as exc:
            raise TokenError("code PIN du jeton refusé") from exc
        with session:
            yield session


def _token_signed_csr(public: Any, private: Any, subject: x509.Name) -> bytes:
    """PKCS#10 over the token's public key, signed by the token (ECDSA with SHA-256: the
    digest is computed here, the signature on the token, which every token supports)."""
    info = asn1_csr.CertificationRequestInfo(
        {
            "version": "v1",
            "subject": asn1_x509.Name.load(subject.public_bytes()),
            "subject_pk_info": asn1_keys.PublicKeyInfo.load(encode_ec_public_key(public)),
            "attributes": [],
        }
    )
    digest = hashlib.sha256(info.dump()).digest()
    signature = encode_ecdsa_signature(private.sign(digest, mechanism=Mechanism.ECDSA))
    request = asn1_csr.CertificationRequest(
        {
            "certification_request_info": info,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": signature,
        }
    )
    return bytes(request.dump())


def prepare_token(
    config: TokenConfig, *, activation_code: str, subject: x509.Name
) -> PreparedToken:
    """Set the token's user PIN to the activation code (as the security officer), generate an
    EC P-256 key pair on it (private key sensitive, never extractable) and a CSR for
    `subject` signed by it. The activation code is not kept."""
    if not activation_code:
        raise TokenError("code d'activation vide")
    try:
        with token_session(config) as so_session:
            so_session.init_pin(activation_code)
        key_id = secrets.token_bytes(16)
        with token_session(config, user_pin=activation_code) as session:
            # A token prepared again (an earlier attempt failed after its key was made)
            # keeps one key pair, this attempt's.
            for leftover in list(session.get_objects({Attribute.LABEL: HOLDER_KEY_LABEL})):
                leftover.destroy()
            parameters = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: P256_PARAMETERS}, local=True
            )
            public, private = parameters.generate_keypair(
                store=True,
                id=key_id,
                label=HOLDER_KEY_LABEL,
                private_template={
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.PRIVATE: True,
                },
            )
            csr_der = _token_signed_csr(public, private, subject)
            serial = _serial(session.token)
    except pkcs11.PKCS11Error as exc:
        raise TokenError(f"le jeton a refusé l'opération ({type(exc).__name__})") from exc
    return PreparedToken(csr_der=csr_der, token_serial=serial, key_id=key_id)


def write_certificate(
    config: TokenConfig, *, activation_code: str, key_id: bytes, certificate_pem: str
) -> None:
    """Store the issued certificate on the token beside its key (same CKA_ID and label)."""
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    attributes = decode_x509_certificate(certificate.public_bytes(serialization.Encoding.DER))
    attributes.update(
        {
            Attribute.TOKEN: True,
            Attribute.ID: key_id,
            Attribute.LABEL: HOLDER_KEY_LABEL,
        }
    )
    try:
        with token_session(config, user_pin=activation_code) as session:
            session.create_object(attributes)
    except pkcs11.PKCS11Error as exc:
        raise TokenError(f"le jeton a refusé le certificat ({type(exc).__name__})") from exc


def set_activation_code(config: TokenConfig, *, activation_code: str) -> None:
    """Set the user PIN again, as the security officer (C_InitPIN), to `activation_code`:
    for an activation code that can only be known once the certificate is issued (derived
    from its serial, notify/service.activation_code_for), the token is prepared under a
    transient PIN and given the activation code last. Not kept here either."""
    if not activation_code:
        raise TokenError("code d'activation vide")
    try:
        with token_session(config) as so_session:
            so_session.init_pin(activation_code)
    except pkcs11.PKCS11Error as exc:
        raise TokenError(f"le jeton a refusé le code PIN ({type(exc).__name__})") from exc


def certificates_on_token(config: TokenConfig, *, activation_code: str) -> list[bytes]:
    """The X.509 certificates stored on the token (DER), for checks after hand-over."""
    with token_session(config, user_pin=activation_code) as session:
        return [
            bytes(obj[Attribute.VALUE])
            for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})
        ]
