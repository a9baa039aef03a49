"""Helpers of tests/catalog: the example tenants, one per backend kind (issue 19).

``open_sites(*kinds)`` starts the gateway over ``runtime.simulated``: Saitama on the SIP2
ACS simulator with an SRU catalogue beside it (its file gains ``[tenants.catalog.sru]``), the
Koha demo on the Koha REST simulator and the FOLIO example on the FOLIO simulator — each on the
seeded sample library, on one ``ManualClock``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ils_gateway.runtime.simulated import SimulatedRun

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tenants"
SRU_TABLE = '\n[tenants.catalog.sru]\nurl = "http://sru.invalid/sru"\n'


def _without_elibrary(text: str) -> str:
    import re

    return re.sub(r"\n\[tenants\.elibrary\]\n(?:(?!\[).*\n)*", "\n", text)


def example(name: str, extra: str = "") -> str:
    return _without_elibrary((EXAMPLES / f"{name}.toml").read_text(encoding="utf-8")) + extra


@dataclass
class Sites:
    client: Any
    run: SimulatedRun

    def library(self, tenant: str) -> Any:
        return next(t.library for t in self.run.tenants if t.tenant == tenant)

    def login(self, tenant: str) -> tuple[str, str]:
        found = next(t for t in self.run.tenants if t.tenant == tenant)
        first = found.logins[0]
        return first.card, first.password

    async def get(self, path: str, status: int = 200, **headers: str) -> Any:
        response = await self.client.get(path, headers=headers)
        assert response.status == status, await response.text()
        return await response.json()


TENANTS = {"sip2": "saitama", "koha": "koha-demo", "folio": "folio-example"}


Opener = Callable[..., Awaitable[Sites]]
