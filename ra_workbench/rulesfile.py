"""Reading the TOML files of rules/: one error type and one typed reader, so that every
domain's loader names the file and the key of what is wrong, in French."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

T = TypeVar("T")


class RulesError(RuntimeError):
    """rules/ is missing or malformed; the message names the file and the key, in French."""


class TomlReader:
    """Typed access to one table of a rules file; every error names file and key."""

    def __init__(self, source: str, data: Any, prefix: str = "") -> None:
        if not isinstance(data, dict):
            raise RulesError(f"{source}: clé {prefix or '(racine)'} : table attendue")
        self.source = source
        self.data = data
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def error(self, name: str, problem: str) -> RulesError:
        return RulesError(f"{self.source}: clé {self.key(name)} : {problem}")

    def table(self, name: str) -> TomlReader:
        if name not in self.data:
            raise self.error(name, "table manquante")
        return TomlReader(self.source, self.data[name], self.key(name))

    def integer(self, name: str, *, minimum: int = 0) -> int:
        value = self.data.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self.error(name, f"entier ≥ {minimum} attendu, lu {value!r}")
        return value

    def number(self, name: str, *, minimum: float, maximum: float) -> float:
        value = self.data.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self.error(name, f"nombre attendu, lu {value!r}")
        if not minimum <= value <= maximum:
            raise self.error(name, f"valeur entre {minimum} et {maximum} attendue, lu {value!r}")
        return float(value)

    def string(self, name: str) -> str:
        value = self.data.get(name)
        if not isinstance(value, str) or not value.strip():
            raise self.error(name, f"texte attendu, lu {value!r}")
        return value

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise self.error(name, f"liste de textes non vide attendue, lu {value!r}")
        return tuple(value)

    def integers(self, name: str, *, minimum: int = 0) -> tuple[int, ...]:
        value = self.data.get(name)
        if (
            not isinstance(value, list)
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or any(v < minimum for v in value)
        ):
            raise self.error(name, f"liste d'entiers ≥ {minimum} attendue, lu {value!r}")
        return tuple(value)

    def unknown_keys(self, allowed: set[str]) -> None:
        extra = sorted(set(self.data) - allowed)
        if extra:
            raise self.error(extra[0], "clé inconnue")


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise RulesError(f"{path}: fichier introuvable") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: TOML invalide : {exc}") from exc


@functools.lru_cache(maxsize=32)
def _parsed(path: Path, mtime_ns: int, parse: Callable[[Path], Any]) -> Any:
    return parse(path)


def load_when_changed(
    path: Path, parse: Callable[[Path], T], missing: type[Exception] = RulesError
) -> T:
    """`parse(path)`, parsed again only when the file changed (its mtime): a rules file
    edited on a running instance is read at the next request, an unchanged one never twice."""
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError as exc:
        raise missing(f"{path}: fichier introuvable") from exc
    return cast(T, _parsed(path, mtime, parse))
