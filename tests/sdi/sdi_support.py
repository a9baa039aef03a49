"""SDI test helpers: the store on a SQLite file and on the real PostgreSQL, a manual clock, a
recording outbox and a fixed feed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ils_gateway.adapters.arrivals import ArrivalBatch
from ils_gateway.domain.clock import ManualClock
from ils_gateway.domain.sdi import ArrivalWindow, NewArrival
from ils_gateway.store.engine import default_url, open_store
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.store.store import Store
from ils_gateway.tenants.loader import parse_tenants
from ils_gateway.tenants.models import TenantConfig

SECRET = b"sdi-test-secret-0123456789abcdef!"

KOHA_TENANT = """
[[tenants]]
id = "{id}"
name = "テスト市立図書館"
timezone = "Asia/Tokyo"

[tenants.backend]
kind = "koha"
base_url = "{url}"
client_id = "koha-demo-gateway"
client_secret = "koha-demo-secret"
retry_backoff = 0

[tenants.sdi]
enabled = true
schedule = "sat 15:30"
max_conditions = {max_conditions}
page_size = 2
{extra}
"""


def koha_tenant(
    tenant_id: str = "sdilib",
    url: str = "http://127.0.0.1:9",
    max_conditions: int = 3,
    extra: str = "",
) -> TenantConfig:
    """A Koha tenant with new-arrival alerts on (Saturday 15:30)."""
    text = KOHA_TENANT.format(id=tenant_id, url=url, max_conditions=max_conditions, extra=extra)
    return parse_tenants(text, "<test>").tenants[0]


@dataclass
class RecordingOutbox:
    """The mail outbox's enqueue, kept in memory: one mail per dedup key; ``fail_after`` makes
    the n+1-th new mail raise (a crash mid-run)."""

    mails: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_after: int | None = None

    async def enqueue(
        self,
        tenant_id: str,
        dedup_key: str,
        to: str,
        template: str,
        language: str | None,
        context: Mapping[str, Any],
    ) -> bool:
        if dedup_key in self.mails:
            return False
        if self.fail_after is not None and len(self.mails) >= self.fail_after:
            raise ConnectionError("outbox down")
        self.mails[dedup_key] = {
            "tenant": tenant_id,
            "to": to,
            "template": template,
            "language": language,
            "context": dict(context),
        }
        return True


@dataclass
class FixedFeed:
    """A feed answering from a fixed list (filtered by the window), recording each window."""

    items: Sequence[NewArrival]
    windows: list[ArrivalWindow] = field(default_factory=list)
    closed: int = 0

    async def arrivals(
        self, window: ArrivalWindow, *, max_arrivals: int, page_size: int
    ) -> ArrivalBatch:
        self.windows.append(window)
        found = [a for a in self.items if window.contains(a.acquired)]
        return ArrivalBatch(tuple(found[:max_arrivals]), len(found) > max_arrivals, "fixed")

    async def aclose(self) -> None:
        self.closed += 1


@pytest.fixture(params=["sqlite", "postgresql"])
def sdi_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return default_url(tmp_path / "sdi.sqlite3")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def sqlite_store(tmp_path: Path, sdi_clock: ManualClock) -> AsyncIterator[Store]:
    """The store on a SQLite file only (the run's logic; the SQL is run on both elsewhere)."""
    async with open_store(
        default_url(tmp_path / "sdi.sqlite3"),
        secret=SECRET,
        kdf=KdfParams.minimal(),
        clock=sdi_clock,
    ) as store:
        yield store


@pytest.fixture
def sdi_clock() -> ManualClock:
    return ManualClock(datetime.fromisoformat("2025-06-02T10:00:00+09:00"))


@pytest.fixture
async def sdi_store(sdi_store_url: str, sdi_clock: ManualClock) -> AsyncIterator[Store]:
    async with open_store(
        sdi_store_url, secret=SECRET, kdf=KdfParams.minimal(), clock=sdi_clock
    ) as store:
        yield store
