"""SDI fixtures (defined in ``sdi_support``, which the test modules import their helpers from:
a module named ``conftest`` is ambiguous when several test directories run together)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from sdi_support import sdi_clock, sdi_store, sdi_store_url, sqlite_store

__all__ = ["sdi_clock", "sdi_store", "sdi_store_url", "sqlite_store"]
