"""SQLAlchemy's asyncio engine, imported without the ORM (issue 17, start-up).

The store uses SQLAlchemy Core only: ``AsyncEngine``, ``AsyncConnection`` and
``create_async_engine``, all in ``sqlalchemy.ext.asyncio.engine``. Importing that module runs
its package's ``__init__`` first, which also imports the asyncio ``AsyncSession`` and with it
the whole ORM (about 50 ms of CPU of every start, for nothing the gateway uses). So the package
is placed in ``sys.modules`` unexecuted (with its real spec and path, so its submodules import
as usual), and its ``__init__`` runs the first time anything asks it for a name it does not
hold yet: ``from sqlalchemy.ext.asyncio import AsyncSession`` (alembic, a test) then works as
always, importing the ORM at that moment. When the package is imported already, nothing is
done.
"""

from __future__ import annotations

import importlib.util
import pkgutil
import sys
import threading
from typing import Any

_PACKAGE = "sqlalchemy.ext.asyncio"


def _install_lazy_package() -> None:
    if _PACKAGE in sys.modules:
        return
    import sqlalchemy.ext

    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or spec.loader is None:  # pragma: no cover - SQLAlchemy always has it
        return
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader
    # ``from . import exc`` (in engine.py) asks the package for its submodule first: not
    # found, the import system imports it. Any other name completes the package.
    submodules = {m.name for m in pkgutil.iter_modules(spec.submodule_search_locations)}
    running = threading.RLock()
    state = {"done": False}

    def __getattr__(name: str) -> Any:
        if name not in submodules and not name.startswith("__"):
            with running:
                if not state["done"]:
                    state["done"] = True
                    loader.exec_module(package)  # the real __init__, on this module object
            if name in package.__dict__:
                return package.__dict__[name]
        raise AttributeError(f"module {_PACKAGE!r} has no attribute {name!r}")

    package.__getattr__ = __getattr__  # type: ignore[method-assign]  # PEP 562's hook
    sys.modules[_PACKAGE] = package
    sqlalchemy.ext.asyncio = package  # as the import system does for a submodule


_install_lazy_package()

from sqlalchemy.ext.asyncio.engine import (  # noqa: E402  (after the package is in place)
    AsyncConnection,
    AsyncEngine,
    create_async_engine,
)

__all__ = ["AsyncConnection", "AsyncEngine", "create_async_engine"]
