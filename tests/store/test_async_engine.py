"""The store's asyncio engine comes without SQLAlchemy's ORM, and the package still works whole
(issue 17, start-up: ``ils_gateway.store.async_engine``).

In a fresh interpreter: importing the store's engine leaves ``sqlalchemy.orm`` unimported; asking
``sqlalchemy.ext.asyncio`` for a name of its own (``AsyncSession``, as alembic or a test would)
runs the package's ``__init__`` then, and it gives the very classes the store uses.
"""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, sys
from ils_gateway.store.engine import create_engine
from ils_gateway.store.async_engine import AsyncEngine
engine = create_engine("sqlite+aiosqlite:///:memory:")
before = "sqlalchemy.orm" in sys.modules
import sqlalchemy.ext.asyncio as package
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import engine as engine_module
try:
    package.no_such_name
    missing = "found"
except AttributeError:
    missing = "AttributeError"
print(json.dumps({
    "orm_before": before,
    "orm_after": "sqlalchemy.orm" in sys.modules,
    "same_engine": package.AsyncEngine is AsyncEngine and isinstance(engine, AsyncEngine),
    "same_module": engine_module is sys.modules["sqlalchemy.ext.asyncio.engine"],
    "session": AsyncSession.__module__,
    "missing": missing,
}))
"""


def test_the_engine_imports_no_orm_and_the_package_completes_when_asked() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "orm_before": False,
        "orm_after": True,
        "same_engine": True,
        "same_module": True,
        "session": "sqlalchemy.ext.asyncio.session",
        "missing": "AttributeError",
    }
