"""The layer contracts of ``[tool.importlinter]`` (pyproject.toml) hold, and each one can fail.

``lint-imports`` checks the same contracts from the command line. Here the package's import
graph is built once (grimp, no cache, about 0.2 s); every import counts, inside functions and
``TYPE_CHECKING`` blocks too. The second test adds each wrong-way import issue 14 removed back
into a copy of the graph and expects the contract that names it to break, so no contract is
one that cannot fail.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter import configuration
from importlinter.application import use_cases
from importlinter.application.app_config import settings

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

configuration.configure()


class _GivenGraph:
    """A graph builder (import-linter's port) that hands out one graph already built."""

    def __init__(self, graph: grimp.ImportGraph) -> None:
        self._graph = graph

    def build(self, *args: Any, **kwargs: Any) -> grimp.ImportGraph:
        return self._graph


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("ils_gateway", cache_dir=None)


@pytest.fixture
def given_graph() -> Iterator[Any]:
    builder = settings.GRAPH_BUILDER

    def use(graph: grimp.ImportGraph) -> None:
        settings.configure(GRAPH_BUILDER=_GivenGraph(graph))

    yield use
    settings.configure(GRAPH_BUILDER=builder)


def _kept(graph: grimp.ImportGraph, use: Any, *contracts: str) -> bool:
    """Whether ``graph`` keeps ``contracts`` (all when none named); a broken contract's report
    goes to stdout, which pytest shows on failure."""
    use(graph)
    return use_cases.lint_imports(
        str(PYPROJECT),
        limit_to_contracts=contracts,
        cache_dir=None,
        is_debug_mode=True,
        no_logo=True,
    )


def test_every_contract_is_kept(graph: grimp.ImportGraph, given_graph: Any) -> None:
    assert _kept(graph, given_graph)


# (importer, imported, the contract that must break): the wrong-way imports issue 14 named,
# and the ones the contracts found after the restructure (jobs reading the store and backends).
WRONG_WAY = [
    ("tenants.models", "kiosk.config", "tenants-no-kiosk"),
    ("kiosk.face", "api.keys", "faces-no-api-keys"),
    ("jobs.schedule", "api.keys", "faces-independent"),
    ("services.ebooks.service", "simulators.elibrary", "services-no-simulators"),
    ("api.handlers.shelves", "store.records", "faces-no-store"),
    ("api.middleware", "adapters.resilience.breaker", "faces-no-resilience"),
    ("api.handlers.common", "adapters.resilience.backend", "faces-call-services"),
    ("api.handlers.common", "api.routes", "api-acyclic"),
    ("tenants.models", "tenants.loader", "acyclic"),
    ("services.context", "services.account", "acyclic"),
    ("jobs.schedule", "store.store", "faces-call-services"),
    ("jobs.schedule", "adapters.base", "faces-call-services"),
    ("contract.runner", "adapters.resilience.backend", "contract-face"),
    ("services.account", "api.keys", "layers"),
    ("adapters.koha.backend", "services.loans", "layers"),
    ("tenants.demo", "simulators.sample_data", "simulators-protected"),
    ("simulators.koha", "adapters.koha.mapping", "simulators-stand-alone"),
    ("state.sessions", "tenants.models", "store-state-below"),
    ("sip2.codec", "domain.models", "sip2-knows-fields"),
    ("domain.models", "deadline", "domain-bottom"),
    ("logging", "services.account", "cli-logging-leaves"),
]


@pytest.mark.parametrize(
    ("importer", "imported", "contract"),
    WRONG_WAY,
    ids=[f"{a}->{b}" for a, b, _ in WRONG_WAY],
)
def test_a_wrong_way_import_breaks_its_contract(
    graph: grimp.ImportGraph, given_graph: Any, importer: str, imported: str, contract: str
) -> None:
    wrong = copy.deepcopy(graph)
    wrong.add_import(
        importer=f"ils_gateway.{importer}",
        imported=f"ils_gateway.{imported}",
        line_number=1,
        line_contents=f"import ils_gateway.{imported}",
    )
    assert _kept(graph, given_graph, contract)
    assert not _kept(wrong, given_graph, contract)
