"""The embedded target: the demo tenant on the project's own simulators, on the contract loop.

``ils-gateway contract-test`` with no ``--config`` runs here, so anyone can watch the suite
pass in one command. It is what ``ils-gateway serve`` runs with no ``--config``: the ``demo``
tenant (``ils_gateway.tenants.demo``) talking SIP2 to the ACS simulator over the sample library
(みどり市立図書館), with the e-library simulator. The test patron defaults to demo patron
1000000001 and, with ``--allow-writes``, the items to a copy whose title is all out on loan
(a hold on it stays waiting, so it can be moved and cancelled) and a copy on the shelf that
nobody waits for (checked out, then in); the e-books to a title whose only copy another demo
patron borrows first (so it can be held) and a title with a copy free (borrowed, returned).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace

from ils_gateway.contract.target import ContractOptions, ContractTarget, open_tenant
from ils_gateway.domain.clock import ManualClock
from ils_gateway.elibrary.base import ElibraryBackend
from ils_gateway.runtime.demo import start_demo_sip2, start_demo_sru
from ils_gateway.simulators.elibrary import SEED_TITLES
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.records import Biblio
from ils_gateway.simulators.sample_data import DEMO_PATRONS, SAMPLE_NOW, sample_library


def holdable_waiting_item(library: SimulatedLibrary, card_number: str) -> str | None:
    """A barcode whose title ``card_number`` may hold and that stays waiting: every copy out."""
    for biblio in _neither_held_nor_borrowed(library, card_number):
        copies = library.items_of(biblio.id)
        if copies and all(c.holdable and not c.not_for_loan and c.due for c in copies):
            return copies[0].barcode
    return None


def lendable_item(library: SimulatedLibrary, card_number: str) -> str | None:
    """A barcode on the shelf that ``card_number`` may borrow and nobody holds or waits for."""
    for biblio in _neither_held_nor_borrowed(library, card_number):
        for copy in library.items_of(biblio.id):
            if copy.status == "available" and not copy.not_for_loan and not copy.hold_queue_length:
                return copy.barcode
    return None


def _neither_held_nor_borrowed(library: SimulatedLibrary, card_number: str) -> Iterator[Biblio]:
    """The titles ``card_number`` neither holds nor has on loan, in catalogue order."""
    patron = library.patron_info(card_number)
    held = {h.biblio_id for h in library.holds(patron.card_number)}
    borrowed = {loan.biblio_id for loan in library.loans(patron.card_number)}
    return (b for b in library.biblios() if b.id not in held and b.id not in borrowed)


async def demo_ebooks(elibrary: ElibraryBackend, card_number: str) -> tuple[str, ...]:
    """An e-book to hold and one to borrow for ``card_number`` on the e-library simulator.

    Another demo patron borrows the only copy of the first, as a reader would, so that the
    e-library takes a hold on it. Empty when the catalogue has no such pair.
    """
    loans, holds = await elibrary.list_loans(card_number), await elibrary.list_holds(card_number)
    mine = {x.title.id for x in loans} | {h.title.id for h in holds}
    free = [
        t
        for t in await elibrary.get_titles([t.id for t in SEED_TITLES])
        if t.id not in mine and t.can_borrow_now and t.availability is not None
    ]
    single = next((t for t in free if t.availability and t.availability.copies_owned == 1), None)
    other = next((p.card_number for p in DEMO_PATRONS if p.card_number != card_number), None)
    to_borrow = next((t for t in free if single is None or t.id != single.id), None)
    if single is None or other is None or to_borrow is None:
        return ()
    await elibrary.borrow(other, single.id)
    return (single.id, to_borrow.id)


def with_demo_defaults(options: ContractOptions, library: SimulatedLibrary) -> ContractOptions:
    """``options`` with the demo patron (and demo items for writes) filled in if not given."""
    if options.patron is None:
        demo = DEMO_PATRONS[0]
        options = replace(options, patron=demo.card_number, password=demo.password)
    if options.allow_writes and not options.items:
        card = options.patron or ""
        found = (holdable_waiting_item(library, card), lendable_item(library, card))
        options = replace(options, items=tuple(i for i in found if i is not None))
    return options


@asynccontextmanager
async def open_embedded(
    options: ContractOptions, library: SimulatedLibrary | None = None
) -> AsyncIterator[ContractTarget]:
    """Start the simulators on this loop and open the demo tenant on them."""
    # The sample library is written as of SAMPLE_NOW; the adapter shares its clock, so due
    # dates and overdue days read as the demo stories describe them.
    clock = ManualClock(SAMPLE_NOW)
    library = library or sample_library(clock=clock)
    server, _acs, tenant = await start_demo_sip2(library)
    sru, tenant = await start_demo_sru(library, tenant)
    try:
        async with open_tenant(
            tenant,
            with_demo_defaults(options, library),
            description=(
                f"embedded demo: SIP2 simulator {server.host}:{server.port} + SRU catalogue"
                " + e-library simulator"
            ),
            clock=library.now,
        ) as target:
            if target.allow_writes and not target.ebooks and target.elibrary is not None:
                target.ebooks = await demo_ebooks(target.elibrary, target.card_number or "")
            yield target
    finally:
        await sru.cleanup()
        await server.aclose()
