"""The seal sent to supervisors: a signed text block they keep, and that `audit verify
--seal FILE` reads back.

An e-mail in the supervisors' mailboxes is out of reach of whoever owns the database host
(and the data directory): if the trail is later truncated or rolled back, a kept seal
still says « the chain had reached entry n°N, of hash H, on that day ». The block carries
the audit key's MAC, so a seal cannot be forged by someone without the key; checking it
needs the key too, hence on an application host: `ra-workbench audit verify --seal FILE`.

Lines stay under 76 characters and contain no « = », so that a saved message — even
quoted-printable, even quoted with « > » in a forward — still parses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ra_workbench.audit.anchor import SEAL_VERSION, Seal
from ra_workbench.audit.chain import ChainProblem

BEGIN = "-----BEGIN RA-WORKBENCH AUDIT SEAL-----"
END = "-----END RA-WORKBENCH AUDIT SEAL-----"
_FIELDS = ("version", "kind", "genesis", "seq", "hash", "at", "mac")


def seal_block(seal: Seal) -> str:
    lines = [
        BEGIN,
        f"version: {SEAL_VERSION}",
        f"kind: {seal.kind}",
        f"genesis: {seal.genesis}",
        f"seq: {seal.seq}",
        f"hash: {seal.hash}",
        f"at: {seal.at}",
        f"mac: {seal.mac}",
        END,
    ]
    return "\n".join(lines)


class SealFormatError(ValueError):
    """A text that should hold a seal does not (message in French)."""


_QUOTE = re.compile(r"^[>\s]*")


def parse_seal_blocks(text: str) -> list[Seal]:
    """Every seal block in a text (a saved e-mail, a forward, a file of several)."""
    seals: list[Seal] = []
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = _QUOTE.sub("", raw).strip()
        if line == BEGIN:
            current = {}
            continue
        if current is None:
            continue
        if line == END:
            missing = [name for name in _FIELDS if name not in current]
            if missing:
                raise SealFormatError(f"sceau incomplet : champ(s) {', '.join(missing)} absent(s)")
            if current["version"] != SEAL_VERSION:
                raise SealFormatError(f"version de sceau inconnue : {current['version']}")
            try:
                seq = int(current["seq"])
            except ValueError as exc:
                raise SealFormatError(
                    f"sceau : numéro d'entrée invalide {current['seq']!r}"
                ) from exc
            seals.append(
                Seal(
                    kind=current["kind"],
                    genesis=current["genesis"],
                    seq=seq,
                    hash=current["hash"],
                    at=current["at"],
                    mac=current["mac"],
                )
            )
            current = None
            continue
        name, sep, value = line.partition(":")
        if sep and name.strip() in _FIELDS:
            current[name.strip()] = value.strip()
    if current is not None:
        raise SealFormatError("sceau tronqué : fin de bloc absente")
    return seals


@dataclass(frozen=True)
class SealNotice:
    """The e-mail to supervisors: subject and body (French)."""

    subject: str
    body: str


def _short(digest: str) -> str:
    return f"{digest[:16]}…{digest[-8:]}"


def seal_notice(
    seal: Seal,
    *,
    places: Sequence[str],
    timestamp_note: str,
    failed_places: Sequence[str] = (),
) -> SealNotice:
    subject = (
        "[RA Workbench] Sceau du journal d'audit : "
        f"{seal.seq} entrée(s) au {seal.at[:16].replace('T', ' ')} UTC"
    )
    place_lines = "\n".join(f"  - {p}" for p in places) or "  (aucune)"
    failed = ""
    if failed_places:
        failed = "\nÉcriture impossible dans : " + ", ".join(failed_places) + "\n"
    body = f"""Sceau du journal d'audit de RA Workbench.

Le journal a été vérifié (empreintes, MAC, ancres) puis scellé :

  entrées : {seal.seq}
  empreinte de l'entrée n°{seal.seq} : {_short(seal.hash)}
  chaîne (entrée n°1) : {_short(seal.genesis)}
  scellé le : {seal.at} (UTC)
  horodatage RFC 3161 : {timestamp_note}

Ancres mises à jour :
{place_lines}
{failed}
Conservez ce message, hors de l'application : il atteste l'état du journal à cette date.
Si un jour le journal compte moins d'entrées que ce sceau, ou une autre empreinte pour
l'entrée n°{seal.seq}, il a été tronqué ou réécrit. Pour le vérifier, enregistrez ce
message dans un fichier et lancez sur un serveur de l'application :

  ra-workbench audit verify --seal FICHIER

{seal_block(seal)}
"""
    return SealNotice(subject, body)


def alert_notice(problems: Sequence[ChainProblem], entries: int) -> SealNotice:
    listed = "\n".join(f"  - [{p.kind}] {p.message}" for p in problems)
    body = f"""ALERTE — journal d'audit de RA Workbench altéré.

La vérification préalable au sceau périodique a échoué ; aucun sceau n'a été écrit.
Entrées lues : {entries}.

Constat :
{listed}

Comparez avec les derniers sceaux reçus (ra-workbench audit verify --seal FICHIER) et
conservez les ancres en l'état pour l'enquête.
"""
    return SealNotice("[RA Workbench] ALERTE : journal d'audit altéré", body)
