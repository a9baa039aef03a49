"""The one REST client every vendor adapter (Koha, FOLIO) uses, and what it is made of.

``RestClient`` sends a request, tries idempotent ones again, reads lists page by page and turns
every failure into a gateway error. What differs per vendor is data, in one ``Vendor`` value
each (``koha/errors.py``, ``folio/errors.py``): the (call, status) table, how an error body
reads (``ErrorBody``) and which refusal it names, which calls are safe to try again, where the
gateway logs in (its auth flow, a ``TokenAuth``), and how lists are paged (``PageLinks``).
The parts below know nothing about any vendor:

- ``RestClient``: one vendor's client: ``call``, ``call_json``, ``call_list``.
- ``TokenAuth``: a gateway token fetched by a login request, renewed on expiry and on 401.
- ``ClientState``: a client is usable until closed, and says so clearly when used after.
- ``http_client``: the pooled httpx client built from a backend's timeouts and pool sizes.
- ``send_with_retries``: idempotent calls are tried again on transport failures and on
  502/503/504 with exponential backoff; writes are sent exactly once, because a renewal or a
  hold that may have reached the library system must be read back before it is tried again
  (``services/`` decide that).
- ``translate_transport``: a failure below HTTP becomes ``OutcomeUnknown`` for a write that may
  have been sent, ``BackendProtocolError`` for a broken answer, else ``BackendUnavailable``.
- ``status_class``: the error class for a status, from a vendor's (call, status) table, else
  ``ANY_CALL_STATUSES`` (what a status means on any call to any of them).
- ``error_for_status``: the error that class stands for, built the same way for every vendor
  (and the fallbacks for statuses no table names).
- ``decode_json``: a body that is not JSON is the peer's fault (``BackendProtocolError``).
- ``renew_in_turn``: a multi-item renewal as single renewals, one after the other, each
  refusal or failure kept as that item's result.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from ils_gateway.adapters.tls import client_tls
from ils_gateway.deadline import bounded, remaining
from ils_gateway.domain.errors import (
    AuthenticationFailed,
    BackendProtocolError,
    BackendUnavailable,
    BadRequest,
    Conflict,
    GatewayError,
    NotFound,
    OutcomeUnknown,
    Refused,
)
from ils_gateway.domain.logsafe import path_shape
from ils_gateway.domain.models import BatchResult, RenewalResult
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.observability import tracing

if TYPE_CHECKING:
    from ils_gateway.domain.vocab import RefusalReason

RETRYABLE_STATUSES = frozenset({502, 503, 504})


class VendorCall(Protocol):
    """What the gateway was asking a vendor to do (a vendor's call enum member)."""

    @property
    def writes(self) -> bool:
        """True when the call changes something in the library system."""
        ...


_Call = TypeVar("_Call", bound=VendorCall)

# What a status means whatever the gateway was asking, unless a vendor's table says otherwise.
ANY_CALL_STATUSES: dict[int, type[GatewayError]] = {
    400: BadRequest,
    # 401/403 here: the library system refused the *gateway's* credentials or permissions.
    # The patron can do nothing about it; the operator must fix the tenant file or the API user.
    401: BackendUnavailable,
    403: BackendUnavailable,
    404: NotFound,
    # e.g. FOLIO's optimistic locking: a record changed by staff meanwhile.
    409: Conflict,
    503: BackendUnavailable,
}

_log = structlog.get_logger("ils_gateway.adapters.rest")


class ClientState(enum.Enum):
    """Lifecycle of a REST client: usable until closed, never reopened."""

    OPEN = "open"
    CLOSED = "closed"


class _PoolSettings(Protocol):
    @property
    def timeouts(self) -> Any: ...
    @property
    def max_connections(self) -> int: ...
    @property
    def max_keepalive_connections(self) -> int: ...


def http_client(
    settings: _PoolSettings,
    *,
    base_url: str,
    auth: httpx.Auth,
    accept: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The pooled httpx client for one backend (its timeouts, pool sizes and auth flow)."""
    t = settings.timeouts
    return httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        timeout=httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool),
        limits=httpx.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_keepalive_connections,
        ),
        headers={"Accept": accept, "User-Agent": "ils-gateway"},
        transport=transport,
        verify=client_tls(),
    )


class _RetryableStatus(Exception):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, _RetryableStatus | httpx.TransportError)


async def send_with_retries(
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    idempotent: bool,
    policy: RetryPolicy,
    system: str,
) -> httpx.Response:
    """Call ``send`` once, or up to ``policy.attempts`` times when ``idempotent`` and the
    request's deadline (``ils_gateway.deadline``) leaves time.

    Returns the last response (whatever its status: the caller translates it). Transport
    errors of the last try are raised as they are, for ``translate_transport``.
    """
    attempts = policy.attempts if idempotent else 1

    def log_retry(state: RetryCallState) -> None:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        _log.info(
            "rest.retry",
            system=system,
            attempt=state.attempt_number,
            error=type(exc).__name__ if exc else None,
        )

    backoff = wait_exponential(multiplier=policy.first_wait, max=policy.max_wait)

    def wait(state: RetryCallState) -> float:  # never past the request's deadline
        return bounded(backoff(state))

    def out_of_time(state: RetryCallState) -> bool:  # no time left after the wait
        left = remaining()
        return left is not None and left <= backoff(state)

    after_last = stop_after_attempt(attempts)

    def stop(state: RetryCallState) -> bool:  # tenacity's `|` is typed for stop_base only
        return after_last(state) or out_of_time(state)

    retrying = AsyncRetrying(
        stop=stop,
        wait=wait,
        retry=retry_if_exception(_retryable),
        reraise=True,
        before_sleep=log_retry,
    )
    try:
        async for attempt in retrying:
            with attempt:
                response = await send()
                if idempotent and response.status_code in RETRYABLE_STATUSES:
                    raise _RetryableStatus(response)
                return response
    except _RetryableStatus as exhausted:
        return exhausted.response
    raise AssertionError("unreachable: tenacity either returns or raises")


def translate_transport(
    system: str,
    what: str,
    exc: httpx.TransportError,
    *,
    writes: bool,
    retry_after: int,
) -> GatewayError:
    """The gateway error for a request that failed below HTTP (connect, timeout, broken peer).

    ``writes`` says the request changes something in the library system; when it may have
    been sent (anything but a failed connect or a pool wait) its outcome is unknown.
    """
    operator = f"{system} {what}: {type(exc).__name__}: {exc}"
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    if writes and not never_sent:
        return OutcomeUnknown(
            detail="The library system did not confirm the request; check before retrying.",
            operator_detail=operator,
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.DecodingError):
        return BackendProtocolError(
            detail="The library system sent a broken answer.", operator_detail=operator
        )
    return BackendUnavailable(
        detail="The library system cannot be reached now.",
        operator_detail=operator,
        retry_after=retry_after,
    )


def status_class(
    table: Mapping[tuple[_Call | None, int], type[GatewayError]], call: _Call, status: int
) -> type[GatewayError] | None:
    """The error class for ``status`` on ``call``: the vendor's row for that call, its row for
    any call (``None``), else ``ANY_CALL_STATUSES``; None when nobody names the status."""
    return table.get((call, status)) or table.get((None, status)) or ANY_CALL_STATUSES.get(status)


def error_for_status(
    cls: type[GatewayError] | None,
    *,
    status: int,
    writes: bool,
    reason: Callable[[], RefusalReason],
    message: str | None,
    operator: str,
    retry_after: int,
) -> GatewayError:
    """Build the error a vendor's status table chose (``cls``), or the fallback when it chose none.

    Without a class, a 5xx is ``OutcomeUnknown`` for a write (it may have taken effect before
    the crash) and ``BackendUnavailable`` for a read; anything else is the peer answering
    outside its contract. ``reason`` is asked only for refusals.
    """
    if cls is None:
        if status >= 500 and writes:
            return OutcomeUnknown(
                detail="The library system did not confirm the request; check before retrying.",
                operator_detail=operator,
            )
        if status >= 500:
            return BackendUnavailable(
                detail="The library system is not answering properly now.",
                operator_detail=operator,
                retry_after=retry_after,
            )
        return BackendProtocolError(
            detail="The library system sent an unexpected answer.", operator_detail=operator
        )
    if issubclass(cls, Refused):
        return cls(reason(), message, backend_message=message, operator_detail=operator)
    if cls is BackendUnavailable:
        return BackendUnavailable(
            detail="The library system cannot be reached now.",
            operator_detail=operator,
            retry_after=retry_after,
        )
    if cls is AuthenticationFailed:
        return AuthenticationFailed(operator_detail=operator)
    return cls(message, operator_detail=operator)


def decode_json(system: str, response: httpx.Response) -> object:
    """The JSON body of ``response``; a body that is not JSON is a ``BackendProtocolError``."""
    try:
        return response.json()
    except ValueError as exc:
        request = response.request
        path = path_shape(request.url.path)
        raise BackendProtocolError(
            detail="The library system sent an answer the gateway cannot read.",
            operator_detail=f"{system} {request.method} {path}: body is not JSON",
        ) from exc


async def renew_in_turn(
    renew: Callable[[str], Awaitable[RenewalResult]], item_ids: Sequence[str]
) -> BatchResult[RenewalResult]:
    """Renew each of ``item_ids`` with ``renew``, one at a time; a raised error is its result.

    One at a time because each renewal changes what the next may do (limits, fines).
    """
    results: list[RenewalResult] = []
    for item_id in item_ids:
        try:
            results.append(await renew(item_id))
        except GatewayError as error:
            results.append(RenewalResult.from_error(item_id, error))
    return BatchResult[RenewalResult](results=tuple(results))


class CredentialsRefused(Exception):
    """The library system would not log the gateway itself in (its credentials, tenant or
    permissions): raised by a ``TokenAuth`` flow."""

    def __init__(self, response: httpx.Response, reason: str) -> None:
        super().__init__(reason)
        self.response = response
        self.reason = reason


class TokenAuth(httpx.Auth):
    """The gateway's token on every request, from a login request the vendor defines.

    The token is fetched when there is none or it has expired, and when the library system
    answers 401 (revoked, or the system restarted) it is fetched again and the request sent
    once more. One lock keeps concurrent requests from logging in each. A vendor says how to
    log in (``login_request``), read the answer (``accept_login``: the token, or
    ``CredentialsRefused``), tell expiry (``expired``) and carry the token (``apply``).
    """

    def __init__(self) -> None:
        self._token: str | None = None
        self._lock = asyncio.Lock()

    def login_request(self) -> httpx.Request:
        raise NotImplementedError

    def accept_login(self, response: httpx.Response) -> str:
        raise NotImplementedError

    def expired(self) -> bool:
        raise NotImplementedError

    def apply(self, request: httpx.Request, token: str) -> None:
        raise NotImplementedError

    async def _log_in(self, response: httpx.Response) -> None:
        await response.aread()
        self._token = self.accept_login(response)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        async with self._lock:
            if self._token is None or self.expired():
                await self._log_in((yield self.login_request()))
            used = self._token
        assert used is not None
        self.apply(request, used)
        response = yield request
        if response.status_code != 401:
            return
        async with self._lock:
            if self._token == used:  # nobody logged in again meanwhile
                await self._log_in((yield self.login_request()))
            assert self._token is not None
            self.apply(request, self._token)
        yield request


@dataclass(frozen=True)
class ErrorBody:
    """What a vendor's error answer says, as its ``Vendor.read_error`` reads it."""

    messages: tuple[str, ...] = ()
    code: str | None = None  # the vendor's code for the error, when it gives one
    blocks: tuple[str, ...] = ()  # the patron blocks the vendor names as the cause

    @property
    def message(self) -> str | None:
        """The vendor's words, kept for patrons (refusals) and operators."""
        return "; ".join(self.messages) or None


@dataclass(frozen=True)
class PageLinks:
    """Lists paged by number and size, the row count in a header and the next page in a
    ``Link`` with ``rel="next"``. The first page is asked for without a size, so the vendor
    uses its own; the next ones by number with that size."""

    page: str  # query parameter of the page number
    size: str  # query parameter of the page size
    total: str  # header with how many rows match
    max_rows: int  # the most rows one list may have before the answer is not believed


@dataclass(frozen=True)
class Vendor(Generic[_Call]):
    """What one vendor's REST API needs that another's does not, as data."""

    system: str  # the name operators read ("Koha", "FOLIO")
    accept: str  # the Accept header of every request
    read_call: _Call  # the call of list reads
    status_table: Mapping[tuple[_Call | None, int], type[GatewayError]]
    read_error: Callable[[httpx.Response], ErrorBody]
    refusal_reason: Callable[[ErrorBody, _Call], RefusalReason]
    login_where: str  # where the gateway logs in, for operators
    safe_calls: frozenset[_Call] = frozenset()  # not GETs, yet tried again like reads
    paging: PageLinks | None = None

    def translate(self, call: _Call, response: httpx.Response, *, retry_after: int) -> GatewayError:
        """The gateway error for an answer the caller did not accept."""
        status = response.status_code
        body = self.read_error(response)
        message = body.message
        request = response.request
        where = f"{self.system} {request.method} {path_shape(request.url.path)} -> {status}"
        operator = f"{where}: {message or '(no message)'}" + (
            f" [{body.code}]" if body.code else ""
        )
        return error_for_status(
            status_class(self.status_table, call, status),
            status=status,
            writes=call.writes,
            reason=lambda: self.refusal_reason(body, call),
            message=message,
            operator=operator,
            retry_after=retry_after,
        )

    def translate_login(self, exc: CredentialsRefused, *, retry_after: int) -> GatewayError:
        """The library system refused the gateway's own login: an operator problem, unavailable
        to patrons."""
        message = self.read_error(exc.response).message
        return BackendUnavailable(
            detail="The library system cannot be reached now.",
            operator_detail=(
                f"{self.system} {self.login_where}: {exc.reason}: {message or '(no message)'}"
            ),
            retry_after=retry_after,
        )


class _RestSettings(_PoolSettings, Protocol):
    @property
    def read_attempts(self) -> int: ...
    @property
    def retry_backoff(self) -> float: ...
    @property
    def retry_after(self) -> int: ...


class RestClient(Generic[_Call]):
    """Sends requests to one library system's REST API and returns responses or raises
    gateway errors; what the vendor is comes from ``vendor``."""

    def __init__(
        self,
        vendor: Vendor[_Call],
        settings: _RestSettings,
        *,
        base_url: str,
        auth: httpx.Auth,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.vendor = vendor
        self._retry_after = settings.retry_after
        self._auth = auth
        self._http = http_client(
            settings, base_url=base_url, auth=auth, accept=vendor.accept, transport=transport
        )
        self._policy = RetryPolicy(settings.read_attempts, settings.retry_backoff)
        self.state = ClientState.OPEN

    @property
    def auth(self) -> httpx.Auth:
        """The authentication flow in use (tests read its login counter)."""
        return self._auth

    async def aclose(self) -> None:
        """Close pooled connections; the client cannot be used afterwards."""
        if self.state is ClientState.OPEN:
            self.state = ClientState.CLOSED
            await self._http.aclose()

    async def __aenter__(self) -> RestClient[_Call]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def call(
        self,
        call: _Call,
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

        ``idempotent`` defaults to True for a GET and for the vendor's ``safe_calls``; a PUT
        that sets a value may pass True. Traced as ``rest <METHOD> <call>`` when tracing is on
        (the path's shape, ids as ``{id}``, as ``url.template``).
        """
        if tracing.tracer is None:
            return await self._call(call, method, path, params, json, headers, idempotent, accept)
        name = getattr(call, "value", None) or str(call)
        attributes = {"http.request.method": method, "url.template": path_shape(path)}
        with tracing.span(f"rest {method} {name}", attributes) as span:
            response = await self._call(
                call, method, path, params, json, headers, idempotent, accept
            )
            span.set_attribute("http.response.status_code", response.status_code)
            return response

    async def _call(
        self,
        call: _Call,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
        idempotent: bool | None,
        accept: frozenset[int],
    ) -> httpx.Response:
        if self.state is not ClientState.OPEN:
            raise RuntimeError(f"{type(self).__name__} used after aclose()")
        if idempotent is None:
            idempotent = method == "GET" or call in self.vendor.safe_calls
        request = self._http.build_request(
            method, path, params=params, json=json, headers=dict(headers or {})
        )
        system = self.vendor.system
        try:
            response = await send_with_retries(
                lambda: self._http.send(request),
                idempotent=idempotent,
                policy=self._policy,
                system=system,
            )
        except CredentialsRefused as exc:
            raise self.vendor.translate_login(exc, retry_after=self._retry_after) from exc
        except httpx.TransportError as exc:
            raise translate_transport(
                system,
                f"{method} {path}",
                exc,
                writes=call.writes and not idempotent,
                retry_after=self._retry_after,
            ) from exc
        if response.status_code not in accept:
            raise self.vendor.translate(call, response, retry_after=self._retry_after)
        return response

    async def call_json(self, call: _Call, method: str, path: str, **kwargs: Any) -> Any:
        """Like :meth:`call`, then decode the JSON body (malformed JSON is the vendor's fault)."""
        return decode_json(self.vendor.system, await self.call(call, method, path, **kwargs))

    async def call_list(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> list[Any]:
        """Every row of the list at ``path``, reading page after page (``Vendor.paging``).

        How many pages there are comes from the row count header, else from a ``Link`` with
        ``rel="next"``; a list longer than the paging's ``max_rows`` is refused.
        """
        paging = self.vendor.paging
        if paging is None:
            raise TypeError(f"{self.vendor.system} lists are not paged by this client")
        max_rows = paging.max_rows
        pages = _Pages(self.vendor.system, paging, path)
        read = self.vendor.read_call
        query = dict(params or {})
        response = await self.call(read, "GET", path, params=query, headers=headers)
        rows = pages.rows(response)
        total = pages.total(response)
        per_page = len(rows)
        page = 1
        while pages.more(response, total, len(rows)):
            if (total is not None and total > max_rows) or len(rows) >= max_rows:
                raise pages.too_long(total if total is not None else len(rows), max_rows)
            next_page, per_page = pages.next(response, page, per_page)
            if next_page <= page or per_page <= 0:
                raise pages.broken(f"page {page} links to page {next_page}")
            page = next_page
            response = await self.call(
                read,
                "GET",
                path,
                params={**query, paging.page: page, paging.size: per_page},
                headers=headers,
            )
            more = pages.rows(response)
            if not more:
                break  # rows went away between pages (a loan returned meanwhile)
            rows.extend(more)
        return rows


class _Pages:
    """Reading one paged list's answers (``PageLinks``)."""

    def __init__(self, system: str, paging: PageLinks, path: str) -> None:
        self._system = system
        self._paging = paging
        self._path = path

    def broken(self, what: str, response: httpx.Response | None = None) -> BackendProtocolError:
        """``response`` names the path as sent (with the API root), else the list's path."""
        path = path_shape(response.request.url.path if response is not None else self._path)
        return BackendProtocolError(
            detail="The library system sent an answer the gateway cannot read.",
            operator_detail=f"{self._system} {path}: {what}",
        )

    def too_long(self, total: int, max_rows: int) -> BackendProtocolError:
        return BackendProtocolError(
            detail="The library system sent a longer list than the gateway can read.",
            operator_detail=(
                f"{self._system} {self._path}: {total} rows or more, the most read is {max_rows}"
            ),
        )

    def rows(self, response: httpx.Response) -> list[Any]:
        body = decode_json(self._system, response)
        if not isinstance(body, list):
            raise self.broken("a list was expected", response)
        return body

    def total(self, response: httpx.Response) -> int | None:
        raw = response.headers.get(self._paging.total)
        if raw is None:
            return None
        try:
            total = int(raw)
        except ValueError:
            total = -1
        if total < 0:
            raise self.broken(f"{self._paging.total} {raw[:20]!r}", response)
        return total

    @staticmethod
    def more(response: httpx.Response, total: int | None, fetched: int) -> bool:
        if total is not None:
            return fetched < total
        return "next" in response.links

    def next(self, response: httpx.Response, page: int, per_page: int) -> tuple[int, int]:
        """The number and size of the page after ``page``: from the ``Link`` when there is
        one (only its query is used: behind a proxy its host may be wrong), else counted."""
        link = response.links.get("next", {}).get("url")
        if link:
            query = parse_qs(urlsplit(link).query)
            try:
                return int(query[self._paging.page][0]), int(query[self._paging.size][0])
            except (KeyError, ValueError, IndexError):
                pass
        if per_page <= 0:
            raise self.broken("an empty page before the last", response)
        return page + 1, per_page
