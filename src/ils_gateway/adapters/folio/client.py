"""The one seam between the FOLIO adapter and the network: ``adapters.rest.RestClient`` with
FOLIO's table (``errors.FOLIO``) and the gateway's login (``auth``).

GETs and ``/patron-pin/verify`` (it changes nothing) are tried again; everything else is sent
once. Every failure leaves as a gateway error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from ils_gateway.adapters.folio.auth import OkapiTokenAuth
from ils_gateway.adapters.folio.config import FolioBackendConfig, gateway_root
from ils_gateway.adapters.folio.errors import FOLIO, FolioCall
from ils_gateway.adapters.rest import RestClient


class FolioClient(RestClient[FolioCall]):
    """Sends requests to one FOLIO tenant through Okapi and returns decoded JSON or raises."""

    def __init__(
        self,
        config: FolioBackendConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        root = gateway_root(config)
        auth = OkapiTokenAuth(
            root + config.login_path,
            config.tenant,
            config.username,
            config.password.get_secret_value(),
            now=now,
        )
        super().__init__(FOLIO, config, base_url=root, auth=auth, transport=transport)
