"""The seed libraries' tenant files (and the FOLIO example) served over real HTTP against the
in-process simulators, with a SQLite store, for the account lifecycle (issue 18).

``open_account_site("saitama")`` starts the SIP2 ACS simulator (Koha REST for Kanagawa, FOLIO
for ``folio-example``) over the sample library on the shared ``ManualClock``, serves the
gateway with the store, and returns a ``Site`` whose ``mails()`` lists the outbox. Kanagawa's
6-digit card rule is widened to the sample's 10-digit cards; ``edit`` switches rules.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.keys import GATEWAY_KEY
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.services import credentials
from ils_gateway.simulators.folio_cli import start_folio_simulator
from ils_gateway.simulators.koha_cli import start_koha_simulator
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import SAMPLE_NOW, build_sample_data
from ils_gateway.simulators.sip2_acs import start_sip2_simulator
from ils_gateway.sip2.codec import CodecSettings
from ils_gateway.store.engine import upgrade
from ils_gateway.store.outbox import OutboxMail
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.tenants.backends import FolioBackend, KohaBackend, Sip2Backend
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tenants"
PICKUP = """
[[tenants.pickup_libraries]]
code = "CEN"
name = "中央図書館"
"""


@dataclass
class Site:
    client: Any
    library: SimulatedLibrary
    tenant: str

    @property
    def base(self) -> str:
        return f"/v1/tenants/{self.tenant}"

    async def post(self, path: str, body: Any, auth: dict[str, str] | None = None) -> Any:
        return await self.client.post(self.base + path, json=body, headers=auth or {})

    async def login(self, card: str, password: str) -> dict[str, str]:
        response = await self.post("/sessions", {"card_number": card, "password": password})
        assert response.status == 201, await response.text()
        return {"Authorization": f"Bearer {(await response.json())['token']}"}

    async def login_status(self, card: str, password: str) -> int:
        response = await self.post("/sessions", {"card_number": card, "password": password})
        return int(response.status)

    async def mails(self, template: str | None = None) -> list[OutboxMail]:
        gateway = self.client.server.app[GATEWAY_KEY]
        rows = await gateway.outbox.repository.list(tenant_id=self.tenant)
        return [m for m in rows if template is None or m.template == template]

    async def token(self, template: str) -> str:
        mails = await self.mails(template)
        assert mails, f"no {template} mail"
        return str(mails[0].context["token"])


def _without_elibrary(text: str) -> str:
    return re.sub(r"\n\[tenants\.elibrary\]\n(?:(?!\[).*\n)*", "\n", text)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SAMPLE_NOW)


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty store at the newest revision, made once: each site copies it (alembic's run
    is most of a site's start)."""
    path = tmp_path_factory.mktemp("account-store") / "template.sqlite3"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "DEFAULT_PARAMS", credentials.ScryptParams.minimal())


@pytest.fixture
async def open_account_site(
    aiohttp_client: Any, clock: ManualClock, tmp_path: Path, migrated_store: Path
) -> AsyncIterator[Callable[..., Awaitable[Site]]]:
    closers: list[Callable[[], Awaitable[None]]] = []

    async def open_site(name: str, *, edit: Callable[[str], str] | None = None) -> Site:
        library = SimulatedLibrary(build_sample_data(now=SAMPLE_NOW), clock)
        text = _without_elibrary((EXAMPLES / f"{name}.toml").read_text(encoding="utf-8"))
        text = text.replace("pattern = '^\\d{6}$'", "pattern = '^\\d{10}$'")
        if edit is not None:
            text = edit(text)
        tenant = parse_tenants(text, name).tenants[0]
        backend = tenant.backend
        if isinstance(backend, Sip2Backend):
            password = backend.login_password.get_secret_value() if backend.login_password else ""
            server, _acs = await start_sip2_simulator(
                library,
                port=0,
                logins={backend.login_user or "": password},
                codec=CodecSettings(encoding=backend.encoding, terminator=backend.terminator_text),
                institution_id=backend.institution_id,
            )
            closers.append(server.aclose)
            text = re.sub(r"(?m)^port = \d+$", f"port = {server.port}", text, count=1)
            text += PICKUP
        elif isinstance(backend, KohaBackend):
            runner, url = await start_koha_simulator(
                library,
                port=0,
                client_id=backend.client_id or "",
                client_secret=(
                    backend.client_secret.get_secret_value() if backend.client_secret else ""
                ),
            )
            closers.append(runner.cleanup)
            text = text.replace(backend.base_url, url)
        else:
            assert isinstance(backend, FolioBackend)
            runner, url = await start_folio_simulator(
                library,
                port=0,
                tenant=backend.tenant,
                username=backend.username,
                password=backend.password.get_secret_value(),
            )
            closers.append(runner.cleanup)
            text = text.replace(backend.okapi_url, url)
        registry = TenantRegistry(parse_tenants(text, name).tenants)
        database = tmp_path / f"{name}.sqlite3"
        shutil.copyfile(migrated_store, database)
        store = StoreSettings(
            f"sqlite+aiosqlite:///{database}",
            b"account-secret" * 3,
            kdf=KdfParams.minimal(),
        )
        settings = replace(GatewaySettings(tenants=registry, clock=clock), store=store)
        client = await aiohttp_client(create_app(settings))
        return Site(client=client, library=library, tenant=tenant.id)

    yield open_site
    for close in reversed(closers):
        await close()
