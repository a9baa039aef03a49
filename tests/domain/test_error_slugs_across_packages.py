"""Every GatewayError subclass anywhere in the package has its own problem type.

Some errors are declared beside the services that raise them (e.g. the my-lists errors); the
problem type URI must still be unique across the whole tree, not only within domain.errors.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict

import ils_gateway
from ils_gateway.domain.errors import GatewayError


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


def test_every_error_class_in_the_package_has_a_unique_type_slug() -> None:
    for module in pkgutil.walk_packages(ils_gateway.__path__, "ils_gateway."):
        if ".migrations" in module.name:  # alembic env scripts run only under alembic
            continue
        importlib.import_module(module.name)
    by_slug: dict[str, list[str]] = defaultdict(list)
    for cls in _all_subclasses(GatewayError):
        by_slug[cls.type_slug].append(f"{cls.__module__}.{cls.__qualname__}")
    duplicates = {slug: names for slug, names in by_slug.items() if len(names) > 1}
    assert duplicates == {}
    assert "list-limit-reached" in by_slug and "reading-history-locked" in by_slug
