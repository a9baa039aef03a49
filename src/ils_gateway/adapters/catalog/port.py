"""The catalogue port: what a search source and a copy reader offer (issue 19).

A ``CatalogSource`` searches and shows one record with its copies; a ``CopyReader`` gives the
copies of known barcodes (SIP2's item information, 17/18), for sources whose records name
their copies but cannot say where they stand (SRU). Raises the gateway's errors like every
adapter: ``NotFound``, ``BackendUnavailable``, ``BackendProtocolError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ils_gateway.domain.catalog import CatalogQuery, Copy, RecordWithCopies, SearchPage


@runtime_checkable
class CatalogSource(Protocol):
    """Searches one library's catalogue."""

    @property
    def name(self) -> str:
        """What the source is (``sru``, ``koha``, ``folio``), for docs and logs."""
        ...

    @property
    def unsearchable(self) -> frozenset[str]:
        """Search parameters this source cannot search by (refused before any I/O)."""
        ...

    async def search(self, query: CatalogQuery) -> SearchPage:
        """One page of records matching ``query``, each with its availability if known."""
        ...

    async def record(self, record_id: str) -> RecordWithCopies:
        """One record and its copies. Raises ``NotFound``."""
        ...

    async def close(self) -> None:
        """Release connections the source opened itself."""
        ...


@runtime_checkable
class CopyReader(Protocol):
    """Reads copies by barcode (SIP2 17/18)."""

    async def item_copies(self, barcodes: Sequence[str]) -> list[Copy]:
        """The copies of ``barcodes`` the library system knows, in order."""
        ...
