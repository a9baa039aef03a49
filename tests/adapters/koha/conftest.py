"""Fixtures for the Koha adapter tests (the fake Koha itself is in ``koha_fake``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import respx
from koha_fake import FakeClock, FakeKoha, oauth_config
from koha_spec import KohaSpec, load_spec_or_skip

from ils_gateway.adapters.koha.client import KohaClient


@pytest.fixture(scope="session")
def koha_spec() -> KohaSpec:
    return load_spec_or_skip()


@pytest.fixture
def fake_koha(koha_spec: KohaSpec) -> Iterator[FakeKoha]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        fake = FakeKoha(router, koha_spec)
        yield fake
    assert not fake.violations, "requests or answers outside Koha's definition:\n" + "\n".join(
        fake.violations
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def koha_client(clock: FakeClock) -> AsyncIterator[KohaClient]:
    async with KohaClient(oauth_config(), clock=clock) as client:
        yield client
