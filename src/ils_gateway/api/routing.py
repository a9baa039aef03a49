"""What a route of the table is (``Route``), apart from the table itself (``api.routes``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PREFIX = "/v1/tenants/{tenant}"
# The e-library's auth bridge lives outside the tenant prefix.
BRIDGE_PREFIX = "/elibrary/v1/libraries/{library}"


@dataclass(frozen=True)
class QueryParam:
    """A query parameter of a route, as the document states it (the handler checks it)."""

    name: str
    schema: dict[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True)
class Route:
    """One endpoint: method, path, handler, and the models its document is built from."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[Any] | None = None
    response: type[Any] | None = None
    status: int = 200
    session: bool = True
    media_type: str = "application/json"
    prefix: str = PREFIX
    # Other successful answers besides ``status``: (status, body model, description).
    also: tuple[tuple[int, type[Any], str], ...] = ()
    query: tuple[QueryParam, ...] = ()

    @property
    def name(self) -> str:
        """The handler's name, used as the route name and the OpenAPI operationId."""
        return self.handler.__name__
