"""The embedded target: the demo library on the project's own simulators, on the contract loop.

``ils-gateway contract-test`` with no ``--config`` runs here, so anyone can watch the suite
pass in one command. The ILS is the sample library (みどり市立図書館) behind its Koha REST
face, the e-library the e-library simulator; the test patron defaults to demo patron
1000000001 and, with ``--allow-writes``, the item to a copy whose title is all out on loan
(so a hold on it stays waiting and can be moved and cancelled).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from aiohttp import web

from ils_gateway.contract.target import ContractOptions, ContractTarget, open_tenant
from ils_gateway.simulators.koha import create_koha_app
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import DEMO_PATRONS, sample_library
from ils_gateway.tenants.loader import parse_tenants
from ils_gateway.tenants.models import TenantConfig

EMBEDDED_TENANT_ID = "demo"
CLIENT_ID = "contract-test"
CLIENT_SECRET = "contract-test-secret"

_TENANT_TOML = """
[[tenants]]
id = "{tenant_id}"
name = "デモ市立図書館"
name_en = "Demo City Library"

[tenants.backend]
kind = "koha"
base_url = "{base_url}"
auth = "oauth2"
client_id = "{client_id}"
client_secret = "{client_secret}"
read_attempts = 1

[tenants.elibrary]
kind = "simulator"

[tenants.policy.card]
pattern = '^\\d{{10}}$'
"""


def koha_tenant(base_url: str, tenant_id: str = EMBEDDED_TENANT_ID) -> TenantConfig:
    """A tenant on a Koha REST simulator at ``base_url`` with the simulated e-library."""
    text = _TENANT_TOML.format(
        tenant_id=tenant_id, base_url=base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    return parse_tenants(text, "<contract-test tenant>").tenants[0]


def holdable_waiting_item(library: SimulatedLibrary, card_number: str) -> str | None:
    """A barcode whose title ``card_number`` may hold and that stays waiting: every copy out."""
    patron = library.patron_info(card_number)
    held = {h.biblio_id for h in library.holds(patron.card_number)}
    borrowed = {loan.biblio_id for loan in library.loans(patron.card_number)}
    for biblio in library.biblios():
        if biblio.id in held or biblio.id in borrowed:
            continue
        copies = library.items_of(biblio.id)
        if copies and all(c.holdable and not c.not_for_loan and c.due for c in copies):
            return copies[0].barcode
    return None


def with_demo_defaults(options: ContractOptions, library: SimulatedLibrary) -> ContractOptions:
    """``options`` with the demo patron (and a demo item for writes) filled in if not given."""
    if options.patron is None:
        demo = DEMO_PATRONS[0]
        options = replace(options, patron=demo.card_number, password=demo.password)
    if options.allow_writes and not options.items:
        item = holdable_waiting_item(library, options.patron or "")
        if item is not None:
            options = replace(options, items=(item,))
    return options


async def start_koha(
    library: SimulatedLibrary, app: web.Application | None = None
) -> tuple[web.AppRunner, str]:
    """Serve the Koha REST face of ``library`` (or ``app``) on 127.0.0.1, a free port."""
    app = app or create_koha_app(library, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


@asynccontextmanager
async def open_embedded(
    options: ContractOptions, library: SimulatedLibrary | None = None
) -> AsyncIterator[ContractTarget]:
    """Start the simulators on this loop and open the demo tenant on them."""
    library = library or sample_library()
    runner, url = await start_koha(library)
    try:
        tenant = koha_tenant(url)
        async with open_tenant(
            tenant,
            with_demo_defaults(options, library),
            description=f"embedded demo: Koha REST simulator {url} + e-library simulator",
        ) as target:
            yield target
    finally:
        await runner.cleanup()
