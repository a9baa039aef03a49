"""Pickup libraries, item lookup, catalogue search and records (issue 19)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ils_gateway.api.schemas.common import Body, LibraryValue
from ils_gateway.domain.catalog import CatalogRecord, Copy, SearchSort
from ils_gateway.domain.models import Item, Library
from ils_gateway.domain.vocab import ContactMethod, RefusalReason


class LibraryList(Body):
    """Pickup libraries (bookmobiles list their stations)."""

    libraries: list[Library]
    stale: bool = False
    as_of: datetime | None = None


class ItemView(Body):
    """One item or title."""

    item: Item
    stale: bool = False
    as_of: datetime | None = None


class SearchResults(Body):
    """One page of a catalogue search (no personal data: answers are cached and shared)."""

    records: list[CatalogRecord]
    total: int = Field(ge=0, description="records matching, over all pages")
    page: int = Field(ge=1)
    per_page: int = Field(ge=1)
    sort: SearchSort
    source: str = Field(description="where the catalogue was searched: sru, koha or folio")
    cached: bool = Field(description="answered from the gateway's short-lived search cache")


class RecordDetail(Body):
    """A record with its copies, and whether (and where) a patron may place a hold on it."""

    record: CatalogRecord
    copies: list[Copy]
    holdable: bool = Field(description="the tenant's rules allow a hold on this record now")
    not_holdable_reason: RefusalReason | None = None
    pickup_libraries: list[Library] = Field(
        description="where a hold on it can be collected (empty when not holdable)"
    )


class CatalogHoldRequest(Body):
    """A hold on a record: the title where the library system takes title holds, else a copy
    the tenant's rule picks."""

    pickup_library: LibraryValue = Field(min_length=1, max_length=64)
    contact_method: ContactMethod | None = None
