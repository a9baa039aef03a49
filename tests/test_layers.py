"""What the import-linter contracts (pyproject.toml, tests/test_import_contracts.py) cannot say.

``acyclic_siblings`` compares sibling packages and modules, so a cycle through a package's own
``__init__`` (``api.handlers`` → ``api.handlers.common`` → ``api.handlers``) passes it. This
checks api/ module by module, on the same graph import-linter builds (every import counts,
inside functions and ``TYPE_CHECKING`` blocks too).
"""

from __future__ import annotations

import grimp


def test_api_has_no_import_cycle() -> None:
    graph = grimp.build_graph("ils_gateway", cache_dir=None)
    api = graph.find_descendants("ils_gateway.api") | {"ils_gateway.api"}
    cycles = sorted(
        " -> ".join([module, *chain])
        for module in api
        for target in graph.find_modules_directly_imported_by(module) & api
        if (chain := graph.find_shortest_chain(importer=target, imported=module))
    )
    assert cycles == []
