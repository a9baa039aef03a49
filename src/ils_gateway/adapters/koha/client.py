"""The one seam between the Koha adapter and the network: an httpx client with Koha's policy.

It owns connection pooling, timeouts and authentication (``auth``). What every REST adapter
shares comes from ``adapters.rest``: the client's lifecycle, the retry policy (reads, and
calls Koha defines as idempotent, are tried again on transport failures and on 502/503/504;
writes are sent exactly once, because a renewal or a hold that may have reached Koha must be
read back before it is tried again), transport error translation and JSON decoding. Koha's
own answers become gateway errors in ``errors.translate_response``.

Lists: Koha pages every list it serves through ``$c->objects->search`` (Koha/REST/Plugin/
Objects.pm: ``_per_page`` defaults to the RESTdefaultPageSize preference, 20 out of the box,
installer/data/mysql/mandatory/sysprefs.sql) and says how many rows match in ``X-Total-Count``
and where the next page is in ``Link`` (Koha/REST/Plugin/Pagination.pm). ``call_list`` reads
every page, bounded by ``_MAX_LIST_ROWS``. It does not ask for ``_per_page=-1`` ("all rows"):
newer Koha refuses page sizes beyond a limit on patron data (Koha/REST/Plugin/
PatronDisclosure.pm, 400 ``patron_disclosure_page_size_exceeded``), while the size Koha
chose for the first page is always one it accepts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from ils_gateway.adapters.koha.auth import TokenRequestFailed, auth_for
from ils_gateway.adapters.koha.config import KohaBackendConfig, api_root
from ils_gateway.adapters.koha.errors import (
    SYSTEM,
    KohaCall,
    translate_response,
    translate_token_failure,
)
from ils_gateway.adapters.rest import (
    ClientState,
    RetryPolicy,
    decode_json,
    http_client,
    send_with_retries,
    translate_transport,
)
from ils_gateway.domain.errors import BackendProtocolError

__all__ = ["ClientState", "KohaClient"]

# The most rows one list may have: far above any patron's loans or holds or a library's
# branches; beyond it Koha is not answering the question the gateway asked.
_MAX_LIST_ROWS = 2000


class KohaClient:
    """Sends requests to one Koha server's ``/api/v1`` and returns decoded JSON or raises."""

    def __init__(
        self,
        config: KohaBackendConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._http = http_client(
            config,
            base_url=api_root(config),
            auth=auth_for(config, clock=clock),
            accept="application/json",
            transport=transport,
        )
        self._policy = RetryPolicy(config.read_attempts, config.retry_backoff)
        self.state = ClientState.OPEN

    @property
    def auth(self) -> httpx.Auth:
        """The authentication flow in use (tests read its token counter)."""
        return self._http.auth

    async def aclose(self) -> None:
        """Close pooled connections; the client cannot be used afterwards."""
        if self.state is ClientState.OPEN:
            self.state = ClientState.CLOSED
            await self._http.aclose()

    async def __aenter__(self) -> KohaClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def call(
        self,
        call: KohaCall,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        accept: frozenset[int] = frozenset({200}),
    ) -> httpx.Response:
        """Send one request; return the response if its status is in ``accept``, else raise.

        ``idempotent`` defaults to True for GET only; a PUT that sets a value may pass True.
        """
        if self.state is not ClientState.OPEN:
            raise RuntimeError("KohaClient used after aclose()")
        if idempotent is None:
            idempotent = method == "GET"
        request = self._http.build_request(
            method, path, params=params, json=json, headers=dict(headers or {})
        )
        retry_after = self._config.retry_after
        try:
            response = await send_with_retries(
                lambda: self._http.send(request),
                idempotent=idempotent,
                policy=self._policy,
                system=SYSTEM,
            )
        except TokenRequestFailed as exc:
            raise translate_token_failure(exc, retry_after=retry_after) from exc
        except httpx.TransportError as exc:
            raise translate_transport(
                SYSTEM,
                f"{method} {path}",
                exc,
                writes=call.writes and not idempotent,
                retry_after=retry_after,
            ) from exc
        if response.status_code not in accept:
            raise translate_response(call, response, retry_after=retry_after)
        return response

    async def call_json(self, call: KohaCall, method: str, path: str, **kwargs: Any) -> Any:
        """Like :meth:`call`, then decode the JSON body (malformed JSON is Koha's fault)."""
        return decode_json(SYSTEM, await self.call(call, method, path, **kwargs))

    async def call_list(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        max_rows: int = _MAX_LIST_ROWS,
    ) -> list[Any]:
        """Every row of the Koha list at ``path``, reading page after page.

        The first page is asked for without a size, so Koha uses its own (RESTdefaultPageSize);
        the following pages are asked for by number with that size. How many pages there are
        comes from ``X-Total-Count``, else from a ``Link`` with ``rel="next"``.
        """
        query = dict(params or {})
        response = await self.call(KohaCall.READ, "GET", path, params=query, headers=headers)
        rows = _rows(response)
        total = _total_count(response)
        per_page = len(rows)
        page = 1
        while _more(response, total, len(rows)):
            if (total is not None and total > max_rows) or len(rows) >= max_rows:
                raise _too_long(path, total if total is not None else len(rows), max_rows)
            next_page, per_page = _next_page(response, page, per_page)
            if next_page <= page or per_page <= 0:
                raise BackendProtocolError(
                    detail="The library system sent an answer the gateway cannot read.",
                    operator_detail=f"Koha {path}: page {page} links to page {next_page}",
                )
            page = next_page
            response = await self.call(
                KohaCall.READ,
                "GET",
                path,
                params={**query, "_page": page, "_per_page": per_page},
                headers=headers,
            )
            more = _rows(response)
            if not more:
                break  # rows went away between pages (a loan returned meanwhile)
            rows.extend(more)
        return rows


def _rows(response: httpx.Response) -> list[Any]:
    body = decode_json(SYSTEM, response)
    if not isinstance(body, list):
        raise BackendProtocolError(
            detail="The library system sent an answer the gateway cannot read.",
            operator_detail=f"Koha {response.request.url.path}: a list was expected",
        )
    return body


def _total_count(response: httpx.Response) -> int | None:
    raw = response.headers.get("X-Total-Count")
    if raw is None:
        return None
    try:
        total = int(raw)
    except ValueError:
        total = -1
    if total < 0:
        raise BackendProtocolError(
            detail="The library system sent an answer the gateway cannot read.",
            operator_detail=f"Koha {response.request.url.path}: X-Total-Count {raw[:20]!r}",
        )
    return total


def _more(response: httpx.Response, total: int | None, fetched: int) -> bool:
    if total is not None:
        return fetched < total
    return "next" in response.links


def _next_page(response: httpx.Response, page: int, per_page: int) -> tuple[int, int]:
    """The number and size of the page after ``page``: from Koha's ``Link`` when it sends
    one (only its query is used: behind a proxy its host may be wrong), else counted."""
    link = response.links.get("next", {}).get("url")
    if link:
        query = parse_qs(urlsplit(link).query)
        try:
            return int(query["_page"][0]), int(query["_per_page"][0])
        except (KeyError, ValueError, IndexError):
            pass
    if per_page <= 0:
        raise BackendProtocolError(
            detail="The library system sent an answer the gateway cannot read.",
            operator_detail=f"Koha {response.request.url.path}: an empty page before the last",
        )
    return page + 1, per_page


def _too_long(path: str, total: int, max_rows: int) -> BackendProtocolError:
    return BackendProtocolError(
        detail="The library system sent a longer list than the gateway can read.",
        operator_detail=f"Koha {path}: {total} rows or more, the most read is {max_rows}",
    )
