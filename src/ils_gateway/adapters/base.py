"""The port every library-system adapter implements, and how it declares what it can do.

``ILSBackend`` is the one seam between ``services/`` and a library system (SIP2, Koha, FOLIO or
a simulator). Its methods take and return domain models only; an adapter translates the
backend's vocabulary into the canonical one and its failures into ``domain.errors`` in one place.

Contract for every method:

- A library's refusal raises a ``Refused`` subclass (``RenewalRefused``, ``HoldRefused``,
  ``CancelRefused``) carrying a ``RefusalReason`` and the backend's own message, except the
  multi-item ``renew_many``, which reports refusals per item instead of raising.
- An unreachable backend raises ``BackendUnavailable``; a malformed answer
  ``BackendProtocolError``; a write whose fate is unknown (timeout after sending)
  ``OutcomeUnknown``. Adapters never retry writes; ``resilience`` wrappers decide.
- A method whose capability is ``UNAVAILABLE`` raises ``FeatureDisabled``: through
  ``Capabilities.require`` / ``Capabilities.disabled``, the one guard, which names the feature
  ``DISABLED_FEATURE`` gives and the backend's own explanation (``Unavailable``) declared with
  its capability table. ``GuardedBackend`` gives every adapter the methods it does not offer.

Capabilities are declared data, in the manner of VuFind's ``checkFunction``: each feature is
``NATIVE`` (the backend does it), ``EMULATED`` (the adapter does it with other calls, e.g. a
SIP2 renew-many as a loop of renewals) or ``UNAVAILABLE``; options say how (e.g. whether holds
are title-level). ``services/`` combine them with tenant policy and may emulate what is missing
themselves (hold sequences via suspension).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from ils_gateway.domain.errors import FeatureDisabled
from ils_gateway.domain.fees import FeeAccount
from ils_gateway.domain.models import (
    BatchResult,
    Hold,
    Item,
    Library,
    Loan,
    Patron,
    RenewalResult,
)
from ils_gateway.domain.vocab import ContactMethod, Feature


class Capability(StrEnum):
    """A feature a backend may or may not offer."""

    AUTHENTICATE = "authenticate"
    PATRON_SUMMARY = "patron_summary"
    LIST_LOANS = "list_loans"
    RENEW = "renew"
    RENEW_MANY = "renew_many"
    LIST_HOLDS = "list_holds"
    PLACE_HOLD = "place_hold"
    CANCEL_HOLD = "cancel_hold"
    CHANGE_HOLD_PICKUP = "change_hold_pickup"
    CHANGE_HOLD_CONTACT = "change_hold_contact"
    SUSPEND_HOLD = "suspend_hold"
    HOLD_SEQUENCES = "hold_sequences"
    LIST_PICKUP_LIBRARIES = "list_pickup_libraries"
    GET_ITEM = "get_item"
    CHECKOUT = "checkout"
    CHECKIN = "checkin"
    CHANGE_PASSWORD = "change_password"
    LIST_FEES = "list_fees"


# The feature a patron is told is switched off when a backend lacks a capability.
DISABLED_FEATURE: Mapping[Capability, Feature] = MappingProxyType(
    {
        Capability.AUTHENTICATE: Feature.LOANS,
        Capability.PATRON_SUMMARY: Feature.ACCOUNT_SETTINGS,
        Capability.LIST_LOANS: Feature.LOANS,
        Capability.RENEW: Feature.RENEWALS,
        Capability.RENEW_MANY: Feature.RENEWALS,
        Capability.LIST_HOLDS: Feature.HOLDS,
        Capability.PLACE_HOLD: Feature.HOLDS,
        Capability.CANCEL_HOLD: Feature.HOLDS,
        Capability.CHANGE_HOLD_PICKUP: Feature.HOLD_CHANGES,
        Capability.CHANGE_HOLD_CONTACT: Feature.HOLD_CHANGES,
        Capability.SUSPEND_HOLD: Feature.HOLD_SKIP,
        Capability.HOLD_SEQUENCES: Feature.HOLD_SEQUENCES,
        Capability.LIST_PICKUP_LIBRARIES: Feature.HOLDS,
        Capability.GET_ITEM: Feature.LOANS,
        Capability.CHECKOUT: Feature.LOANS,
        Capability.CHECKIN: Feature.LOANS,
        Capability.CHANGE_PASSWORD: Feature.PASSWORD_CHANGE,
        Capability.LIST_FEES: Feature.FEES,
    }
)


class Unavailable:
    """Why a backend lacks a capability: for operators, and (optionally) for the patron."""

    __slots__ = ("detail", "operator_detail")

    def __init__(self, operator_detail: str, detail: str | None = None) -> None:
        self.operator_detail = operator_detail
        self.detail = detail


class CancelOutcome(StrEnum):
    """What the library system did with a patron's cancel.

    ``CANCELLED``: the hold is gone. ``CANCELLATION_REQUESTED``: the hold stays until staff act
    (newer Koha's cancellation request flow for a hold already on the hold shelf), so nobody
    may tell the patron it is cancelled yet.
    """

    CANCELLED = "cancelled"
    CANCELLATION_REQUESTED = "cancellation_requested"


class Support(StrEnum):
    """How a backend offers a capability."""

    NATIVE = "native"  # one backend call does it
    EMULATED = "emulated"  # the adapter composes it from other backend calls
    UNAVAILABLE = "unavailable"  # cannot be done through this backend


class CapabilitySupport:
    """How one capability is offered, with options (e.g. ``{"title_level": True}``)."""

    __slots__ = ("options", "support")

    def __init__(self, support: Support, options: Mapping[str, Any] | None = None) -> None:
        self.support = support
        self.options: Mapping[str, Any] = MappingProxyType(dict(options or {}))

    @property
    def available(self) -> bool:
        """True unless the capability is unavailable."""
        return self.support is not Support.UNAVAILABLE

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CapabilitySupport):
            return NotImplemented
        return self.support is other.support and dict(self.options) == dict(other.options)

    def __hash__(self) -> int:
        return hash((self.support, tuple(sorted(self.options.items()))))

    def __repr__(self) -> str:
        opts = f", {dict(self.options)!r}" if self.options else ""
        return f"CapabilitySupport({self.support.value!r}{opts})"


_UNAVAILABLE = CapabilitySupport(Support.UNAVAILABLE)


class Capabilities:
    """What one backend can do: each capability native, emulated or (by default) unavailable.

    ``missing`` says why the backend lacks a capability (an ``Unavailable`` each); it explains,
    it is not part of what the backend can do (equality and ``as_dict`` leave it out).
    """

    __slots__ = ("_missing", "_table")

    def __init__(
        self,
        table: Mapping[Capability, CapabilitySupport | Support] | None = None,
        *,
        missing: Mapping[Capability, Unavailable] | None = None,
    ) -> None:
        resolved: dict[Capability, CapabilitySupport] = {}
        for capability, value in (table or {}).items():
            resolved[Capability(capability)] = (
                value if isinstance(value, CapabilitySupport) else CapabilitySupport(value)
            )
        self._table = MappingProxyType(resolved)
        self._missing: Mapping[Capability, Unavailable] = MappingProxyType(dict(missing or {}))

    @classmethod
    def native(cls, *capabilities: Capability, **options: Mapping[str, Any]) -> Capabilities:
        """All ``capabilities`` native; keyword options per capability value, if any."""
        return cls(
            {c: CapabilitySupport(Support.NATIVE, options.get(c.value)) for c in capabilities}
        )

    def of(self, capability: Capability) -> CapabilitySupport:
        """How ``capability`` is offered (unavailable when not declared)."""
        return self._table.get(capability, _UNAVAILABLE)

    def supports(self, capability: Capability) -> bool:
        """True when ``capability`` is native or emulated."""
        return self.of(capability).available

    def option(self, capability: Capability, name: str, default: Any = None) -> Any:
        """One option of ``capability``, or ``default``."""
        return self.of(capability).options.get(name, default)

    def with_(self, capability: Capability, support: CapabilitySupport | Support) -> Capabilities:
        """A copy with ``capability`` set to ``support``."""
        table: dict[Capability, CapabilitySupport | Support] = dict(self._table)
        table[capability] = support
        return Capabilities(table, missing=self._missing)

    def explained(self, missing: Mapping[Capability, Unavailable]) -> Capabilities:
        """A copy that says why with ``missing`` (see the class docstring)."""
        return Capabilities(self._table, missing=missing)

    def disabled(self, capability: Capability) -> FeatureDisabled:
        """The error for a call that needs ``capability`` this backend lacks."""
        why = self._missing.get(capability) or Unavailable(f"{capability.value} unavailable")
        return FeatureDisabled(
            DISABLED_FEATURE[capability], detail=why.detail, operator_detail=why.operator_detail
        )

    def require(self, capability: Capability) -> None:
        """Raise ``disabled(capability)`` unless ``capability`` is native or emulated."""
        if not self.supports(capability):
            raise self.disabled(capability)

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """Every capability with its support and options (for health and docs)."""
        return {
            c.value: {"support": self.of(c).support.value, "options": dict(self.of(c).options)}
            for c in Capability
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Capabilities):
            return NotImplemented
        return all(self.of(c) == other.of(c) for c in Capability)

    def __hash__(self) -> int:
        return hash(tuple(self.of(c) for c in Capability))

    def __repr__(self) -> str:
        shown = {c.value: s.support.value for c, s in self._table.items()}
        return f"Capabilities({shown!r})"


@runtime_checkable
class ILSBackend(Protocol):
    """The port to one library system; SIP2, Koha and FOLIO adapters implement it."""

    @property
    def capabilities(self) -> Capabilities:
        """What this backend can do, declared (not discovered)."""
        ...

    async def authenticate(self, card_number: str, password: str) -> Patron:
        """Check card + password and return the patron.

        ``card_number`` is already normalised by tenant policy. Raises ``AuthenticationFailed``
        for a bad card or password alike (never saying which). A blocked patron is returned
        with ``blocks`` set, not refused: the services decide what a blocked patron may see.
        """
        ...

    async def patron_summary(self, patron: Patron) -> Patron:
        """Fresh patron record (counts, blocks, contact data) for an authenticated patron."""
        ...

    async def list_loans(self, patron: Patron) -> list[Loan]:
        """Current loans, with the backend's renewability verdict where it gives one."""
        ...

    async def renew(self, patron: Patron, item_id: str) -> RenewalResult:
        """Renew one loan. Returns an ok result with the renewed loan; raises ``RenewalRefused``
        when the library says no."""
        ...

    async def renew_many(
        self, patron: Patron, item_ids: Sequence[str]
    ) -> BatchResult[RenewalResult]:
        """Renew several loans; one result per id, in order; refusals and errors per item."""
        ...

    async def list_holds(self, patron: Patron) -> list[Hold]:
        """Current holds (and the cancelled/expired ones the backend still lists)."""
        ...

    async def place_hold(
        self,
        patron: Patron,
        item_id: str,
        pickup_library: str,
        contact_method: ContactMethod | None = None,
    ) -> Hold:
        """Place a hold on an item or title (per the PLACE_HOLD ``title_level`` option) for
        pickup at ``pickup_library`` (a ``Library.code`` or station code). Raises
        ``HoldRefused``."""
        ...

    async def cancel_hold(self, patron: Patron, hold_id: str) -> CancelOutcome:
        """Cancel one of the patron's holds, saying whether it is cancelled or only a
        cancellation was requested. Raises ``CancelRefused`` or ``NotFound``."""
        ...

    async def change_hold(
        self,
        patron: Patron,
        hold_id: str,
        *,
        pickup_library: str | None = None,
        contact_method: ContactMethod | None = None,
    ) -> Hold:
        """Change a hold's pickup library and/or contact method (None = leave as is).
        Raises ``HoldRefused`` (e.g. ``not_modifiable_in_state``)."""
        ...

    async def suspend_hold(self, patron: Patron, hold_id: str, until: date | None) -> Hold:
        """Suspend a hold (skip the patron's turn) until ``until`` (None = until resumed)."""
        ...

    async def resume_hold(self, patron: Patron, hold_id: str) -> Hold:
        """Resume a suspended hold."""
        ...

    async def list_pickup_libraries(self) -> list[Library]:
        """Libraries (and bookmobiles with their stations) where holds can be collected."""
        ...

    async def get_item(self, item_id: str) -> Item:
        """One item or title by id. Raises ``NotFound``."""
        ...

    async def checkout(self, patron: Patron, item_id: str) -> Loan:
        """Lend an item to the patron (self-check kiosks). Raises ``Refused`` subclasses."""
        ...

    async def checkin(self, item_id: str) -> Item:
        """Return an item (self-check kiosks); the item as it now stands."""
        ...

    async def change_password(self, patron: Patron, old_password: str, new_password: str) -> None:
        """Change the patron's password. The tenant's password rules are checked before this."""
        ...

    async def list_fees(self, patron: Patron) -> FeeAccount:
        """The patron's fines and fees and the library system's total, in yen. Raises
        ``BackendProtocolError`` for an account in another currency."""
        ...

    async def close(self) -> None:
        """Release connections; later calls fail clearly. Safe to call twice."""
        ...


@dataclass(frozen=True)
class ContactChange:
    """A change to the patron's record in the library system: None leaves a field as it is,
    ``""`` removes it."""

    email: str | None = None
    phone: str | None = None

    def applied_to(self, patron: Patron) -> bool:
        """Whether ``patron`` (read back) shows this change."""
        return all(
            wanted is None or (wanted or None) == getattr(patron, name)
            for name, wanted in (("email", self.email), ("phone", self.phone))
        )


class AccountPort(Protocol):
    """The account writes of a backend (issue 18), beside ``ILSBackend``; an adapter offers
    those it can and says which in ``account_writes`` ("password", "contact"). SIP2 offers
    only ``find_patron``: it can set neither a PIN nor an address."""

    @property
    def account_writes(self) -> frozenset[str]:
        """Which writes reach the library system: "password", "contact" (may be empty)."""
        ...

    async def find_patron(self, card_number: str) -> Patron:
        """The patron with this (normalised) card, without a password (to check an identity
        proof or mail a reset link); ``NotFound`` when there is none."""
        ...

    async def set_password(self, patron: Patron, new_password: str) -> None:
        """Set the password without the old one (staff side; the gateway proved who asks)."""
        ...

    async def update_contact(self, patron: Patron, change: ContactChange) -> Patron:
        """Write ``change`` to the patron's record and return the record read back."""
        ...


@runtime_checkable
class ItemSighting(Protocol):
    """A backend that can ask about an item the way a self-check's 17 does, so the library
    system records the copy as seen (a SIP2 ACS's account with Koha's
    ``seen_on_item_information``: the SIP2 adapter's ``sighting_login``), read from the system
    itself, never from a cache."""

    async def sight_item(self, item_id: str) -> Item:
        """One item, read so that the library system records it as seen."""
        ...


def no_sightings(why: str) -> FeatureDisabled:
    """The refusal of a sighting (``ItemSighting``) by a backend that cannot record one."""
    return FeatureDisabled(
        "item_information",
        detail="This library system records no sightings through the gateway",
        operator_detail=why,
    )


def account_writes(backend: object) -> frozenset[str]:
    """The account writes ``backend`` sends to the library system (none when it has none)."""
    writes: object = getattr(backend, "account_writes", None)
    return writes if isinstance(writes, frozenset) else frozenset()


class GuardedBackend:
    """The methods an adapter may leave out: each refuses through the capability guard.

    An adapter derives from it, declares ``capabilities`` (with why it lacks what it lacks)
    and implements what it offers; the rest raise ``FeatureDisabled``. ``change_hold`` checks
    a contact method against the capabilities, then asks ``_change_pickup``.
    """

    @property
    def capabilities(self) -> Capabilities:
        raise NotImplementedError

    async def change_hold(
        self,
        patron: Patron,
        hold_id: str,
        *,
        pickup_library: str | None = None,
        contact_method: ContactMethod | None = None,
    ) -> Hold:
        if contact_method is not None:
            self.capabilities.require(Capability.CHANGE_HOLD_CONTACT)
        return await self._change_pickup(patron, hold_id, pickup_library)

    async def _change_pickup(
        self, patron: Patron, hold_id: str, pickup_library: str | None
    ) -> Hold:
        """The hold with its pickup library changed (None: the hold as it stands)."""
        raise self.capabilities.disabled(Capability.CHANGE_HOLD_PICKUP)

    async def suspend_hold(self, patron: Patron, hold_id: str, until: date | None) -> Hold:
        raise self.capabilities.disabled(Capability.SUSPEND_HOLD)

    async def resume_hold(self, patron: Patron, hold_id: str) -> Hold:
        raise self.capabilities.disabled(Capability.SUSPEND_HOLD)

    async def list_pickup_libraries(self) -> list[Library]:
        raise self.capabilities.disabled(Capability.LIST_PICKUP_LIBRARIES)

    async def checkout(self, patron: Patron, item_id: str) -> Loan:
        raise self.capabilities.disabled(Capability.CHECKOUT)

    async def checkin(self, item_id: str) -> Item:
        raise self.capabilities.disabled(Capability.CHECKIN)

    async def change_password(self, patron: Patron, old_password: str, new_password: str) -> None:
        raise self.capabilities.disabled(Capability.CHANGE_PASSWORD)

    async def list_fees(self, patron: Patron) -> FeeAccount:
        raise self.capabilities.disabled(Capability.LIST_FEES)
