"""structlog set-up: JSON lines when stderr is not a terminal, readable lines when it is.

Every line carries the request id bound by the API's middleware (``bind_request_context``: the
request's context as one dict in one context variable, merged into each line by
``merge_request_context``; other context bound with ``structlog.contextvars`` is merged too).
A processor masks secrets that slip into event dicts: any key naming a password is dropped to
``"***"`` and card numbers keep their last four characters at most.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
from collections.abc import MutableMapping
from contextvars import ContextVar, Token
from typing import Any

import structlog
from pydantic_core import to_json

from ils_gateway.domain.models import mask_card

# Any key containing one of these words is hidden.
_SECRET_KEY = re.compile("password|secret|token|authorization|kiosk_key")
_CARD_KEYS = frozenset({"card", "card_number", "patron_identifier"})
_KEEP, _HIDE, _MASK = 0, 1, 2
# What to do with each key seen so far: log lines reuse a few dozen keys, so the regex runs
# once per key name, not once per key of every line. Bounded in case keys are ever dynamic.
_verdicts: dict[str, int] = {}
_MAX_VERDICTS = 4096


def _verdict(key: str) -> int:
    lowered = key.lower()
    verdict = _HIDE if _SECRET_KEY.search(lowered) else _MASK if lowered in _CARD_KEYS else _KEEP
    if len(_verdicts) < _MAX_VERDICTS:
        _verdicts[key] = verdict
        if verdict == _KEEP:
            _kept_keys.add(key)
    return verdict


# The keys known to be kept as they are: a line with only these needs no redaction pass.
_kept_keys: set[str] = set()


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: hide passwords and tokens, mask card numbers."""
    for key, value in event.items():  # values are replaced in place; no key is added
        verdict = _verdicts.get(key)
        if verdict is None:
            verdict = _verdict(key)
        if verdict == _HIDE:
            event[key] = "***"
        elif verdict == _MASK and isinstance(value, str):
            event[key] = mask_card(value)
    return event


# The log context of the request being answered: one dict, set once per request (structlog's
# ``bind_contextvars`` costs a context variable set and reset per key, on every request).
_request_context: ContextVar[dict[str, Any] | None] = ContextVar(
    "ils_gateway_request_context", default=None
)


def bind_request_context(context: dict[str, Any]) -> Token[dict[str, Any] | None]:
    """Make ``context`` the log context of every line logged from here on in this context (and
    the tasks it starts) until ``reset_request_context``. Keys added to the dict later (the
    patron, once the session is known) are in the lines logged after that."""
    return _request_context.set(context)


def reset_request_context(token: Token[dict[str, Any] | None]) -> None:
    """Back to the log context before ``bind_request_context``."""
    _request_context.reset(token)


def merge_request_context(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: the request's log context, under the line's own keys (as
    ``structlog.contextvars.merge_contextvars`` does for its context)."""
    context = _request_context.get()
    if context:
        for key, value in context.items():
            event.setdefault(key, value)
    return event


class ConfiguredLogger:
    """A named structlog logger bound once per structlog configuration, for hot paths.

    ``structlog.get_logger()`` returns a lazy proxy that binds a new logger on every call; this
    keeps the bound one and binds again only when ``structlog.configure`` (or a test's
    ``capture_logs``) has changed the processors, wrapper class or logger factory.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._seen: tuple[Any, ...] = ()  # the configuration objects it was bound with
        self._logger: Any = None

    def get(self) -> Any:
        """The bound logger for the configuration in force."""
        config = structlog.get_config()
        seen = (
            config["processors"],
            config["wrapper_class"],
            config["logger_factory"],
            config["context_class"],
        )
        if self._logger is None or any(a is not b for a, b in zip(seen, self._seen, strict=True)):
            self._logger = structlog.get_logger(self._name).bind()
            self._seen = seen
        return self._logger


class UtcTimestamp:
    """structlog processor: ``timestamp`` in ISO 8601, UTC, microseconds and ``Z``.

    The same text as ``TimeStamper(fmt="iso", utc=True)``, with the date and time of day
    formatted once a second instead of through a datetime on every line.
    """

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(
        self, _logger: Any, _method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        event["timestamp"] = f"{self._prefix}.{int((now - second) * 1_000_000):06d}Z"
        return event


def _json_line(event: Any, **_options: Any) -> str:
    # pydantic-core writes UTF-8 JSON several times faster than json.dumps (a line per request);
    # anything it cannot serialise is written as its repr.
    return to_json(event, fallback=repr).decode()


class _DirectJson:
    """What ``configure_logging(json=True)`` installed, for writing request lines directly."""

    __slots__ = ("chain", "enabled", "processors", "timestamp", "wrapper_class", "writer")

    def __init__(
        self, processors: list[Any], wrapper_class: Any, writer: Any, level: int, stamp: Any
    ) -> None:
        self.processors = processors
        # structlog's capture_logs() swaps the processors inside the same list: compare them too.
        self.chain = tuple(processors)
        self.wrapper_class = wrapper_class
        self.writer = writer
        self.enabled = level <= logging.INFO
        self.timestamp = stamp

    def in_force(self) -> bool:
        config = structlog.get_config()
        processors = config["processors"]
        return (
            processors is self.processors
            and config["wrapper_class"] is self.wrapper_class
            and tuple(processors) == self.chain
        )


_direct: _DirectJson | None = None


class _RequestLines:
    """Request lines written together: the lines of the requests that end in one turn of the
    event loop are written (and flushed) at the end of that turn, in one write instead of one
    each. Outside a running loop a line is written at once."""

    __slots__ = ("lines", "writer")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.writer: Any = None

    def write(self, writer: Any, line: str) -> None:
        if self.lines and writer is not self.writer:
            self.flush()
        if not self.lines:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                writer.msg(line)
                return
            loop.call_soon(self.flush)
            self.writer = writer
        self.lines.append(line)

    def flush(self) -> None:
        if self.lines:
            text = "\n".join(self.lines)
            self.lines.clear()
            self.writer.msg(text)


_LINES = _RequestLines()


class RequestLog:
    """The line each API request writes when it ends (event ``request``, at level info).

    Written on every request, so while the configuration is the one ``configure_logging``
    installed for JSON, the line is rendered here (the same keys, values and order as the
    processor chain: event fields, event, request context, level, timestamp, secrets redacted)
    at a fraction of the chain's cost, and the lines of the requests that end in one turn of
    the event loop are written together at its end (``_RequestLines``: one write and flush for
    a burst; another line logged in that turn may come before them). Under any other
    configuration (the console renderer, a test's ``capture_logs``) it goes through structlog
    like every other line.
    """

    __slots__ = ("_logger",)

    def __init__(self, name: str) -> None:
        self._logger = ConfiguredLogger(name)

    def done(self, context: dict[str, Any], status: int, ms: float) -> None:
        """Log the end of the request whose log context (bound as context variables) is
        ``context``."""
        direct = _direct
        if direct is not None and direct.in_force():
            if direct.enabled:
                event = {"status": status, "ms": ms, "event": "request", **context}
                event["level"] = "info"
                direct.timestamp(None, "info", event)
                if not event.keys() <= _kept_keys:  # a key not seen yet, or one to hide
                    redact(None, "info", event)
                _LINES.write(direct.writer, _json_line(event))
            return
        self._logger.get().info("request", status=status, ms=ms)


def configure_logging(*, json: bool | None = None, level: int = logging.INFO) -> None:
    """Configure structlog once for the process; ``json=None`` picks JSON unless on a tty."""
    global _direct
    if json is None:
        json = not sys.stderr.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_json_line)
        if json
        # Plain tracebacks: rich's (structlog's default) print each frame's local variables.
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    stamp = UtcTimestamp()
    processors = [
        merge_request_context,
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        stamp,
        redact,
        structlog.processors.format_exc_info,
        renderer,
    ]
    wrapper_class = structlog.make_filtering_bound_logger(level)
    # One writer for every line: WriteLogger writes and flushes under a lock, like PrintLogger,
    # without print()'s overhead.
    writer = structlog.WriteLogger(sys.stderr)
    structlog.configure(
        processors=processors,
        wrapper_class=wrapper_class,
        logger_factory=lambda *_args: writer,
        cache_logger_on_first_use=False,
    )
    _direct = _DirectJson(processors, wrapper_class, writer, level, stamp) if json else None
