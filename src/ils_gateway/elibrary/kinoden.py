"""``ElibraryBackend`` over a KinoDen-style e-library's REST API (``docs/elibrary-api.md``).

The vendor's JSON is read through small wire models (camelCase, extra fields ignored, since the
vendor may add some) and turned into ``domain.ebooks`` models here; the vendor's hold words
(``queued``, ``available``) become the canonical ``HoldStatus`` in ``HOLD_STATUSES``. An answer
that does not fit the document is the e-library's fault: ``BackendProtocolError``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from ils_gateway.domain.ebooks import EbookAvailability, EbookHold, EbookLoan, EbookTitle
from ils_gateway.domain.errors import BackendProtocolError
from ils_gateway.domain.logsafe import shape_errors
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.domain.vocab import HoldStatus
from ils_gateway.elibrary.client import (
    DEFAULT_LIMITS,
    DEFAULT_RETRY,
    KinodenClient,
    PoolLimits,
)
from ils_gateway.elibrary.errors import ElibraryCall
from ils_gateway.tenants.backends import KinodenElibrary

# The e-library's hold status -> canonical status (e-book holds: 予約中 -> 取置中).
HOLD_STATUSES: dict[str, HoldStatus] = {
    "queued": HoldStatus.WAITING,
    "available": HoldStatus.READY,
}


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _WireTitle(_Wire):
    titleId: str = Field(min_length=1)
    title: str
    author: str | None = None
    publisher: str | None = None
    isbn: str | None = None
    copiesOwned: int | None = Field(None, ge=0)
    copiesAvailable: int | None = Field(None, ge=0)
    holdsWaiting: int | None = Field(None, ge=0)

    def to_domain(self) -> EbookTitle:
        availability = None
        if self.copiesOwned is not None and self.copiesAvailable is not None:
            availability = EbookAvailability(
                copies_owned=self.copiesOwned,
                copies_available=self.copiesAvailable,
                holds_waiting=self.holdsWaiting or 0,
            )
        return EbookTitle(
            id=self.titleId,
            title=self.title,
            author=self.author,
            publisher=self.publisher,
            isbn=self.isbn,
            availability=availability,
        )


class _WireTitles(_Wire):
    titles: list[_WireTitle]


class _WireCheckout(_Wire):
    title: _WireTitle
    checkedOutAt: AwareDatetime
    dueAt: AwareDatetime
    autoReturn: bool = True

    def to_domain(self) -> EbookLoan:
        return EbookLoan(
            title=self.title.to_domain(),
            borrowed=self.checkedOutAt,
            due=self.dueAt,
            returns_itself=self.autoReturn,
        )


class _WireCheckouts(_Wire):
    checkouts: list[_WireCheckout]


class _WireHold(_Wire):
    title: _WireTitle
    placedAt: AwareDatetime
    status: str
    position: int | None = None
    availableAt: AwareDatetime | None = None
    expiresAt: AwareDatetime | None = None

    def to_domain(self) -> EbookHold:
        try:
            status = HOLD_STATUSES[self.status]
        except KeyError:
            raise ValueError(f"unknown hold status {self.status!r}") from None
        ready = status is HoldStatus.READY
        return EbookHold(
            title=self.title.to_domain(),
            status=status,
            placed=self.placedAt,
            queue_position=None if ready else self.position,
            ready_since=self.availableAt if ready else None,
            ready_until=self.expiresAt if ready else None,
        )


class _WireHolds(_Wire):
    holds: list[_WireHold]


W = TypeVar("W", bound=_Wire)
_T = TypeVar("_T")


def _parse(model: type[W], body: Any, what: str) -> W:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise BackendProtocolError(
            "The e-library sent an answer the gateway cannot read.",
            operator_detail=f"e-library {what}: {shape_errors(exc)}",
        ) from exc


def _convert(what: str, build: Callable[[], _T]) -> _T:
    # Wire data that passes the schema but breaks a domain rule (a ready hold with no expiry).
    try:
        return build()
    except (ValueError, ValidationError) as exc:
        # ValidationError is a ValueError: its text quotes the values (titles, cards).
        reason = shape_errors(exc) if isinstance(exc, ValidationError) else type(exc).__name__
        raise BackendProtocolError(
            "The e-library sent an answer the gateway cannot read.",
            operator_detail=f"e-library {what}: {reason}",
        ) from exc


def _segment(title_id: str) -> str:
    return quote(title_id, safe="")


class KinodenBackend:
    """The ``ElibraryBackend`` for a KinoDen-style e-library."""

    def __init__(self, client: KinodenClient) -> None:
        self._client = client

    @classmethod
    def from_config(
        cls,
        config: KinodenElibrary,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        limits: PoolLimits = DEFAULT_LIMITS,
    ) -> KinodenBackend:
        """A backend with its own pooled client for a tenant's ``[tenants.elibrary]``."""
        return cls(KinodenClient(config, retry=retry, limits=limits))

    async def aclose(self) -> None:
        """Release pooled connections."""
        await self._client.aclose()

    async def list_loans(self, card_number: str) -> list[EbookLoan]:
        """The patron's current e-book loans, earliest due first."""
        body = await self._client.request_json(
            ElibraryCall.READ, "GET", "/v1/patron/checkouts", card_number=card_number
        )
        wire = _parse(_WireCheckouts, body, "checkouts")
        loans = _convert("checkouts", lambda: [c.to_domain() for c in wire.checkouts])
        return sorted(loans, key=lambda loan: (loan.due, loan.title.id))

    async def list_holds(self, card_number: str) -> list[EbookHold]:
        """The patron's e-book holds (waiting or ready), in the order placed."""
        body = await self._client.request_json(
            ElibraryCall.READ, "GET", "/v1/patron/holds", card_number=card_number
        )
        wire = _parse(_WireHolds, body, "holds")
        return _convert("holds", lambda: [h.to_domain() for h in wire.holds])

    async def place_hold(
        self, card_number: str, title_id: str, *, email: str | None = None
    ) -> EbookHold:
        """Queue the patron for the title; ``email`` gets the e-library's "ready" mail."""
        payload: dict[str, str] = {"titleId": title_id}
        if email is not None:
            payload["emailAddress"] = email
        body = await self._client.request_json(
            ElibraryCall.PLACE_HOLD,
            "POST",
            "/v1/patron/holds",
            card_number=card_number,
            json=payload,
        )
        wire = _parse(_WireHold, body, "placed hold")
        return _convert("placed hold", wire.to_domain)

    async def cancel_hold(self, card_number: str, title_id: str) -> None:
        """Withdraw the patron's hold on the title (waiting or ready)."""
        await self._client.request(
            ElibraryCall.CANCEL_HOLD,
            "DELETE",
            f"/v1/patron/holds/{_segment(title_id)}",
            card_number=card_number,
        )

    async def borrow(self, card_number: str, title_id: str) -> EbookLoan:
        """Lend the title: a free copy, or the copy kept for the patron's ready hold."""
        body = await self._client.request_json(
            ElibraryCall.BORROW,
            "POST",
            "/v1/patron/checkouts",
            card_number=card_number,
            json={"titleId": title_id},
        )
        wire = _parse(_WireCheckout, body, "checkout")
        return _convert("checkout", wire.to_domain)

    async def return_loan(self, card_number: str, title_id: str) -> None:
        """Return the patron's loan of the title before it returns itself."""
        await self._client.request(
            ElibraryCall.RETURN,
            "DELETE",
            f"/v1/patron/checkouts/{_segment(title_id)}",
            card_number=card_number,
        )

    async def get_title(self, title_id: str) -> EbookTitle:
        """One title with its availability now."""
        body = await self._client.request_json(
            ElibraryCall.READ, "GET", f"/v1/titles/{_segment(title_id)}"
        )
        wire = _parse(_WireTitle, body, "title")
        return _convert("title", wire.to_domain)

    async def get_titles(self, title_ids: Sequence[str]) -> list[EbookTitle]:
        """Titles with availability, for the ids the e-library knows (others left out)."""
        if not title_ids:
            return []
        body = await self._client.request_json(
            ElibraryCall.READ, "GET", "/v1/titles", params={"ids": ",".join(title_ids)}
        )
        wire = _parse(_WireTitles, body, "titles")
        return _convert("titles", lambda: [t.to_domain() for t in wire.titles])
