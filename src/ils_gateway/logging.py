"""structlog set-up: JSON lines when stderr is not a terminal, readable lines when it is.

Every line carries the request id bound by the API's middleware (``structlog.contextvars``).
A processor masks secrets that slip into event dicts: any key naming a password is dropped to
``"***"`` and card numbers keep their last four characters at most.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from pydantic_core import to_json

from ils_gateway.domain.models import mask_card

# Any key containing one of these words is hidden (runs on every log line: one regex search).
_SECRET_KEY = re.compile("password|secret|token|authorization|kiosk_key")
_CARD_KEYS = frozenset({"card", "card_number", "patron_identifier"})


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: hide passwords and tokens, mask card numbers."""
    for key, value in event.items():  # values are replaced in place; no key is added
        lowered = key.lower()
        if _SECRET_KEY.search(lowered):
            event[key] = "***"
        elif lowered in _CARD_KEYS and isinstance(value, str):
            event[key] = mask_card(value)
    return event


def _json_line(event: Any, **_options: Any) -> str:
    # pydantic-core writes UTF-8 JSON several times faster than json.dumps (a line per request);
    # anything it cannot serialise is written as its repr.
    return to_json(event, fallback=repr).decode()


def configure_logging(*, json: bool | None = None, level: int = logging.INFO) -> None:
    """Configure structlog once for the process; ``json=None`` picks JSON unless on a tty."""
    if json is None:
        json = not sys.stderr.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_json_line)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
