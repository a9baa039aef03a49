"""Store refusals turned into the domain error tree, plus the two errors only these lists have.

``store_errors()`` wraps every store call of this package: an unknown shelf or sequence becomes
``NotFound`` (404), a bad value ``BadRequest`` (400), a full list ``ListLimitReached`` (422) and
an item twice on a shelf ``Conflict`` (409). The store's own exceptions never leave ``services/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from ils_gateway.domain.errors import BadRequest, Conflict, GatewayError, NotFound
from ils_gateway.store import errors as store

_LIMITED_LISTS: dict[type[store.LimitExceeded], str] = {
    store.ShelfLimitExceeded: "shelves",
    store.ShelfItemLimitExceeded: "shelf_items",
    store.SdiConditionLimitExceeded: "sdi_conditions",
}


class ListLimitReached(GatewayError):
    """The patron's list (basket, shelves, items on a shelf) is as long as the library allows."""

    type_slug: ClassVar[str] = "list-limit-reached"
    status: ClassVar[int] = 422
    title: ClassVar[str] = "This list is full"

    def __init__(self, list_name: str, limit: int, detail: str | None = None) -> None:
        self.list_name = list_name
        self.limit = limit
        super().__init__(detail or f"At most {limit} allowed here ({list_name})")

    def extensions(self) -> dict[str, Any]:
        return {"list": self.list_name, "limit": self.limit}


class HistoryLocked(GatewayError):
    """The reading history is encrypted and this session has not opened it: send the password."""

    type_slug: ClassVar[str] = "reading-history-locked"
    status: ClassVar[int] = 403
    title: ClassVar[str] = "Enter your password to open your reading history"


@contextmanager
def store_errors() -> Iterator[None]:
    """Translate the store's refusals raised inside the block into domain errors."""
    try:
        yield
    except store.RecordNotFound as exc:
        raise NotFound(operator_detail=str(exc)) from exc
    except store.LimitExceeded as exc:
        raise ListLimitReached(_LIMITED_LISTS.get(type(exc), "list"), exc.limit) from exc
    except store.AlreadyPresent as exc:
        raise Conflict("It is already there", operator_detail=str(exc)) from exc
    except store.InvalidValue as exc:
        raise BadRequest(f"{exc.field}: {exc.reason}") from exc
