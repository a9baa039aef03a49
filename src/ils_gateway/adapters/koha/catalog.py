"""Koha's catalogue through its REST API (issue 19).

The reference snapshot (``shared/reference/koha``, Koha 23.05 era) declares ``GET /biblios``
in its root ``swagger.yaml`` but does not ship ``paths/biblios.yaml``; that file (Koha's
``Biblios#list``, operationId ``listBiblio``, e.g. Koha-Community/Koha 0093c368) takes the
shared list parameters — ``q`` (SQL::Abstract as JSON), ``_match``, ``_order_by``, ``_page``,
``_per_page`` — and produces JSON (Koha::Biblio->to_api: the biblio and its biblioitem, so
``isbn``, ``item_type``, ``publisher``, ``copyright_date``). ``/public/biblios`` has no list
route (only ``/public/biblios/{id}`` as MARC), so the staff route is used, with the tenant's
API client.

- search: ``GET /biblios?q=…`` with each word of a field a ``-like '%word%'`` (Koha's
  ``contains``), the total from ``X-Total-Count``; then the page's copies in one
  ``GET /items?q={"biblio_id":{"-in":[…]}}`` and the holds that set one aside in one
  ``GET /holds?q=…`` (status W/T/P) for the availability summary;
- record: ``GET /biblios/{id}``, ``GET /biblios/{id}/items``, ``GET /holds?biblio_id=`` (the
  queue and which copies are set aside: W/T/P) and, for copies on loan, their due dates from
  ``GET /checkouts?q={"item_id":{"-in":[…]}}`` (only ``item_id`` and ``due_date`` are read:
  the borrower is never looked at).

Koha's REST biblios carry no readings (ヨミ): a Koha tenant that wants kana search names its
Zebra/Elasticsearch SRU server instead (``[tenants.catalog] source = "sru"``).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from ils_gateway.adapters.koha.answers import require_belongs
from ils_gateway.adapters.koha.client import KohaClient
from ils_gateway.adapters.koha.errors import KohaCall
from ils_gateway.adapters.koha.mapping import material_type
from ils_gateway.adapters.koha.schemas import KohaHold, KohaItem, parse
from ils_gateway.domain.catalog import (
    CatalogQuery,
    CatalogRecord,
    Copy,
    RecordWithCopies,
    SearchPage,
    SearchSort,
    availability_of,
    isbn_digits,
)
from ils_gateway.domain.errors import BackendProtocolError, NotFound
from ils_gateway.domain.vocab import CopyStatus, MaterialType

_ORDER = {
    SearchSort.TITLE: "+title",
    SearchSort.AUTHOR: "+author",
    SearchSort.YEAR_NEWEST: "-copyright_date",
    SearchSort.YEAR_OLDEST: "+copyright_date",
}
_JSON = {"Accept": "application/json"}
# A found hold's status letter (reserves.found) and where it leaves the copy.
_FOUND = {
    "W": CopyStatus.ON_HOLD_SHELF,
    "T": CopyStatus.IN_TRANSIT,
    "P": CopyStatus.IN_PROCESSING,
}


class KohaBiblioRow(BaseModel):
    """One row of GET /biblios (JSON): Koha::Biblio->to_api with its biblioitem."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    biblio_id: int
    title: str | None = None
    subtitle: str | None = None
    author: str | None = None
    publisher: str | None = None
    copyright_date: int | None = None
    publication_year: int | None = None
    isbn: str | None = None
    item_type: str | None = None


class _DueRow(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    item_id: int | None = None
    due_date: Any = None


def _like_all(field: str, text: str) -> list[dict[str, Any]]:
    return [{field: {"-like": f"%{word}%"}} for word in text.split()]


def koha_q(query: CatalogQuery, item_types: dict[str, MaterialType]) -> dict[str, Any]:
    """The ``q`` for ``query``: every word of every field must match (``-and``)."""
    clauses: list[dict[str, Any]] = []
    if query.keyword:
        for word in query.keyword.split():
            clauses.append(
                {"-or": [{f: {"-like": f"%{word}%"}} for f in ("title", "author", "isbn")]}
            )
    if query.title:
        clauses += _like_all("title", query.title)
    if query.author:
        clauses += _like_all("author", query.author)
    if query.isbn:
        clauses.append({"isbn": {"-like": f"%{query.isbn}%"}})
    if query.material_type is not None:
        codes = sorted(c for c, t in item_types.items() if t is query.material_type)
        clauses.append({"item_type": {"-in": codes}})
    return {"-and": clauses}


def _record(row: KohaBiblioRow, item_types: dict[str, MaterialType]) -> CatalogRecord:
    title = " : ".join(p.strip(" /:") for p in (row.title, row.subtitle) if p)
    return CatalogRecord(
        id=str(row.biblio_id),
        title=title,
        authors=(row.author,) if row.author else (),
        publisher=row.publisher,
        year=row.copyright_date or row.publication_year,
        isbn=isbn_digits(row.isbn) if row.isbn else None,
        material_type=item_types.get(row.item_type or "", MaterialType.OTHER)
        if row.item_type
        else MaterialType.BOOK,
    )


def copy_status(item: KohaItem, found: str | None) -> CopyStatus:
    """Where a Koha item stands (most final first, as the adapter's circulation status)."""
    if item.withdrawn or item.lost_status:
        return CopyStatus.MISSING
    if item.checked_out_date:
        return CopyStatus.ON_LOAN
    if found in _FOUND:
        return _FOUND[found]
    if item.transfer:
        return CopyStatus.IN_TRANSIT
    if item.not_for_loan_status or item.effective_not_for_loan_status:
        return CopyStatus.REFERENCE_ONLY
    if item.damaged_status:
        return CopyStatus.UNAVAILABLE
    return CopyStatus.AVAILABLE


def _copy(item: KohaItem, found: str | None, queue: int, due: date | None) -> Copy:
    status = copy_status(item, found)
    return Copy(
        barcode=item.external_id or f"item:{item.item_id}",
        branch=item.holding_library_id or item.home_library_id,
        call_number=item.callnumber,
        status=status,
        due_date=due if status is CopyStatus.ON_LOAN else None,
        hold_queue_length=queue,
        reference_only=bool(item.not_for_loan_status or item.effective_not_for_loan_status),
    )


def _day(value: Any) -> date | None:
    text = str(value or "")[:10]
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class KohaCatalog:
    """Search and record view over one Koha (the adapter's client, shared)."""

    name = "koha"
    unsearchable: frozenset[str] = frozenset()

    def __init__(self, client: KohaClient, item_types: dict[str, MaterialType]) -> None:
        self._client = client
        self._item_types = item_types

    async def close(self) -> None:
        """The client belongs to the Koha adapter, which closes it."""

    async def search(self, query: CatalogQuery) -> SearchPage:
        params: dict[str, Any] = {
            "q": json.dumps(koha_q(query, self._item_types), ensure_ascii=False),
            "_page": query.page,
            "_per_page": query.per_page,
        }
        if query.sort in _ORDER:
            params["_order_by"] = _ORDER[query.sort]
        response = await self._client.call(
            KohaCall.READ, "GET", "/biblios", params=params, headers=_JSON
        )
        rows = parse(list[KohaBiblioRow], response.json(), "GET /biblios")
        total_header = response.headers.get("X-Total-Count", "")
        total = int(total_header) if total_header.isdigit() else query.offset + len(rows)
        ids = [r.biblio_id for r in rows]
        items = await self._items_of(ids)
        found = await self._found_holds(ids) if items else {}
        records = []
        for row in rows:
            copies = [
                _copy(i, found.get(str(i.item_id)), 0, None)
                for i in items
                if i.biblio_id == row.biblio_id
            ]
            records.append(
                _record(row, self._item_types).model_copy(
                    update={"availability": availability_of(copies)}
                )
            )
        return SearchPage(total=total, records=tuple(records))

    async def record(self, record_id: str) -> RecordWithCopies:
        if not record_id.isdigit():
            raise NotFound("No such record.", operator_detail="not a Koha biblio id")
        biblio_id = int(record_id)
        row = await self._client.call_json(
            KohaCall.READ, "GET", f"/biblios/{biblio_id}", headers=_JSON
        )
        biblio = parse(KohaBiblioRow, row, "GET /biblios/{biblio_id}")
        require_belongs([biblio], "GET /biblios/{biblio_id}", biblio_id=biblio_id)
        item_rows = await self._client.call_list(f"/biblios/{biblio_id}/items")
        items = parse(list[KohaItem], item_rows, "GET /biblios/{biblio_id}/items")
        require_belongs(items, "GET /biblios/{biblio_id}/items", biblio_id=biblio_id)
        hold_rows = await self._client.call_list(
            "/holds", params={"biblio_id": biblio_id, "_match": "exact"}
        )
        holds = parse(list[KohaHold], hold_rows, "GET /holds")
        require_belongs(holds, "GET /holds", biblio_id=biblio_id)
        queue = sum(1 for h in holds if not h.status)
        found = {str(h.item_id): h.status for h in holds if h.status and h.item_id is not None}
        dues = await self._due_dates([i.item_id for i in items if i.checked_out_date])
        copies = [_copy(i, found.get(str(i.item_id)), queue, dues.get(i.item_id)) for i in items]
        record = _record(biblio, self._item_types)
        if items and record.material_type is MaterialType.BOOK and not biblio.item_type:
            record = record.model_copy(
                update={"material_type": material_type(items[0], self._item_types)}
            )
        return RecordWithCopies(
            record=record.model_copy(update={"availability": availability_of(copies)}),
            copies=tuple(copies),
        )

    async def _items_of(self, biblio_ids: list[int]) -> list[KohaItem]:
        if not biblio_ids:
            return []
        q = json.dumps({"biblio_id": {"-in": biblio_ids}})
        rows = await self._client.call_list("/items", params={"q": q})
        items = parse(list[KohaItem], rows, "GET /items")
        wanted = set(biblio_ids)
        if any(i.biblio_id not in wanted for i in items):
            raise BackendProtocolError(
                operator_detail="Koha GET /items: a copy of a record not asked for"
            )
        return items

    async def _found_holds(self, biblio_ids: list[int]) -> dict[str, str]:
        """Which of these records' copies a hold has set aside (W, T, P), by item id."""
        q = json.dumps({"biblio_id": {"-in": biblio_ids}, "status": {"-in": list(_FOUND)}})
        rows = await self._client.call_list("/holds", params={"q": q})
        holds = parse(list[KohaHold], rows, "GET /holds")
        wanted = set(biblio_ids)
        if any(h.biblio_id not in wanted for h in holds):
            raise BackendProtocolError(operator_detail="Koha GET /holds: a hold not asked for")
        return {str(h.item_id): h.status for h in holds if h.status and h.item_id is not None}

    async def _due_dates(self, item_ids: list[int]) -> dict[int, date]:
        if not item_ids:
            return {}
        q = json.dumps({"item_id": {"-in": item_ids}})
        rows = await self._client.call_list("/checkouts", params={"q": q})
        dues = parse(list[_DueRow], rows, "GET /checkouts")
        wanted = set(item_ids)
        found: dict[int, date] = {}
        for due in dues:
            day = _day(due.due_date)
            if due.item_id in wanted and day is not None:
                found[due.item_id] = day
        return found
