"""Notices test support: a tenant, a store on SQLite, a clock, and a backend whose loans and
holds the test sets (no network: the services are what is tested here)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ils_gateway.adapters.base import Capabilities, Capability
from ils_gateway.domain.clock import ManualClock
from ils_gateway.domain.errors import BackendUnavailable
from ils_gateway.domain.models import Hold, Item, Loan, Patron
from ils_gateway.domain.vocab import HoldStatus
from ils_gateway.mail.outbox import Outbox
from ils_gateway.services.context import TenantContext
from ils_gateway.services.mylists.roster import StoreRoster
from ils_gateway.services.notices.service import NoticeService
from ils_gateway.store.engine import default_url, open_store
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.store.store import Store
from ils_gateway.tenants.loader import parse_tenants
from ils_gateway.tenants.models import TenantConfig

SECRET = b"notices-test-secret-0123456789abcdef"
# 2026-12-04 09:30 in Tokyo (a Friday).
NOW = datetime(2026, 12, 4, 0, 30, tzinfo=UTC)
TODAY = date(2026, 12, 4)

TENANT_TOML = """
[[tenants]]
id = "akiruno"
name = "あきる野市図書館"

[tenants.backend]
kind = "koha"
base_url = "http://127.0.0.1:9"
client_id = "gw"
client_secret = "secret"

[tenants.policy.holds]
contact_methods = ["email", "phone", "none"]

[[tenants.pickup_libraries]]
code = "CEN"
name = "中央図書館"

[tenants.calendar]
closed_weekdays = ["mon"]

[tenants.calendar.hours]
tue = "10:00-19:00"
wed = "10:00-19:00"
thu = "10:00-19:00"
fri = "10:00-19:00"
sat = "10:00-17:00"
sun = "10:00-17:00"

[tenants.notices]
due_reminder_days = 3
child_entry_mail = true
max_patrons_per_run = {max_patrons}
concurrency = 2
operator_keys = ["staff-key-1"]
pickup_days = 7
{extra}
"""


def make_tenant(max_patrons: int = 200, extra: str = "") -> TenantConfig:
    text = TENANT_TOML.format(max_patrons=max_patrons, extra=extra)
    return parse_tenants(text, "<test>").tenants[0]


def patron(n: int = 1, **fields: Any) -> Patron:
    values: dict[str, Any] = {
        "id": str(n),
        "card_number": f"10000{n:05d}",
        "name": f"利用者 {n}",
        "email": f"patron{n}@example.jp",
        "phone": f"042-000-{n:04d}",
    }
    values.update(fields)
    return Patron(**values)


def ready_hold(hold_id: str = "h1", title: str = "坊っちゃん", **fields: Any) -> Hold:
    return Hold(
        id=hold_id,
        item=Item(id=f"i-{hold_id}", title=title),
        status=HoldStatus.READY,
        pickup_library="CEN",
        **fields,
    )


def loan(item_id: str, due: date, title: str = "こころ") -> Loan:
    return Loan(id=item_id, item=Item(id=item_id, title=title), due_date=due)


class FakeBackend:
    """Loans and holds per card, set by the test; counts calls; can be down."""

    def __init__(self) -> None:
        self.holds: dict[str, list[Hold]] = {}
        self.loans: dict[str, list[Loan]] = {}
        self.calls = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.down = False
        self.records: dict[str, Patron] = {}
        self.capabilities = Capabilities.native(Capability.LIST_LOANS, Capability.LIST_HOLDS)

    async def _call(self) -> None:
        self.calls += 1
        if self.down:
            raise BackendUnavailable(operator_detail="test: down")
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        import asyncio

        await asyncio.sleep(0)  # let the other visits start: concurrency is observable
        self.in_flight -= 1

    async def list_holds(self, who: Patron) -> list[Hold]:
        await self._call()
        return list(self.holds.get(who.card_number, []))

    async def patron_summary(self, who: Patron) -> Patron:
        # The full record (not counted: polling calls are what the tests count).
        return self.records.get(who.card_number, who)

    async def list_loans(self, who: Patron) -> list[Loan]:
        await self._call()
        return list(self.loans.get(who.card_number, []))


_TEMPLATE: list[Path] = []


async def _migrated() -> Path:
    """An empty store file at the newest revision, made once per test process."""
    if not _TEMPLATE:
        path = Path(tempfile.mkdtemp(prefix="notices-store-")) / "template.db"
        async with open_store(default_url(path), secret=SECRET, kdf=KdfParams.minimal()):
            pass
        _TEMPLATE.append(path)
    return _TEMPLATE[0]


@asynccontextmanager
async def notices_env(
    tmp_path: Path, tenant: TenantConfig | None = None, clock: ManualClock | None = None
) -> AsyncIterator[tuple[NoticeService, Store, FakeBackend, ManualClock]]:
    """A notice service over a fresh SQLite store and a fake backend."""
    clock = clock or ManualClock(NOW)
    tenant = tenant or make_tenant()
    backend = FakeBackend()
    path = tmp_path / "notices.db"
    shutil.copyfile(await _migrated(), path)  # at head: opens without running the migrations
    async with open_store(
        default_url(path), secret=SECRET, kdf=KdfParams.minimal(), clock=clock
    ) as store:
        context = TenantContext(config=tenant, backend=backend, clock=clock)  # type: ignore[arg-type]
        outbox = Outbox(store.outbox).for_tenant(tenant.id)
        service = NoticeService(context, store, StoreRoster(store), outbox)
        yield service, store, backend, clock


async def outbox_rows(store: Store) -> list[Any]:
    """Every outbox row (any status), oldest first."""
    from sqlalchemy import select

    from ils_gateway.store.schema import mail_outbox

    async with store.engine.connect() as conn:
        return list(await conn.execute(select(mail_outbox).order_by(mail_outbox.c.id)))


def days(n: int) -> timedelta:
    return timedelta(days=n)
