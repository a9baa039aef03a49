"""The import arrows issue 14 turned around stay turned (until import-linter states them all).

Every ``import`` of the package counts, inside functions and ``TYPE_CHECKING`` blocks too: a
lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ils_gateway"
FACES = ("api", "kiosk", "jobs", "contract")


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("ils_gateway.")}


GRAPH = {_module(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _under(module: str, package: str) -> bool:
    full = f"ils_gateway.{package}"
    return module == full or module.startswith(full + ".")


# (importer package, imported package): each arrow that must not exist.
FORBIDDEN = [
    ("tenants", "services"),
    ("tenants", "runtime"),
    ("services", "simulators"),
    ("services", "runtime"),
    ("state", "services"),
    ("state", "adapters"),
    ("api", "store"),
    ("api", "adapters"),
    ("api", "simulators"),
    ("kiosk", "store"),
    ("kiosk", "simulators"),
    *[(face, other) for face in FACES for other in FACES if face != other],
    *[(lower, face) for lower in ("runtime", "services", "state", "tenants") for face in FACES],
]

IDS = [f"{a}->{b}" for a, b in FORBIDDEN]


@pytest.mark.parametrize(
    ("importer", "imported"), FORBIDDEN, ids=[f"{a}->{b}" for a, b in FORBIDDEN]
)
def test_no_wrong_way_import(importer: str, imported: str) -> None:
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if _under(module, importer)
        for target in targets
        if _under(target, imported)
    )
    assert wrong == []


def test_api_has_no_import_cycle() -> None:
    api = {m: {t for t in ts if _under(t, "api") and t in GRAPH} for m, ts in GRAPH.items()}
    api = {m: ts for m, ts in api.items() if _under(m, "api")}
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(api.get(module, ())):
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(api):
        if module not in state:
            visit(module, [module])
