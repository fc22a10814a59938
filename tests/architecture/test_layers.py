"""The house's shape, kept true: imports point downstream along the dossier's journey.

foundation ← core ← notify (leaf) ← ingest ← checks ← review ← issuance ← delivery ← read
models ← shell. A module may import its own domain and anything on a lower floor; never a
later domain, never a cycle. Imports written inside functions count too (they are arrows
all the same); `TYPE_CHECKING` blocks do not.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ra_workbench"

# The floor of each top-level part of the package: a module may import a part on a strictly
# lower floor (and its own part). Foundation and core are ordered inside too (db before the
# unit of work before the audit trail…), so no two parts of one floor lean on each other.
FLOORS: dict[str, float] = {
    # foundation
    "db": 0.0,
    "extensions": 0.1,
    "logs": 0.1,
    "schema": 0.15,
    "config": 0.2,
    "clock": 0.2,
    "rulesfile": 0.2,
    "labels": 0.25,
    "der": 0.2,
    "asyncrun": 0.2,
    "unit": 0.3,
    "audit": 0.4,
    "accounts": 0.5,
    "jobs": 0.6,
    # core
    "extraction": 1.0,
    "dossiers": 1.1,
    "documents": 1.2,
    "certificates": 1.3,
    # leaf
    "notify": 2.0,
    # the journey, in its order
    "ingest": 3.0,
    "checks": 4.0,
    "review": 5.0,
    "issuance": 6.0,
    "delivery": 7.0,
    "revocation": 7.5,
    # read models
    "portal": 8.0,
    "supervision": 8.1,
    # shell
    **dict.fromkeys(
        ("app", "web", "cli", "console", "worker", "journey", "demo", "models", "synth"), 9.0
    ),
}
# Command-line modules are shells whatever folder they sit in (they call one service each).
SHELL_MODULE_SUFFIXES = (".cli",)
SHELL = 9.0
# Imports allowed inside functions: CLI modules, and these heavy optional libraries.
LAZY_ALLOWED_MODULES = {"__future__"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _edges(modules: dict[str, Path]) -> Iterator[tuple[str, str, int]]:
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        type_checking: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
                type_checking |= {id(x) for b in node.body for x in ast.walk(b)}
        base = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in type_checking or not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                target = node.module or ""
                if node.level:
                    anchor = base
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    target = f"{anchor}.{target}" if target else anchor
                names = [f"{target}.{a.name}" for a in node.names]
            for name in names:
                if name.startswith("ra_workbench"):
                    resolved = _resolve(name, modules)
                    if resolved and resolved != module:
                        yield module, resolved, node.lineno


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def floor(module: str) -> float:
    if module.endswith(SHELL_MODULE_SUFFIXES):
        return SHELL
    part = _part(module)
    if part not in FLOORS:
        raise AssertionError(f"{module}: its folder has no floor in FLOORS (add it)")
    return FLOORS[part]


def test_every_part_of_the_package_has_a_floor() -> None:
    for module in _modules():
        if module != "ra_workbench":
            floor(module)


def test_imports_point_downstream_only() -> None:
    modules = _modules()
    upstream = sorted(
        f"{src}:{line} → {dst}"
        for src, dst, line in _edges(modules)
        if dst != "ra_workbench"
        and _part(src) != _part(dst)
        and floor(dst) >= floor(src)
        and not (floor(src) == SHELL and floor(dst) == SHELL)
    )
    assert not upstream, "imports pointing upstream or sideways:\n" + "\n".join(upstream)


def test_import_graph_has_no_cycle() -> None:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for src, dst, _line in _edges(modules):
        graph[src].add(dst)
    cycles = _strongly_connected(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root, edges in graph.items():
        if root in index:
            continue
        work = [(root, iter(sorted(edges)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


@pytest.mark.parametrize(
    ("src", "dst", "expected"),
    [
        ("ra_workbench.review.decisions", "ra_workbench.issuance.service", False),
        ("ra_workbench.issuance.service", "ra_workbench.review.models", True),
        ("ra_workbench.notify.service", "ra_workbench.delivery.service", False),
        ("ra_workbench.journey", "ra_workbench.delivery.service", True),
        ("ra_workbench.unit", "ra_workbench.jobs.queue", False),
    ],
)
def test_the_contract_itself_tells_upstream_from_downstream(
    src: str, dst: str, expected: bool
) -> None:
    allowed = _part(src) == _part(dst) or floor(dst) < floor(src)
    assert allowed is expected


def test_the_rule_catalogue_and_its_facts_load_without_the_database_layer() -> None:
    """The rules are pure functions over frozen facts: importing them loads no ORM model."""
    probe = (
        "import sys, ra_workbench.checks.catalogue, ra_workbench.checks.engine\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('ra_workbench') and "
        "(m.endswith('.models') or m == 'ra_workbench.extensions'))\n"
        "print(','.join(loaded + (['sqlalchemy.orm'] if 'sqlalchemy.orm' in sys.modules else [])))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


_TASK_NAME = re.compile(r"ra_workbench\.([a-z_]+)\.tasks:[a-z_]+")


def test_no_module_runs_a_later_domains_task_by_name() -> None:
    """A task named as a string is an arrow too: a domain defers only its own tasks (or the
    foundation's); what a later domain does next is a subscription in the journey table."""
    upstream = []
    for module, path in _modules().items():
        if module in {"ra_workbench", "ra_workbench.jobs.tasks"}:  # the package; the labels
            continue
        if floor(module) == SHELL:
            continue
        for found in _TASK_NAME.finditer(path.read_text(encoding="utf-8")):
            target = f"ra_workbench.{found.group(1)}.tasks"
            if _part(target) != _part(module) and floor(target) >= floor(module):
                upstream.append(f"{module} → {found.group(0)}")
    assert not upstream, "tasks of later domains named:\n" + "\n".join(upstream)


def test_the_scripts_import_names_that_exist() -> None:
    """Benchmarks and tools run rarely: a moved function must not break them unseen."""
    missing = []
    for script in sorted((PACKAGE.parent / "scripts").glob("*.py")):
        tree = ast.parse(script.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ra_")):
                continue
            module = importlib.import_module(str(node.module))
            for alias in node.names:
                if not hasattr(module, alias.name) and not importlib.util.find_spec(
                    f"{node.module}.{alias.name}"
                ):
                    missing.append(f"{script.name}:{node.lineno} {node.module}.{alias.name}")
    assert not missing, "names the scripts import that no longer exist:\n" + "\n".join(missing)
