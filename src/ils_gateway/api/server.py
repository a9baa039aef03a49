"""Serving the app: aiohttp's own error answers made safe (issue 15, HTTP parser errors).

A request aiohttp cannot parse (a bad header line, a header or request line too long, too many
headers, a bad method or version, bad chunking) never reaches the app or its middleware:
aiohttp's ``RequestHandler.handle_error`` answers it, with the parser's message as the body
(which quotes the offending line: an ``Authorization: Bearer …`` header, a card number in a
header), logs the same text with a traceback on ``aiohttp.server``, and sends ``Server:
Python/3.x aiohttp/3.y``. aiohttp has no supported hook for that answer (aio-libs/aiohttp#3287
is open): ``handler_args`` only reach ``RequestHandler.__init__``, the request factory does not
see the answer, and ``on_response_prepare`` is not sent for a request that was never routed.
So the answer is made here, by a ``RequestHandler`` subclass (``GatewayRequestHandler``)
overriding ``handle_error``, created by a ``web.Server`` subclass that ``GatewayRunner`` (an
``AppRunner``) serves. ``serve`` runs the app through ``GatewayRunner``; so do the tests that
send malformed requests over a socket.

The answer is an ``application/problem+json`` 400 (431 for too many or too long header lines,
414 for a request line too long, 413 where aiohttp's error says 413) with a fixed detail, the
gateway's ``Server`` value, and the connection closed; the log line names the error class only.
``HeaderSafeFilter`` on ``aiohttp.server`` and ``aiohttp.access`` keeps header values and
exception messages out of whatever aiohttp still logs there.

``RequestHandler`` and ``web.Server`` are aiohttp's classes; this module relies on
``handle_error``'s signature, on ``web.Server`` keeping its handler keyword arguments in
``_kwargs`` and its loop in ``_loop`` and on ``AppRunner._make_server``. ``check_aiohttp()``
verifies them when the runner is made (tests/api/test_parser_errors.py pins the behaviour).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import json
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web import BaseRequest, RequestHandler

from ils_gateway.api.problems import PROBLEM_BASE, PROBLEM_CONTENT_TYPE

_log = structlog.get_logger("ils_gateway.api.server")

# The gateway's Server header, on aiohttp's own answers too (api.middleware sets the same).
SERVER = "ils-gateway"
# The parser's limits, kept apart so that a LineTooLong says which was exceeded: the request
# line (414) or a header line (431). aiohttp's defaults are 8190 for both.
MAX_LINE_SIZE = 8192
MAX_FIELD_SIZE = 8190
MAX_HEADERS = 128

# status → (problem slug, title, fixed detail)
_ANSWERS: dict[int, tuple[str, str, str]] = {
    400: ("malformed-request", "Malformed request", "The request could not be parsed as HTTP"),
    413: ("request-too-large", "Request too large", "The request is larger than allowed"),
    414: ("request-line-too-long", "Request line too long", "The request line is too long"),
    431: (
        "headers-too-large",
        "Request header fields too large",
        "The request has too many header lines or one that is too long",
    ),
    500: ("internal-error", "Internal error", "Internal error"),
    504: ("gateway-timeout", "Request timed out", "The request took too long"),
}
_TOO_MANY_HEADERS = "Too many headers received"  # aiohttp's fixed message (both parsers)


def parser_error_status(exc: BaseException | None, default: int = 400) -> int:
    """The status for an aiohttp parser error: 414/431 for a line too long (by which limit it
    names), 431 for too many headers, 413 where aiohttp says 413, else ``default``."""
    if isinstance(exc, LineTooLong):
        limit = exc.args[1] if len(exc.args) > 1 else None
        return 414 if limit == MAX_LINE_SIZE else 431
    if isinstance(exc, HttpProcessingError):
        if exc.message == _TOO_MANY_HEADERS:
            return 431
        if exc.code == 413:
            return 413
    return default


def problem_body(status: int) -> bytes:
    """The fixed problem document for ``status`` (nothing from the request in it)."""
    slug, title, detail = _ANSWERS.get(status, _ANSWERS[400])
    doc = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    return json.dumps(doc).encode()


class GatewayRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering what it cannot parse without echoing it."""

    __slots__ = ()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """A problem+json answer with a fixed detail; closes the connection (as aiohttp's
        does). The parser's ``message`` (which quotes the request) is neither sent nor logged."""
        if status == 400:
            status = parser_error_status(exc)
        _log.info(
            "http_error",
            status=status,
            error=type(exc).__name__ if exc is not None else None,
        )
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send another response")
        response = web.Response(
            status=status,
            body=problem_body(status),
            content_type=PROBLEM_CONTENT_TYPE,
            headers={
                "Server": SERVER,
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )
        response.force_close()
        return response


class GatewayServer(web.Server):
    """``web.Server`` whose connections are handled by ``GatewayRequestHandler``."""

    def __call__(self) -> RequestHandler:
        return GatewayRequestHandler(self, loop=self._loop, **self._kwargs)


class GatewayRunner(web.AppRunner):
    """``web.AppRunner`` serving the app through ``GatewayServer``, with the parser limits
    above and aiohttp's access log off (``api.middleware`` writes the request line)."""

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        check_aiohttp()
        install_log_filters()
        kwargs.setdefault("access_log", None)
        kwargs.setdefault("max_line_size", MAX_LINE_SIZE)
        kwargs.setdefault("max_field_size", MAX_FIELD_SIZE)
        kwargs.setdefault("max_headers", MAX_HEADERS)
        super().__init__(app, **kwargs)

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return GatewayServer(
            server.request_handler,
            request_factory=server.request_factory,
            loop=asyncio.get_running_loop(),
            **server._kwargs,
        )


def check_aiohttp() -> None:
    """Fail at start-up, not on the first bad request, if aiohttp changed what this relies on."""
    params = list(inspect.signature(RequestHandler.handle_error).parameters)
    server = web.Server.__init__
    problems = []
    if params != ["self", "request", "status", "exc", "message"]:
        problems.append(f"RequestHandler.handle_error{params}")
    if "kwargs" not in inspect.signature(server).parameters:
        problems.append("web.Server(**kwargs)")
    if not hasattr(web.AppRunner, "_make_server"):
        problems.append("AppRunner._make_server")
    if problems:
        raise RuntimeError(f"aiohttp changed: {', '.join(problems)} (see ils_gateway.api.server)")


class HeaderSafeFilter(logging.Filter):
    """On ``aiohttp.server`` and ``aiohttp.access``: no header values, no exception messages.

    An exception logged there keeps its class and where it was raised (the traceback's frames)
    but not its message, which for a parser error quotes the request's lines; an access line
    keeps the address, request line, status and size but no ``%{…}i`` header value.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            frames = "".join(traceback.format_tb(exc.__traceback__))
            record.exc_text = (
                f"Traceback (most recent call last):\n{frames}"
                f"{type(exc).__module__}.{type(exc).__qualname__} (message not logged)"
            )
            record.exc_info = None
        if record.name == "aiohttp.access":
            extra = record.__dict__
            record.msg = '%s "%s" %s %s'
            record.args = tuple(
                extra.get(key, "-")
                for key in (
                    "remote_address",
                    "first_request_line",
                    "response_status",
                    "response_size",
                )
            )
            extra.pop("request_header", None)
            extra.pop("response_header", None)
        elif isinstance(record.args, tuple):
            # Only addresses and counts are formatted into aiohttp.server's lines; an
            # exception's text would be: drop any argument that is one.
            record.args = tuple(
                type(a).__name__ if isinstance(a, BaseException) else a for a in record.args
            )
        return True


_FILTER = HeaderSafeFilter()
LOGGERS = ("aiohttp.server", "aiohttp.access")


def install_log_filters() -> None:
    """Add ``HeaderSafeFilter`` to aiohttp's server and access loggers (once)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


class Draining:
    """Whether the process is shutting down: ``/readyz`` answers 503 from then on."""

    __slots__ = ("on",)

    def __init__(self) -> None:
        self.on = False


DRAINING_KEY = web.AppKey("draining", Draining)
# Work that serving does not wait for (warming caches a first request would fill): run once,
# SETTLE_DELAY seconds after the port opens, so that start-up answers /healthz (a balancer's
# or an orchestrator's first probes) before it spends CPU on it (issue 17).
AFTER_LISTENING_KEY: web.AppKey[list[Callable[[web.Application], None]]] = web.AppKey(
    "after_listening"
)
SETTLE_DELAY = 0.5


async def serve_app(
    app: web.Application | Awaitable[web.Application],
    host: str,
    port: int,
    stop: asyncio.Event | None = None,
    *,
    reuse_port: bool = False,
    shutdown_delay: float = 0.0,
    shutdown_timeout: float = 30.0,
    settle_delay: float = SETTLE_DELAY,
) -> None:
    """Serve ``app`` on ``host:port`` through ``GatewayRunner`` until SIGINT/SIGTERM (or
    ``stop`` is set), then shut down gracefully (``web.run_app``'s job, with the gateway's
    runner): readiness off (``DRAINING_KEY``: ``/readyz`` 503) and, for ``shutdown_delay``
    seconds (or until a second signal), still serving so a balancer's probe sees it; then stop
    listening, let the HTTP
    requests in flight finish (up to ``shutdown_timeout`` seconds), then the app's cleanup
    contexts in reverse: the SIP2 faces drain their connections, then the pools close.
    ``reuse_port``: listen with SO_REUSEPORT beside the other workers (``serve --workers``).
    The app's ``AFTER_LISTENING_KEY`` callables run ``settle_delay`` seconds after the port
    opens (unless it is closing by then)."""
    import signal

    if not isinstance(app, web.Application):
        app = await app
    draining = Draining()
    app[DRAINING_KEY] = draining
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    runner = GatewayRunner(app, shutdown_timeout=shutdown_timeout)
    settling: list[asyncio.TimerHandle] = []
    try:
        # Inside the try: when a context fails to start (a kiosk face's port is busy), the
        # contexts already started are closed here, not by the loop's shutdown (a traceback).
        await runner.setup()
        await web.TCPSite(runner, host, port, reuse_port=reuse_port or None).start()
        print(f"======== Running on http://{host}:{port} ========", flush=True)
        if not gc.isenabled():  # ``serve`` started with it off (ils_gateway.serve)
            # What start-up built lives as long as the process: out of the collector's reach
            # (no full collection walks it again while serving), then collection on.
            gc.freeze()
            gc.enable()
        settling = [
            loop.call_later(settle_delay, warm, app) for warm in app.get(AFTER_LISTENING_KEY, ())
        ]
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        draining.on = True
        if shutdown_delay > 0:
            again = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, again.set)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(again.wait(), shutdown_delay)
    finally:
        draining.on = True
        for handle in settling:
            handle.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
