"""Fixtures for the FOLIO adapter tests (the fake FOLIO itself is in ``folio_fake``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import respx
from folio_fake import NOW, OKAPI, PATRON_CARD, PATRON_ID, FakeFolio, folio_config
from folio_schemas import reference_or_skip

from ils_gateway.adapters.folio.backend import FolioBackend
from ils_gateway.domain.models import Patron


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "folio_sim(**options): options of the FOLIO simulator a test runs against"
    )


@pytest.fixture(scope="session", autouse=True)
def _reference() -> None:
    reference_or_skip()


@pytest.fixture
def folio() -> Iterator[FakeFolio]:
    with respx.mock(base_url=OKAPI, assert_all_called=False) as router:
        fake = FakeFolio(router)
        fake.login_ok()
        fake.blocks()
        yield fake
        assert fake.violations == [], "\n".join(fake.violations)


@pytest.fixture
async def backend(folio: FakeFolio) -> AsyncIterator[FolioBackend]:
    b = FolioBackend(folio_config(), now=lambda: NOW)
    yield b
    await b.close()


@pytest.fixture
def patron() -> Patron:
    return Patron(id=PATRON_ID, card_number=PATRON_CARD, name="Lastname Firstname")
