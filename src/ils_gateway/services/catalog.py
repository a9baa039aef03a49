"""The catalogue: pickup libraries, item lookup, search, a record with its copies, and holds
placed from a record (issue 19).

Search parameters are checked here (``parse_search``) before any I/O: a bad one is a
``BadRequest`` naming it. Text is normalised (``domain.catalog.normalise``: NFKC, case) before
it keys the cache and is sent, so 'ﾑﾗｶﾐ' and 'ムラカミ' are one search; the sources send a
hiragana term in katakana too (``domain.catalog.variants``), so 'むらかみ' matches a reading
recorded in katakana.

Search answers and record views hold no personal data; they are kept in a per-process TTL
cache for ``[tenants.catalog] cache_seconds`` (record views a quarter of that, at least one
second when caching is on: availability changes with every loan). A tenant without a search
source (a SIP2 library system and no SRU server named) gets ``SearchUnavailable`` (501).

Whether a record can be held, and where it can be picked up, are the tenant's rules: the holds
feature and the backend's PLACE_HOLD capability, the material types holds exclude, copies that
can be lent at all, and ``holds.transfers`` (a copy on the shelf cannot be reserved when the
library does not send copies between branches).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from cachetools import TTLCache

from ils_gateway import deadline
from ils_gateway.adapters.base import Capability, ItemSighting, no_sightings
from ils_gateway.adapters.catalog.port import CatalogSource
from ils_gateway.domain.catalog import (
    CatalogQuery,
    Copy,
    RecordWithCopies,
    SearchPage,
    SearchSort,
    isbn_query,
    normalise,
)
from ils_gateway.domain.clock import epoch_seconds
from ils_gateway.domain.errors import (
    BackendUnavailable,
    BadRequest,
    HoldRefused,
    NotFound,
    SearchUnavailable,
)
from ils_gateway.domain.models import HoldResult, Item, Library
from ils_gateway.domain.vocab import (
    Channel,
    ContactMethod,
    CopyStatus,
    Feature,
    MaterialType,
    RefusalReason,
)
from ils_gateway.services.context import Caller, TenantContext

if TYPE_CHECKING:
    from ils_gateway.services.holds import HoldService

T = TypeVar("T")

# Search parameters and their limits (the OpenAPI document states the same).
TEXT_MAX = 200
PAGE_MAX = 500
SEARCH_FIELDS = ("keyword", "title", "author", "isbn")
SEARCH_PARAMS = frozenset((*SEARCH_FIELDS, "material_type", "page", "per_page", "sort"))
RECORD_ID_MAX = 100
_NOT_LENDABLE = frozenset({CopyStatus.REFERENCE_ONLY, CopyStatus.MISSING})
# Backends whose holds take a title (record) id: the id each gives a record's title hold.
_TITLE_IDS: Mapping[str, Callable[[str], str]] = {
    "koha": lambda record_id: f"biblio:{record_id}",
    "folio": lambda record_id: f"instance:{record_id}",
}


def _whole(name: str, raw: str, low: int, high: int) -> int:
    if not raw.isascii() or not raw.isdigit():
        raise BadRequest(f"Invalid request: {name}: must be a whole number from {low} to {high}")
    value = int(raw)
    if not low <= value <= high:
        raise BadRequest(f"Invalid request: {name}: must be from {low} to {high}")
    return value


def parse_search(params: Mapping[str, str], max_per_page: int) -> CatalogQuery:
    """The search ``params`` ask for, normalised; ``BadRequest`` naming the first bad one.

    At least one of keyword, title, author, ISBN or material type is needed; unknown
    parameters are refused (a misspelt ``titel`` must not silently search everything).
    """
    unknown = sorted(set(params) - SEARCH_PARAMS)
    if unknown:
        raise BadRequest(f"Invalid request: {unknown[0]}: unknown search parameter")
    texts: dict[str, str] = {}
    for name in SEARCH_FIELDS:
        raw = params.get(name)
        if raw is None:
            continue
        if len(raw) > TEXT_MAX:
            raise BadRequest(f"Invalid request: {name}: at most {TEXT_MAX} characters")
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
            raise BadRequest(f"Invalid request: {name}: must not contain control characters")
        value = normalise(raw)
        if name == "isbn":
            isbn = isbn_query(raw)
            if isbn is None:
                raise BadRequest(
                    "Invalid request: isbn: up to 13 digits with hyphens or spaces, an ISBN-10's"
                    " final X (an ISBN or its start)"
                )
            value = isbn
        if value:
            texts[name] = value
    material: MaterialType | None = None
    if "material_type" in params:
        try:
            material = MaterialType(params["material_type"])
        except ValueError:
            raise BadRequest(
                "Invalid request: material_type: one of " + ", ".join(m.value for m in MaterialType)
            ) from None
    sort = SearchSort.RELEVANCE
    if "sort" in params:
        try:
            sort = SearchSort(params["sort"])
        except ValueError:
            raise BadRequest(
                "Invalid request: sort: one of " + ", ".join(s.value for s in SearchSort)
            ) from None
    if not texts and material is None:
        raise BadRequest(
            "Invalid request: keyword: give keyword, title, author, isbn or material_type"
        )
    page = _whole("page", params["page"], 1, PAGE_MAX) if "page" in params else 1
    per_page = (
        _whole("per_page", params["per_page"], 1, max_per_page) if "per_page" in params else 20
    )
    return CatalogQuery(
        **texts, material_type=material, page=page, per_page=min(per_page, max_per_page), sort=sort
    )


def check_record_id(record_id: str) -> str:
    """A record id as a path gives it; ``BadRequest`` naming it when it cannot be one."""
    if not record_id or len(record_id) > RECORD_ID_MAX or not record_id.isprintable():
        raise BadRequest(f"Invalid request: record_id: 1 to {RECORD_ID_MAX} printable characters")
    return record_id


@dataclass(frozen=True)
class HoldInfo:
    """Whether a record can be held, why not, and where it could be picked up."""

    holdable: bool
    reason: RefusalReason | None
    pickup_libraries: tuple[Library, ...]


@dataclass(frozen=True)
class RecordView:
    """A record, its copies and the hold button's state."""

    found: RecordWithCopies
    hold: HoldInfo


class CatalogService:
    """Catalogue-side reads of one tenant, and holds placed from a record."""

    def __init__(
        self,
        tenant: TenantContext,
        source: CatalogSource | None = None,
        holds: HoldService | None = None,
    ) -> None:
        self._tenant = tenant
        self._source = source
        self._holds = holds
        settings = tenant.config.catalog
        self.max_per_page = settings.max_per_page
        timer = epoch_seconds(tenant.clock)
        seconds = settings.cache_seconds
        self._searches: TTLCache[str, SearchPage] | None = None
        self._records: TTLCache[str, RecordWithCopies] | None = None
        if seconds > 0:
            self._searches = TTLCache(settings.cache_entries, seconds, timer=timer)
            self._records = TTLCache(settings.cache_entries, max(seconds / 4, 1.0), timer=timer)

    @property
    def source_name(self) -> str | None:
        """The search source's name (``sru``, ``koha``, ``folio``), None without one."""
        return self._source.name if self._source is not None else None

    async def pickup_libraries(self) -> list[Library]:
        """Where holds can be collected (bookmobiles with their stations)."""
        return await self._tenant.pickup_libraries()

    async def item(self, item_id: str, *, sighting: bool = False) -> Item:
        """One item or title; ``NotFound`` when the ILS does not know it. ``sighting``: a
        self-check's 17 that the library system records as seen (``ItemSighting``; a backend
        that cannot is ``FeatureDisabled``, which the tenant file's check prevents)."""
        backend = self._tenant.backend
        if not sighting:
            return await backend.get_item(item_id)
        if not isinstance(backend, ItemSighting):
            raise no_sightings(f"{type(backend).__name__} has no sight_item")
        return await backend.sight_item(item_id)

    def _require_source(self) -> CatalogSource:
        if self._source is None:
            raise SearchUnavailable(
                "This library's catalogue cannot be searched through the gateway.",
                operator_detail=f"tenant {self._tenant.id}: no catalogue source "
                "([tenants.catalog] names no SRU server and the backend cannot search)",
            )
        return self._source

    def parse_search(self, params: Mapping[str, str]) -> CatalogQuery:
        """``parse_search`` with this tenant's page limit and source: a parameter the source
        cannot search by is refused too, before any I/O."""
        source = self._require_source()
        query = parse_search(params, self.max_per_page)
        for name in sorted(source.unsearchable):
            if getattr(query, name) is not None:
                raise BadRequest(
                    f"Invalid request: {name}: this library's catalogue cannot be searched by it"
                )
        return query

    async def search(self, query: CatalogQuery) -> tuple[SearchPage, bool]:
        """One page of records for ``query`` (checked by ``parse_search``), and whether it
        came from the cache."""
        source = self._require_source()
        key = query.cache_key()
        if self._searches is not None:
            cached = self._searches.get(key)
            if cached is not None:
                return cached, True
        page = await self._in_time(source.search(query))
        if self._searches is not None:
            self._searches[key] = page
        return page, False

    async def record(self, record_id: str, channel: Channel = Channel.WEB) -> RecordView:
        """One record with its copies, and whether (and where) it can be held."""
        found = await self._record(check_record_id(record_id))
        return RecordView(found=found, hold=await self._hold_info(found, channel))

    async def _record(self, record_id: str, *, fresh: bool = False) -> RecordWithCopies:
        source = self._require_source()
        if self._records is not None and not fresh:
            cached = self._records.get(record_id)
            if cached is not None:
                return cached
        found = await self._in_time(source.record(record_id))
        if found.record.id != record_id:
            raise NotFound("No such record.", operator_detail="source answered another record")
        if self._records is not None:
            self._records[record_id] = found
        return found

    async def _in_time(self, call: Awaitable[T]) -> T:
        """``call`` within the request's deadline (the sources sit below the resilience layer,
        which bounds the other backend calls): past it, ``BackendUnavailable``."""
        left = deadline.remaining()
        if left is None:
            return await call
        try:
            async with asyncio.timeout(left):
                return await call
        except TimeoutError:
            raise BackendUnavailable(
                detail="The catalogue did not answer in time.",
                operator_detail=f"catalogue {self.source_name}: past the request deadline",
            ) from None

    async def _hold_info(self, found: RecordWithCopies, channel: Channel) -> HoldInfo:
        reason = self._not_holdable(found, channel)
        libraries: tuple[Library, ...] = ()
        if reason is None:
            libraries = tuple(await self._tenant.pickup_libraries())
        return HoldInfo(holdable=reason is None, reason=reason, pickup_libraries=libraries)

    def _not_holdable(self, found: RecordWithCopies, channel: Channel) -> RefusalReason | None:
        """Why ``found`` cannot be held now by the tenant's rules (None: it can)."""
        policy = self._tenant.policy
        if not policy.feature_enabled(Feature.HOLDS, channel):
            return RefusalReason.UNKNOWN
        if not self._tenant.backend.capabilities.supports(Capability.PLACE_HOLD):
            return RefusalReason.UNKNOWN
        if found.record.material_type in policy.holds.excluded_material_types:
            return RefusalReason.EXCLUDED_ITEM_TYPE
        lendable = [c for c in found.copies if c.status not in _NOT_LENDABLE]
        if not lendable:
            return RefusalReason.NON_CIRCULATING
        if not policy.holds.transfers and any(c.status is CopyStatus.AVAILABLE for c in lendable):
            return RefusalReason.TITLE_AVAILABLE
        return None

    async def place_hold(
        self,
        caller: Caller,
        record_id: str,
        pickup_library: str,
        contact_method: ContactMethod | None = None,
    ) -> HoldResult:
        """A hold on a record: on the title where the backend takes title holds and the
        tenant places them (Koha ``biblio:`` unless ``hold_level = "item"``, FOLIO
        ``instance:``), else on a copy picked by ``pick_copy``."""
        if self._holds is None:
            raise SearchUnavailable(operator_detail="catalogue holds need the hold service")
        found = await self._record(check_record_id(record_id), fresh=True)
        reason = self._not_holdable(found, caller.channel)
        if reason is RefusalReason.UNKNOWN:
            self._tenant.require_feature(Feature.HOLDS, caller.channel)
        if reason is not None and reason is not RefusalReason.UNKNOWN:
            raise HoldRefused(reason, self._tenant.labels.label(reason))
        title_id = _TITLE_IDS.get(self._tenant.config.backend.kind)
        capabilities = self._tenant.backend.capabilities
        if not capabilities.option(Capability.PLACE_HOLD, "title_level", False):
            title_id = None  # the tenant holds copies (Koha hold_level = "item")
        if title_id is not None:
            target = title_id(found.record.id)
        else:
            copy = pick_copy(found.copies, pickup_library)
            if copy is None:
                raise HoldRefused(
                    RefusalReason.NON_CIRCULATING,
                    self._tenant.labels.label(RefusalReason.NON_CIRCULATING),
                )
            target = copy.barcode
        batch = await self._holds.place_holds(caller, [target], pickup_library, contact_method)
        if self._records is not None:
            self._records.pop(found.record.id, None)  # its queue just grew
        return batch.results[0]


def pick_copy(copies: tuple[Copy, ...] | list[Copy], pickup_library: str) -> Copy | None:
    """The copy a hold on a record goes on where the backend only takes copy holds.

    Among the copies that can be lent: one that is out (on loan, in transit, on order…), the
    shortest queue first, then the earliest due date — the one likely to come back first; when
    every copy is on the shelf, the one at the pickup library, else the first. A SIP2 ACS
    placing title-level holds (hold type 2) queues the hold on the title either way.
    """
    lendable = [c for c in copies if c.status not in _NOT_LENDABLE]
    if not lendable:
        return None
    out = [c for c in lendable if c.status is not CopyStatus.AVAILABLE]
    if out:
        return min(
            out,
            key=lambda c: (
                c.hold_queue_length if c.hold_queue_length is not None else 0,
                c.due_date.toordinal() if c.due_date is not None else 10**9,
            ),
        )
    here = [c for c in lendable if c.branch == pickup_library]
    return (here or lendable)[0]
