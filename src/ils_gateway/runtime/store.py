"""The gateway store as the runtime opens it: where it lives, its secret, and its services.

``StoreSettings`` says where the store is and the server secret its keys derive from;
``store_settings(url)`` is what ``serve`` uses (``url`` / ``ILS_GATEWAY_STORE_URL`` /
``./var/ils-gateway.sqlite3``; see ``ils_gateway.store.location``); ``open_mylists`` opens the
store (``ils_gateway.store.open_store``; migrations first) and builds the list services over it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from ils_gateway.domain.clock import Clock
from ils_gateway.services.mylists.runtime import MyLists
from ils_gateway.store import location
from ils_gateway.store.engine import open_store
from ils_gateway.store.reading_history import KdfParams


@dataclass(frozen=True)
class StoreSettings:
    """Where the gateway store lives, and the server secret its keys are derived from."""

    url: str
    secret: bytes = field(repr=False)
    #: argon2 cost for history keys; None = libsodium "interactive" (tests pass the minimum).
    kdf: KdfParams | None = None


@asynccontextmanager
async def open_mylists(settings: StoreSettings, clock: Clock) -> AsyncIterator[MyLists]:
    """Open the store of ``settings`` (migrated) and the list services over it."""
    async with open_store(settings.url, secret=settings.secret, kdf=settings.kdf, clock=clock) as s:
        yield MyLists.build(s, settings.secret, clock)


def store_settings(url: str | None = None, secret: str | None = None) -> StoreSettings:
    """The store for ``serve``: ``url`` / ``ILS_GATEWAY_STORE_URL`` / ``./var/ils-gateway.sqlite3``,
    secret ``secret`` / ``ILS_GATEWAY_STORE_SECRET`` or a generated dev secret beside a SQLite
    file (``ils_gateway.store.location``)."""
    chosen = location.store_url(url)
    return StoreSettings(chosen, location.store_secret(chosen, secret))
