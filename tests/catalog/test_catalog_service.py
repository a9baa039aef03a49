"""CatalogService with a stand-in source: the cache, the deadline, no source at all."""

from __future__ import annotations

import asyncio

import pytest

from ils_gateway.deadline import request_deadline
from ils_gateway.domain.catalog import (
    CatalogQuery,
    CatalogRecord,
    RecordWithCopies,
    SearchPage,
)
from ils_gateway.domain.clock import ManualClock
from ils_gateway.domain.errors import BackendUnavailable, SearchUnavailable
from ils_gateway.services.catalog import CatalogService
from ils_gateway.services.context import TenantContext
from ils_gateway.simulators.sample_data import SAMPLE_NOW
from ils_gateway.tenants.demo import demo_tenant


class _Source:
    name = "stand-in"
    unsearchable: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.searches = 0
        self.hang = False

    async def search(self, query: CatalogQuery) -> SearchPage:
        self.searches += 1
        if self.hang:
            await asyncio.Event().wait()
        return SearchPage(total=1, records=(CatalogRecord(id="1", title=query.title or ""),))

    async def record(self, record_id: str) -> RecordWithCopies:
        return RecordWithCopies(record=CatalogRecord(id=record_id, title="t"))

    async def close(self) -> None:
        return None


def _service(source: _Source | None, clock: ManualClock) -> CatalogService:
    context = TenantContext(config=demo_tenant(1), backend=None, clock=clock)  # type: ignore[arg-type]
    return CatalogService(context, source)


async def test_catalog_search_cache_expires_on_the_tenant_clock() -> None:
    clock = ManualClock(SAMPLE_NOW)
    source = _Source()
    service = _service(source, clock)
    query = service.parse_search({"title": "こころ"})
    assert (await service.search(query))[1] is False
    assert (await service.search(query))[1] is True
    clock.advance(seconds=61)
    assert (await service.search(query))[1] is False
    assert source.searches == 2


async def test_catalog_search_ends_at_the_request_deadline() -> None:
    source = _Source()
    source.hang = True
    service = _service(source, ManualClock(SAMPLE_NOW))
    with request_deadline(0.05), pytest.raises(BackendUnavailable):
        await service.search(service.parse_search({"title": "x"}))


async def test_catalog_without_a_source_is_unavailable() -> None:
    service = _service(None, ManualClock(SAMPLE_NOW))
    with pytest.raises(SearchUnavailable):
        service.parse_search({"title": "x"})
    with pytest.raises(SearchUnavailable):
        await service.record("1")
