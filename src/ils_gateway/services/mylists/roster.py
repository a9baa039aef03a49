"""Which patrons the per-patron jobs visit, and how the gateway reaches their loans and holds.

The store files rows under a keyed hash of the card, never the card, so a job cannot find a
patron's card in the database. Patrons are therefore *enrolled* when the gateway sees them
logged in with reading history switched on or with a hold sequence, and withdrawn when neither
holds any more. The roster keeps the ILS's patron record (id and card number), never a password:
the jobs ask the library system with the gateway's own credential (Koha, FOLIO, the simulator).
A SIP2 backend whose ACS demands the patron password (AD) for 63 cannot be asked this way;
capture then happens only when the patron is seen (docs/mylists.md).

``StoreRoster`` keeps the roster in the gateway store (records sealed under a key derived from
the server secret, see ``ils_gateway.store.roster``): every process and every restart sees it.
``MemoryRoster`` lives in one process and is lost at restart (tests, embedding).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from pydantic import ValidationError

from ils_gateway.domain.models import Patron
from ils_gateway.store.records import PatronRef
from ils_gateway.store.store import Store

# The Patron fields the jobs need to ask the ILS, and to notice the patron (issue 18: the
# library system's addresses and phone, whether a child); never the birth date.
_KEPT_FIELDS = frozenset(
    {
        "id",
        "card_number",
        "name",
        "category",
        "home_library",
        "email",
        "email2",
        "phone",
        "is_child",
    }
)


class PatronRoster(Protocol):
    """Patrons enrolled for the periodic jobs, per tenant."""

    async def enrol(self, tenant_id: str, patron: Patron) -> None:
        """Visit ``patron`` in later runs."""
        ...

    async def withdraw(self, tenant_id: str, patron: Patron) -> None:
        """Stop visiting ``patron``."""
        ...

    async def patrons(self, tenant_id: str) -> list[Patron]:
        """The enrolled patrons of one tenant."""
        ...


class MemoryRoster:
    """A roster kept in this process's memory."""

    def __init__(self) -> None:
        self._patrons: dict[str, dict[str, Patron]] = {}

    async def enrol(self, tenant_id: str, patron: Patron) -> None:
        """Visit ``patron`` in later runs (a newer record replaces the older)."""
        self._patrons.setdefault(tenant_id, {})[patron.card_number] = patron

    async def withdraw(self, tenant_id: str, patron: Patron) -> None:
        """Stop visiting ``patron``."""
        self._patrons.get(tenant_id, {}).pop(patron.card_number, None)

    async def patrons(self, tenant_id: str) -> list[Patron]:
        """The enrolled patrons of one tenant."""
        return list(self._patrons.get(tenant_id, {}).values())

    def tenants(self) -> Iterable[str]:
        """Tenants with at least one enrolled patron."""
        return [t for t, patrons in self._patrons.items() if patrons]


class StoreRoster:
    """A roster in the gateway store, shared by every gateway process and kept across restarts."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def enrol(self, tenant_id: str, patron: Patron) -> None:
        """Visit ``patron`` in later runs (a newer record replaces the older)."""
        record = patron.model_dump(mode="json", include=set(_KEPT_FIELDS))
        await self._store.roster.enrol(self._owner(tenant_id, patron), record)

    async def withdraw(self, tenant_id: str, patron: Patron) -> None:
        """Stop visiting ``patron``."""
        await self._store.roster.withdraw(self._owner(tenant_id, patron))

    async def patrons(self, tenant_id: str) -> list[Patron]:
        """The enrolled patrons of one tenant (records that no longer parse are skipped)."""
        found: list[Patron] = []
        for record in await self._store.roster.records(tenant_id):
            try:
                found.append(Patron.model_validate(record))
            except ValidationError:
                continue
        return found

    def _owner(self, tenant_id: str, patron: Patron) -> PatronRef:
        return self._store.patron(tenant_id, patron.card_number)
