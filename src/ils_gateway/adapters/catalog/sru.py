"""An SRU (Search/Retrieve via URL) client: CQL queries out, MARCXML records in (issue 19).

SRU 1.1/1.2 (``http://www.loc.gov/zing/srw/``) and 2.0
(``http://docs.oasis-open.org/ns/search-ws/sruResponse``) searchRetrieve, as the Library of
Congress's specification (www.loc.gov/standards/sru) defines them:
``?operation=searchRetrieve&version=…&query=<CQL>&startRecord=N&maximumRecords=M
&recordSchema=marcxml&recordPacking=xml`` (2.0: ``recordXMLEscaping=xml``); ``numberOfRecords``
and ``records/record/recordData``; ``diagnostics`` when the server refuses the query. The sort
is CQL's ``sortBy`` (1.2, 2.0) or the ``sortKeys`` parameter (1.1).

The query is built from the search's fields with the tenant's index names
(``[tenants.catalog.sru.indexes]``) and every term quoted and escaped, so nothing a patron
types becomes CQL syntax. Copies are the records' 852 fields; where they stand comes from the
``CopyReader`` (a SIP2 tenant's item information), else only their count is known.
"""

from __future__ import annotations

import asyncio
import functools

import httpx
from lxml import etree

from ils_gateway.adapters.catalog.marc import MARC_NS, Holding, parse_record
from ils_gateway.adapters.catalog.port import CopyReader
from ils_gateway.adapters.rest import translate_transport
from ils_gateway.adapters.tls import client_tls
from ils_gateway.domain.catalog import (
    Availability,
    CatalogQuery,
    CatalogRecord,
    Copy,
    RecordWithCopies,
    SearchPage,
    SearchSort,
    availability_of,
    variants,
)
from ils_gateway.domain.errors import BackendProtocolError, BackendUnavailable, NotFound
from ils_gateway.domain.vocab import CopyStatus
from ils_gateway.tenants.catalog import SruSource

_SRW = "http://www.loc.gov/zing/srw/"
_SRU2 = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
_DIAG = "http://www.loc.gov/zing/srw/diagnostic/"
_SYSTEM = "SRU"
# Hardened: no entities, no DTDs, no network (a catalogue answer is untrusted input).
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

_SORT_INDEX = {
    SearchSort.TITLE: ("title", "ascending"),
    SearchSort.AUTHOR: ("author", "ascending"),
    SearchSort.YEAR_NEWEST: ("date", "descending"),
    SearchSort.YEAR_OLDEST: ("date", "ascending"),
}


def cql_term(text: str) -> str:
    """``text`` as one quoted CQL term: quotes, backslashes and masking characters escaped."""
    escaped = "".join("\\" + c if c in '"\\*?^' else c for c in text)
    return f'"{escaped}"'


def build_cql(query: CatalogQuery, source: SruSource) -> str:
    """The CQL for ``query``: one clause per field given, joined with ``and``."""
    idx = source.indexes
    clauses = []
    for index, value in (
        (idx.keyword, query.keyword),
        (idx.title, query.title),
        (idx.author, query.author),
        (idx.isbn, query.isbn),
    ):
        if value:
            forms = [f"{index}={cql_term(v)}" for v in variants(value)]
            clauses.append(forms[0] if len(forms) == 1 else f"({' or '.join(forms)})")
    if query.material_type is not None and idx.material_type:
        clauses.append(f"{idx.material_type}={cql_term(query.material_type.value)}")
    cql = " and ".join(clauses) or "cql.allRecords=1"
    if query.sort in _SORT_INDEX and source.version != "1.1":
        field, direction = _SORT_INDEX[query.sort]
        index = {"title": idx.title, "author": idx.author}.get(field, "dc.date")
        cql += f" sortBy {index}/sort.{direction}"
    return cql


class SruCatalog:
    """A catalogue searched over SRU, copies read by barcode from the library system."""

    name = "sru"

    def __init__(
        self,
        source: SruSource,
        copies: CopyReader | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._source = source
        self._copies = copies
        self.unsearchable = (
            frozenset() if source.indexes.material_type else frozenset({"material_type"})
        )
        self._transport = transport
        self._closed = False

    @functools.cached_property
    def _http(self) -> httpx.AsyncClient:
        """Made for the first search: a start need not wait for httpx's transport to be
        imported (issue 17; ``elibrary.client.KinodenClient._http`` says the same)."""
        if self._closed:
            raise RuntimeError("SruCatalog used after close()")
        t = self._source.timeouts
        return httpx.AsyncClient(
            timeout=httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool),
            headers={"Accept": "application/xml, text/xml", "User-Agent": "ils-gateway"},
            transport=self._transport,
            verify=client_tls(),
        )

    async def close(self) -> None:
        self._closed = True
        if "_http" in self.__dict__:  # made (by a search)
            await self._http.aclose()

    async def search(self, query: CatalogQuery) -> SearchPage:
        start = query.offset + 1
        total, found = await self._retrieve(build_cql(query, self._source), start, query.per_page)
        records = await asyncio.gather(*(self._with_availability(r, h) for r, h in found))
        return SearchPage(total=total, records=tuple(records))

    async def record(self, record_id: str) -> RecordWithCopies:
        cql = f"{self._source.record_id_index}={cql_term(record_id)}"
        _total, found = await self._retrieve(cql, 1, 2)
        matching = [(r, h) for r, h in found if r.id == record_id]
        if not matching:
            raise NotFound("No such record.", operator_detail=f"SRU: no record {record_id!r}")
        record, holdings = matching[0]
        copies = await self._read_copies(holdings)
        if copies is None:
            return RecordWithCopies(record=record, copies=())
        return RecordWithCopies(
            record=record.model_copy(update={"availability": availability_of(copies)}),
            copies=tuple(copies),
        )

    # -- internals -------------------------------------------------------------------------

    async def _with_availability(
        self, record: CatalogRecord, holdings: list[Holding]
    ) -> CatalogRecord:
        copies = await self._read_copies(holdings)
        summary = (
            availability_of(copies)
            if copies is not None
            else Availability(total=len(holdings), available=0)
            if not holdings
            else None
        )
        return record.model_copy(update={"availability": summary})

    async def _read_copies(self, holdings: list[Holding]) -> list[Copy] | None:
        """The holdings' copies as the library system reports them (None: no reader)."""
        if self._copies is None:
            return None
        if not holdings:
            return []
        read = {c.barcode: c for c in await self._copies.item_copies([h.barcode for h in holdings])}
        copies = []
        for holding in holdings:
            copy = read.get(holding.barcode)
            if copy is None:
                continue  # the SRU index names a copy the library system no longer has
            reference = holding.reference_only or copy.reference_only
            status = copy.status
            if reference and status is CopyStatus.AVAILABLE:
                status = CopyStatus.REFERENCE_ONLY
            copies.append(
                copy.model_copy(
                    update={
                        "branch": copy.branch or holding.branch,
                        "shelf_location": holding.shelf_location or copy.shelf_location,
                        "call_number": holding.call_number or copy.call_number,
                        "reference_only": reference,
                        "status": status,
                    }
                )
            )
        return copies

    async def _retrieve(
        self, cql: str, start: int, maximum: int
    ) -> tuple[int, list[tuple[CatalogRecord, list[Holding]]]]:
        source = self._source
        params = {
            "operation": "searchRetrieve",
            "version": source.version,
            "query": cql,
            "startRecord": str(start),
            "maximumRecords": str(min(maximum, source.max_records)),
            "recordSchema": source.record_schema,
        }
        if source.version == "2.0":
            params["recordXMLEscaping"] = "xml"
        else:
            params["recordPacking"] = "xml"
        try:
            response = await self._http.get(source.url, params=params)
        except httpx.TransportError as exc:
            raise translate_transport(
                _SYSTEM, "searchRetrieve", exc, writes=False, retry_after=30
            ) from exc
        if response.status_code >= 500:
            raise BackendUnavailable(
                detail="The catalogue cannot be searched now.",
                operator_detail=f"SRU searchRetrieve: HTTP {response.status_code}",
            )
        if response.status_code != 200:
            raise BackendProtocolError(
                operator_detail=f"SRU searchRetrieve: HTTP {response.status_code}"
            )
        return parse_search_response(response.content)


def _broken(what: str) -> BackendProtocolError:
    return BackendProtocolError(operator_detail=f"SRU searchRetrieve: {what}")


def parse_search_response(
    body: bytes,
) -> tuple[int, list[tuple[CatalogRecord, list[Holding]]]]:
    """``numberOfRecords`` and the MARCXML records of a searchRetrieveResponse.

    Diagnostics (the server refused the query) and malformed answers are
    ``BackendProtocolError``: the gateway built the query, so a refusal means the tenant's
    index names do not fit the server.
    """
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise _broken(f"not XML ({exc})") from None
    ns = root.nsmap.get(root.prefix) if root.prefix else root.nsmap.get(None)
    if etree.QName(root).localname != "searchRetrieveResponse" or ns not in (_SRW, _SRU2):
        raise _broken("not a searchRetrieveResponse")
    namespaces = {"s": ns, "d": _DIAG, "m": MARC_NS}
    diagnostics = root.findall("s:diagnostics/d:diagnostic", namespaces)
    if diagnostics:
        uri = diagnostics[0].findtext("d:uri", default="", namespaces=namespaces)
        message = diagnostics[0].findtext("d:message", default="", namespaces=namespaces)
        raise _broken(f"diagnostic {uri} {message}".strip())
    count_text = root.findtext("s:numberOfRecords", default="", namespaces=namespaces)
    if not count_text.strip().isdigit():
        raise _broken("numberOfRecords missing")
    found: list[tuple[CatalogRecord, list[Holding]]] = []
    for data in root.iterfind("s:records/s:record/s:recordData", namespaces):
        marc = data.find("m:record", namespaces)
        if marc is None:
            raise _broken("a record is not MARCXML")
        try:
            found.append(parse_record(marc))
        except ValueError as exc:
            raise _broken(str(exc)) from None
    return int(count_text), found
