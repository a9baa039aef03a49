"""The kiosk tests' library and gateway: a small simulated library behind its SIP2 ACS face or
its Koha REST face (real TCP on 127.0.0.1), a gateway whose tenant uses it as backend and
enables the SIP2 face, and ``SIP2ClientPool`` as the self-check machine."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from ils_gateway.domain.clock import ManualClock
from ils_gateway.kiosk.face import open_kiosk_faces
from ils_gateway.kiosk.reload import KioskServers
from ils_gateway.runtime.assemble import open_gateway
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.runtime.tenant import Gateway
from ils_gateway.simulators.folio_cli import start_folio_simulator
from ils_gateway.simulators.folio_records import folio_id
from ils_gateway.simulators.koha import create_koha_app
from ils_gateway.simulators.library import TOKYO, SimulatedLibrary
from ils_gateway.simulators.policy import ItemType
from ils_gateway.simulators.records import (
    Biblio,
    Branch,
    Item,
    ItemStatus,
    LibraryData,
    Loan,
    Patron,
    PatronCategory,
)
from ils_gateway.simulators.sip2_acs import start_sip2_simulator
from ils_gateway.sip2.client import SIP2ClientPool, SIP2ClientSettings
from ils_gateway.store.engine import default_url
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

NOW = datetime(2026, 1, 10, 10, 0, tzinfo=TOKYO)
LENT_AT = datetime(2026, 1, 3, 11, 0, tzinfo=TOKYO)
SECRET = b"kiosk-test-secret-0123456789abcdef"
CARD, PASSWORD = "0000000001", "pass1234"
OTHER_CARD, OTHER_PASSWORD = "0000000002", "pass5678"
EXPIRED_CARD, EXPIRED_PASSWORD = "0000000003", "pass9999"
SC_USER, SC_PASSWORD = "sc01", "kiosk-secret"
FREE, FREE_2, LENT, REFERENCE = "2000105", "2000106", "2000104", "2000107"


class Clock(ManualClock):
    """A clock the test sets by hand; the library, gateway and store share it."""

    def __init__(self, now: datetime = NOW) -> None:
        super().__init__(now)


def _patron(pid: int, card: str, password: str, name: str, expiry: date) -> Patron:
    return Patron(
        pid, card, password, name, "カナ", PatronCategory.ADULT, "CEN",
        date(1980, 4, 1), expiry, date(2026, 1, 3),
    )  # fmt: skip


def library_data() -> LibraryData:
    """Free copies to borrow, one lent to the other patron, one reference-only; an expired card."""
    biblios = [
        Biblio(4, "吾輩は猫である", "夏目漱石", ItemType.BOOK),
        Biblio(5, "ぐりとぐら", "中川李枝子", ItemType.PICTURE_BOOK),
        Biblio(6, "坊っちゃん", "夏目漱石", ItemType.BOOK),
        Biblio(7, "広辞苑", "新村出", ItemType.BOOK),
    ]
    items = [
        Item(104, LENT, 4, "CEN", "CEN", "913/ナ", ItemStatus.CHECKED_OUT),
        Item(105, FREE, 5, "CEN", "CEN", "E/ナ"),
        Item(106, FREE_2, 6, "CEN", "CEN", "913/ナ"),
        Item(107, REFERENCE, 7, "CEN", "CEN", "813/シ", not_for_loan=True),
    ]
    return LibraryData(
        name="テスト市立図書館",
        branches=[Branch("CEN", "中央図書館"), Branch("NIS", "西図書館")],
        biblios=biblios,
        items=items,
        patrons=[
            _patron(1, CARD, PASSWORD, "山田 花子", date(2028, 3, 31)),
            _patron(2, OTHER_CARD, OTHER_PASSWORD, "佐藤 一郎", date(2028, 3, 31)),
            _patron(3, EXPIRED_CARD, EXPIRED_PASSWORD, "鈴木 次郎", date(2025, 3, 31)),
        ],
        loans=[
            Loan(1, 104, 2, "CEN", datetime(2026, 1, 3, 11, 0, tzinfo=TOKYO), date(2026, 1, 17))
        ],
    )


_TENANT = """
[[tenants]]
id = "testlib"
name = "テスト市立図書館"
{backend}
[[tenants.pickup_libraries]]
code = "CEN"
name = "中央図書館"

[tenants.kiosk_sip2]
enabled = true
port = 0
institution_id = "TEST"
logins = [{{ user = "{sc_user}", password = "{sc_password}"{login_subnets} }}]
encoding = "{encoding}"
terminator = "{terminator}"
{kiosk}

[tenants.policy.card]
strip = "- "
pattern = '^\\d{{10}}$'

[tenants.policy.renewal]
max_renewals = 1

[tenants.policy.maintenance]
start = 03:50:00
end = 04:20:00

[tenants.policy.disabled_features]
kiosk = {kiosk_disabled}
"""

_SIP2_BACKEND = """
[tenants.backend]
kind = "sip2"
host = "127.0.0.1"
port = {port}
institution_id = "TEST"
login_user = "gateway"
login_password = "acs-secret"
expiry_field = "PA"
title_hold_entries = "record_id_title"
"""

_FOLIO_BACKEND = """
[tenants.backend]
kind = "folio"
okapi_url = "{url}"
tenant = "testlib"
username = "ils-gateway"
password = "folio-demo-pass"
cancellation_reason_id = "75187e8d-e25a-47a7-89ad-23ba612338de"
service_point_id = "{service_point}"
"""

_KOHA_BACKEND = """
[tenants.backend]
kind = "koha"
base_url = "{url}"
client_id = "koha-demo-gateway"
client_secret = "koha-demo-secret"
"""


@dataclass
class Setup:
    """A running library, gateway and kiosk face; ``machine`` speaks to the face."""

    sim: SimulatedLibrary
    gateway: Gateway
    machine: SIP2ClientPool
    port: int
    faces: KioskServers | None = None
    """Every server and terminal desk (issue 21: listeners, reload)."""


def self_check(
    port: int, *, password: str = SC_PASSWORD, encoding: str = "utf-8", terminator: str = "\r"
) -> SIP2ClientPool:
    """A self-check machine's connection pool to the gateway's face."""
    return SIP2ClientPool(
        SIP2ClientSettings(
            host="127.0.0.1",
            port=port,
            login_user=SC_USER,
            login_password=password,
            institution_id="TEST",
            pool_size=1,
            encoding=encoding,
            terminator=terminator,
        )
    )


@asynccontextmanager
async def running(
    backend: str,
    clock: Clock,
    store_dir: Path | None = None,
    *,
    shift_jis: bool = False,
    koha_request_flow: bool = False,
    kiosk_disabled: Sequence[str] = ("reading_history",),
    data: LibraryData | None = None,
    extra: str = "",
    kiosk: str = "",
    login_subnets: Sequence[str] = (),
    cached: bool = False,
    sightings: str | None = None,
) -> AsyncIterator[Setup]:
    """The library behind ``backend`` ("sip2", "koha" or "folio"), a gateway on it (with a
    SQLite store in ``store_dir`` when given) and its kiosk face, and a logged-in self-check machine
    (``shift_jis``: face and machine speak CP932 with CRLF, as many installed machines do;
    ``koha_request_flow``: newer Koha's cancellation requests, ready holds cancellable;
    ``kiosk_disabled``: the features the tenant switches off on the kiosk channel; ``data``:
    another library than ``library_data()``; ``extra``: TOML added to the tenant; ``kiosk``:
    keys added to ``[tenants.kiosk_sip2]``; ``login_subnets``: the machine login's
    ``allowed_subnets``; ``cached``: the gateway's resilient backend with its read cache, as
    deployed, instead of the adapter alone; ``sightings``: the SIP2 ACS's login ``seer`` has
    Koha's ``seen_on_item_information`` set to this, and the backend uses it as its
    ``sighting_login``)."""
    sim = SimulatedLibrary(data or library_data(), clock)
    async with AsyncExitStack() as stack:
        if backend == "sip2":
            logins = {"gateway": "acs-secret", "seer": "seer-secret"}
            seen = {"seer": sightings} if sightings else {}
            server, _acs = await start_sip2_simulator(
                sim, logins=logins, institution_id="TEST", seen_on_item_information=seen
            )
            stack.push_async_callback(server.aclose)
            section = _SIP2_BACKEND.format(port=server.port)
            if sightings:
                section += 'sighting_login = { user = "seer", password = "seer-secret" }\n'
        elif backend == "folio":
            runner, url = await start_folio_simulator(
                sim,
                port=0,
                tenant="testlib",
                username="ils-gateway",
                password="folio-demo-pass",
                token_clock=sim.now,
            )
            stack.push_async_callback(runner.cleanup)
            # The machines lend and take back at the central library's service point.
            point = folio_id("service-point", "CEN")
            section = _FOLIO_BACKEND.format(url=url, service_point=point)
        else:
            runner = web.AppRunner(create_koha_app(sim))
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            section = _KOHA_BACKEND.format(url=f"http://127.0.0.1:{runner.addresses[0][1]}")
            if koha_request_flow:
                section += "cancellation_request_flow = true\n"
        framing = ("cp932", "crlf", "\r\n") if shift_jis else ("utf-8", "cr", "\r")
        text = _TENANT.format(
            backend=section,
            sc_user=SC_USER,
            sc_password=SC_PASSWORD,
            encoding=framing[0],
            terminator=framing[1],
            kiosk_disabled=json.dumps(list(kiosk_disabled)),
            kiosk=kiosk,
            login_subnets=(
                f", allowed_subnets = {json.dumps(list(login_subnets))}" if login_subnets else ""
            ),
        )
        text += extra
        if koha_request_flow:
            text += '\n[tenants.policy.holds]\ncancel_allowed_states = ["waiting", "ready"]\n'
        store = None
        if store_dir is not None:
            url = default_url(store_dir / "gateway.sqlite3")
            store = StoreSettings(url, SECRET, kdf=KdfParams.minimal())
        # The tests change the library behind the gateway's back: no read cache unless asked.
        wrapping: dict[str, Any] = {} if cached else {"wrap_backend": None}
        settings = GatewaySettings(
            tenants=TenantRegistry(parse_tenants(text, "<kiosk test>").tenants),
            clock=clock,
            store=store,
            **wrapping,
        )
        gateway = await stack.enter_async_context(open_gateway(settings))
        faces = await stack.enter_async_context(open_kiosk_faces(gateway))
        port = faces["testlib"].port
        machine = await stack.enter_async_context(
            self_check(port, encoding=framing[0], terminator=framing[2])
        )
        yield Setup(sim, gateway, machine, port, faces)
