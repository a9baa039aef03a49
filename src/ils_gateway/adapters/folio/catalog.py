"""FOLIO's catalogue through mod-inventory (issue 19).

The reference snapshot (``shared/reference/folio``) holds edge-patron, mod-patron and
mod-circulation only; the inventory routes are mod-inventory's ``ramls/inventory.raml``
(``GET /inventory/instances`` and ``/inventory/items`` with the ``searchable`` trait: a CQL
``query``, ``offset``/``limit``, ``totalRecords``) and mod-inventory-storage's
``/holdings-storage/holdings``, the same modules the FOLIO adapter already reads items from.
mod-search's ``/search/instances`` needs the search module (OpenSearch) installed; plain
inventory is what every FOLIO tenant has.

- search: ``GET /inventory/instances?query=<CQL>`` — title words as ``title`` or the reading
  (``alternativeTitles.alternativeTitle``), author words as ``contributors.name``, ISBN as
  ``identifiers.value``, every word masked ``*word*`` (CJK text has no spaces between words);
  then the page's holdings (``instanceId==…``) and items (``holdingsRecordId==…``) for the
  availability summary and the material type (the items' ``materialType``);
- record: the instance, its holdings and items; due dates from ``GET /circulation/loans``
  (``itemId``, ``dueDate`` only: the borrower is never read) and the hold queue as the
  ``totalRecords`` of the title's open unfilled requests asked with ``limit=0``, so no
  requester's data is even sent.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from ils_gateway.adapters.folio.client import FolioClient
from ils_gateway.adapters.folio.errors import FolioCall
from ils_gateway.adapters.folio.mapping import Named, local_day, named_type, parse_list
from ils_gateway.domain.catalog import (
    CatalogQuery,
    CatalogRecord,
    Copy,
    RecordWithCopies,
    SearchPage,
    SearchSort,
    availability_of,
    isbn_digits,
    variants,
)
from ils_gateway.domain.errors import BackendProtocolError, NotFound
from ils_gateway.domain.vocab import CopyStatus, MaterialType
from ils_gateway.tenants.materials import MaterialTypeMap

# mod-inventory-storage item.json ``status.name`` → copy status.
ITEM_STATUS: dict[str, CopyStatus] = {
    "Available": CopyStatus.AVAILABLE,
    "Checked out": CopyStatus.ON_LOAN,
    "Awaiting pickup": CopyStatus.ON_HOLD_SHELF,
    "Awaiting delivery": CopyStatus.ON_HOLD_SHELF,
    "In transit": CopyStatus.IN_TRANSIT,
    "In process": CopyStatus.IN_PROCESSING,
    "In process (non-requestable)": CopyStatus.IN_PROCESSING,
    "On order": CopyStatus.ON_ORDER,
    "Paged": CopyStatus.IN_PROCESSING,
    "Missing": CopyStatus.MISSING,
    "Declared lost": CopyStatus.MISSING,
    "Aged to lost": CopyStatus.MISSING,
    "Claimed returned": CopyStatus.MISSING,
    "Long missing": CopyStatus.MISSING,
    "Lost and paid": CopyStatus.MISSING,
    "Withdrawn": CopyStatus.UNAVAILABLE,
    "Unavailable": CopyStatus.UNAVAILABLE,
    "Restricted": CopyStatus.UNAVAILABLE,
    "Intellectual item": CopyStatus.UNAVAILABLE,
    "Unknown": CopyStatus.UNAVAILABLE,
}
# FOLIO's reference identifier type "ISBN" (mod-inventory-storage reference data).
ISBN_TYPE = "8261054f-be78-422d-bd51-4ed9f33c3422"
_NON_CIRCULATING = ("reading room", "non-circulating", "reference", "禁帯出", "館内")
_SORT = {
    SearchSort.TITLE: "title",
    SearchSort.AUTHOR: "contributors.name",
    SearchSort.YEAR_NEWEST: "publication.dateOfPublication/sort.descending",
    SearchSort.YEAR_OLDEST: "publication.dateOfPublication",
}
_MAX = 1000


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Identifier(_Record):
    identifierTypeId: str | None = None
    value: str | None = None


class _Publication(_Record):
    publisher: str | None = None
    dateOfPublication: str | None = None


class _AlternativeTitle(_Record):
    alternativeTitle: str | None = None


class FolioInstanceRecord(_Record):
    """mod-inventory instance.json, the fields the catalogue shows."""

    id: str
    title: str | None = None
    contributors: list[Named] = []
    publication: list[_Publication] = []
    identifiers: list[_Identifier] = []
    alternativeTitles: list[_AlternativeTitle] = []


class _Holdings(_Record):
    id: str
    instanceId: str
    callNumber: str | None = None


class _Item(_Record):
    id: str
    holdingsRecordId: str | None = None
    barcode: str | None = None
    callNumber: str | None = None
    materialType: Named | None = None
    status: Named | None = None
    permanentLoanType: Named | None = None
    effectiveLocation: Named | None = None


class _Loan(_Record):
    itemId: str | None = None
    dueDate: str | None = None


def _escaped(word: str) -> str:
    return "".join("\\" + c if c in '"\\*?^' else c for c in word)


def _masked(index: str, text: str) -> str:
    """Every word of ``text`` in ``index``, masked on both sides (``*word*``); with hiragana
    also as katakana (``variants``) where that differs, for readings."""
    forms = [
        f'{index}="{" ".join(f"*{_escaped(w)}*" for w in form.split())}"' for form in variants(text)
    ]
    return forms[0] if len(forms) == 1 else f"({' or '.join(forms)})"


def instance_cql(query: CatalogQuery) -> str:
    """The CQL for ``query`` over instances (terms escaped, masked per word)."""
    clauses: list[str] = []
    if query.keyword:
        for word in query.keyword.split():
            clauses.append(
                "("
                + " or ".join(
                    _masked(i, word)
                    for i in (
                        "title",
                        "alternativeTitles.alternativeTitle",
                        "contributors.name",
                        "identifiers.value",
                    )
                )
                + ")"
            )
    if query.title:
        clauses.append(
            f"({_masked('title', query.title)} or "
            f"{_masked('alternativeTitles.alternativeTitle', query.title)})"
        )
    if query.author:
        clauses.append(_masked("contributors.name", query.author))
    if query.isbn:
        clauses.append(f'identifiers.value="{_escaped(query.isbn)}"')
    cql = " and ".join(clauses) or "cql.allRecords=1"
    if query.sort in _SORT:
        cql += f" sortby {_SORT[query.sort]}"
    return cql


def _any_of(index: str, values: list[str]) -> str:
    return " or ".join(f'{index}=="{_escaped(v)}"' for v in values)


def _year(text: str | None) -> int | None:
    digits = "".join(c for c in (text or "") if c.isdigit())
    return int(digits[:4]) if len(digits) >= 4 else None


class FolioCatalog:
    """Search and record view over one FOLIO tenant (the adapter's client, shared)."""

    name = "folio"
    # An instance has no material type (its items do): inventory's instance CQL cannot say.
    unsearchable: frozenset[str] = frozenset({"material_type"})

    def __init__(self, client: FolioClient, types: MaterialTypeMap, zone: ZoneInfo) -> None:
        self._client = client
        self._types = types
        self._zone = zone

    async def close(self) -> None:
        """The client belongs to the FOLIO adapter, which closes it."""

    async def search(self, query: CatalogQuery) -> SearchPage:
        body = await self._get(
            "/inventory/instances",
            {"query": instance_cql(query), "offset": query.offset, "limit": query.per_page},
        )
        instances = parse_list(FolioInstanceRecord, body, "instances", "GET /inventory/instances")
        total = body.get("totalRecords") if isinstance(body, dict) else None
        if not isinstance(total, int) or total < 0:
            raise BackendProtocolError(operator_detail="FOLIO GET /inventory/instances: no total")
        copies = await self._copies([i.id for i in instances])
        records = []
        for instance in instances:
            own = copies.get(instance.id, [])
            records.append(self._record(instance, own))
        return SearchPage(total=total, records=tuple(records))

    async def record(self, record_id: str) -> RecordWithCopies:
        body = await self._get(
            "/inventory/instances", {"query": _any_of("id", [record_id]), "limit": 2}
        )
        found = [
            i
            for i in parse_list(FolioInstanceRecord, body, "instances", "GET /inventory/instances")
            if i.id == record_id
        ]
        if not found:
            raise NotFound("No such record.", operator_detail=f"FOLIO: no instance {record_id!r}")
        items_by_instance, queue = await asyncio.gather(
            self._items([record_id]), self._queue(record_id)
        )
        items, _holdings = items_by_instance
        dues = await self._due_dates([i.id for i, _ in items if _status(i) is CopyStatus.ON_LOAN])
        copies = [self._copy(item, h, queue, dues.get(item.id)) for item, h in items]
        record = self._record(found[0], copies)
        return RecordWithCopies(record=record, copies=tuple(c for c, _ in copies))

    # -- internals -------------------------------------------------------------------------

    async def _get(self, path: str, params: dict[str, Any]) -> Any:
        return await self._client.call_json(FolioCall.READ, "GET", path, params=params)

    def _record(
        self, instance: FolioInstanceRecord, copies: list[tuple[Copy, MaterialType]]
    ) -> CatalogRecord:
        isbn = next(
            (i.value for i in instance.identifiers if i.identifierTypeId == ISBN_TYPE and i.value),
            None,
        )
        publication = instance.publication[0] if instance.publication else _Publication()
        reading = next((a.alternativeTitle for a in instance.alternativeTitles), None)
        return CatalogRecord(
            id=instance.id,
            title=instance.title or "",
            authors=tuple(c.name for c in instance.contributors if c.name),
            publisher=publication.publisher,
            year=_year(publication.dateOfPublication),
            isbn=isbn_digits(isbn) if isbn else None,
            material_type=copies[0][1] if copies else MaterialType.BOOK,
            title_reading=reading,
            availability=availability_of([c for c, _ in copies]),
        )

    async def _items(
        self, instance_ids: list[str]
    ) -> tuple[list[tuple[_Item, _Holdings]], dict[str, _Holdings]]:
        if not instance_ids:
            return [], {}
        body = await self._get(
            "/holdings-storage/holdings",
            {"query": _any_of("instanceId", instance_ids), "limit": _MAX},
        )
        rows = parse_list(_Holdings, body, "holdingsRecords", "GET /holdings-storage/holdings")
        holdings = {h.id: h for h in rows}
        if any(h.instanceId not in instance_ids for h in holdings.values()):
            raise BackendProtocolError(
                operator_detail="FOLIO GET /holdings-storage/holdings: another instance's holdings"
            )
        if not holdings:
            return [], holdings
        body = await self._get(
            "/inventory/items",
            {"query": _any_of("holdingsRecordId", list(holdings)), "limit": _MAX},
        )
        items = parse_list(_Item, body, "items", "GET /inventory/items")
        paired = []
        for item in items:
            owner = holdings.get(item.holdingsRecordId or "")
            if owner is None:
                raise BackendProtocolError(
                    operator_detail="FOLIO GET /inventory/items: an item of holdings not asked for"
                )
            paired.append((item, owner))
        return paired, holdings

    async def _copies(self, instance_ids: list[str]) -> dict[str, list[tuple[Copy, MaterialType]]]:
        items, _ = await self._items(instance_ids)
        by_instance: dict[str, list[tuple[Copy, MaterialType]]] = {}
        for item, holdings in items:
            by_instance.setdefault(holdings.instanceId, []).append(
                self._copy(item, holdings, None, None)
            )
        return by_instance

    def _copy(
        self, item: _Item, holdings: _Holdings, queue: int | None, due: date | None
    ) -> tuple[Copy, MaterialType]:
        status = _status(item)
        loan_type = (item.permanentLoanType.name or "").lower() if item.permanentLoanType else ""
        reference = any(word in loan_type for word in _NON_CIRCULATING)
        if reference and status is CopyStatus.AVAILABLE:
            status = CopyStatus.REFERENCE_ONLY
        location = item.effectiveLocation
        copy = Copy(
            barcode=item.barcode or item.id,
            item_id=item.id,
            branch=location.name if location else None,
            call_number=item.callNumber or holdings.callNumber,
            status=status,
            due_date=due if status is CopyStatus.ON_LOAN else None,
            hold_queue_length=queue,
            reference_only=reference,
        )
        return copy, named_type(item.materialType, self._types)

    async def _due_dates(self, item_ids: list[str]) -> dict[str, date]:
        if not item_ids:
            return {}
        cql = f'({_any_of("itemId", item_ids)}) and status.name=="Open"'
        body = await self._get("/circulation/loans", {"query": cql, "limit": _MAX})
        loans = parse_list(_Loan, body, "loans", "GET /circulation/loans")
        dues: dict[str, date] = {}
        for loan in loans:
            if loan.itemId in item_ids and loan.dueDate:
                day = local_day(loan.dueDate, self._zone, "GET /circulation/loans")
                if day is not None:
                    dues[loan.itemId] = day
        return dues

    async def _queue(self, instance_id: str) -> int | None:
        cql = f'{_any_of("instanceId", [instance_id])} and status=="Open - Not yet filled"'
        body = await self._get("/circulation/requests", {"query": cql, "limit": 0})
        total = body.get("totalRecords") if isinstance(body, dict) else None
        return total if isinstance(total, int) and total >= 0 else None


def _status(item: _Item) -> CopyStatus:
    name = item.status.name if item.status else None
    return ITEM_STATUS.get(name or "", CopyStatus.UNAVAILABLE)
