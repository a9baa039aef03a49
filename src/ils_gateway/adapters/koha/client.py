"""The one seam between the Koha adapter and the network: ``adapters.rest.RestClient`` with
Koha's table (``errors.KOHA``) and authentication (``auth``).

Reads, and calls Koha defines as idempotent, are tried again on transport failures and on
502/503/504; writes are sent exactly once, because a renewal or a hold that may have reached
Koha must be read back before it is tried again.

Lists: Koha pages every list it serves through ``$c->objects->search`` (Koha/REST/Plugin/
Objects.pm: ``_per_page`` defaults to the RESTdefaultPageSize preference, 20 out of the box,
installer/data/mysql/mandatory/sysprefs.sql) and says how many rows match in ``X-Total-Count``
and where the next page is in ``Link`` (Koha/REST/Plugin/Pagination.pm). ``call_list`` reads
every page (``errors.KOHA.paging``). It does not ask for ``_per_page=-1`` ("all rows"):
newer Koha refuses page sizes beyond a limit on patron data (Koha/REST/Plugin/
PatronDisclosure.pm, 400 ``patron_disclosure_page_size_exceeded``), while the size Koha
chose for the first page is always one it accepts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from ils_gateway.adapters.koha.auth import auth_for
from ils_gateway.adapters.koha.config import KohaBackendConfig, api_root
from ils_gateway.adapters.koha.errors import KOHA, KohaCall
from ils_gateway.adapters.rest import ClientState, RestClient

__all__ = ["ClientState", "KohaClient"]


class KohaClient(RestClient[KohaCall]):
    """Sends requests to one Koha server's ``/api/v1`` and returns decoded JSON or raises."""

    def __init__(
        self,
        config: KohaBackendConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            KOHA,
            config,
            base_url=api_root(config),
            auth=auth_for(config, clock=clock),
            transport=transport,
        )
