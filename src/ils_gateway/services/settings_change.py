"""E-mail addresses changed through the patron settings (``PATCH …/patron/settings``, issue 18).

A **new** ``email1``/``email2`` is not saved: it waits for a single-use, expiring link mailed to
the new address (``email_confirm``, token purpose ``email1_confirm``/``email2_confirm``: one
pending link per address, a newer one voids the older), the old address getting a notice
(``address_change_confirm``, "to be confirmed"). Each link mailed counts against the card's
``reset_requests_per_card`` an hour (beyond: 429). The other fields of the same request are
saved at once, as before.

Following the link (``POST …/account/contact/confirm``) writes the address where it lives:
``email1`` to the library system where it keeps the patron's address (Koha ``email`` of the
patron record, FOLIO ``personal.email`` of the user, through ``AccountPort.update_contact``,
read back), and to the gateway's settings too (the address notices use); ``email2`` and every
address of a SIP2 library (no message writes an address) in the gateway only. ``stored_in``
says which.

**Removing** an address (``null`` or ``""``) is done at once, in the same places, and the old
address is told. ``email2`` needs a confirmed ``email1`` (409 ``email1-required``).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol

from ils_gateway.adapters.base import ContactChange, ILSBackend
from ils_gateway.domain.errors import (
    BackendProtocolError,
    BadRequest,
    Conflict,
    GatewayError,
    InvalidField,
    LinkInvalid,
    OutcomeUnknown,
)
from ils_gateway.domain.models import Patron
from ils_gateway.services import rules
from ils_gateway.services.account_lifecycle import AccountLifecycle, StoredIn
from ils_gateway.services.context import Caller, TenantContext
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.settings import PatronSettingsService, PickupLibraries
from ils_gateway.store.account import token_digest
from ils_gateway.store.records import (
    HoldContactMethod,
    HoldNoticeAddress,
    PatronRef,
    PatronSettings,
)
from ils_gateway.store.store import Store

__all__ = [
    "AddressConfirmed",
    "ContactMethodNotices",
    "Email1Required",
    "PendingAddress",
    "SettingsAddressChange",
    "SettingsUpdate",
]


class ContactMethodNotices(Protocol):
    """What tells the patron their hold contact method changed (``NoticeService``)."""

    async def contact_method_changed(
        self, patron: Patron, before: HoldContactMethod | None, settings: PatronSettings
    ) -> bool: ...


AddressField = Literal["email1", "email2"]
ADDRESS_FIELDS: tuple[AddressField, ...] = ("email1", "email2")
_PURPOSES: dict[AddressField, str] = {"email1": "email1_confirm", "email2": "email2_confirm"}


class Email1Required(Conflict):
    """``email2`` without a confirmed ``email1`` (set, or left, alone)."""

    type_slug: ClassVar[str] = "email1-required"
    title: ClassVar[str] = "Set and confirm e-mail 1 first"

    def extensions(self) -> dict[str, Any]:
        return {"field": "email2"}


@dataclass(frozen=True)
class PendingAddress:
    """A new address waiting for its link: where the link went (masked) and until when."""

    field: AddressField
    confirm_sent_to: str
    expires_at: datetime
    stored_in: StoredIn


@dataclass(frozen=True)
class SettingsUpdate:
    """The settings as saved, the addresses still to be confirmed, and where each address
    lives once confirmed."""

    settings: PatronSettings
    pending: tuple[PendingAddress, ...]
    stored_in: dict[str, StoredIn]


@dataclass(frozen=True)
class AddressConfirmed:
    """A confirmed address: which one, where it lives, the address as read back."""

    field: AddressField
    stored_in: StoredIn
    email: str | None


def _address(value: object) -> str | None:
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text or None


class SettingsAddressChange:
    """One tenant's settings changes with the e-mail addresses confirmed by mail."""

    def __init__(
        self,
        tenant: TenantContext,
        store: Store,
        settings: PatronSettingsService,
        lifecycle: AccountLifecycle,
        notices: ContactMethodNotices | None = None,
    ) -> None:
        self._tenant = tenant
        self._store = store
        self._settings = settings
        self._lifecycle = lifecycle
        self._notices = notices

    def stored_in(self) -> dict[str, StoredIn]:
        """Where each address lives once confirmed, and the hold contact method (the
        gateway's: see ``docs/account.md`` for why no library system is written)."""
        return {
            "email1": self._lifecycle.contact_stored_in(),
            "email2": "gateway",
            "hold_contact_method": "gateway",
        }

    # --- the PATCH ------------------------------------------------------------------------------

    async def update(
        self,
        ctx: PatronContext,
        caller: Caller,
        changes: dict[str, Any],
        *,
        pickup: PickupLibraries | ILSBackend | None = None,
        language: str | None = None,
    ) -> SettingsUpdate:
        """Save the changes except new addresses, which are mailed a link; every problem is
        found before anything is written or mailed."""
        current = await self._settings.get(ctx)
        immediate = dict(changes)
        new: dict[AddressField, str] = {}
        removed: list[AddressField] = []
        problems: list[tuple[AddressField, str]] = []
        for name in ADDRESS_FIELDS:
            if name not in changes:
                continue
            value = _address(changes[name])
            if value == getattr(current, name):
                immediate.pop(name)
            elif value is None:
                removed.append(name)
                immediate[name] = None
            else:
                problems += [(name, p) for p in self._problems(name, value)]
                new[name] = value
                immediate.pop(name)
        # Notices sent to a pending address: saved with the address when it is confirmed.
        notice_to = immediate.get("hold_notice_to")
        follows = notice_to.value if notice_to is not None and notice_to.value in new else None
        if follows is not None:
            immediate.pop("hold_notice_to")
        if problems:  # a bad address first (every problem at once), then a missing email1
            await self._checked(ctx, pickup, immediate, problems)
        if new or removed:
            self._check_email2(current, new, removed)
        wanted = await self._checked(ctx, pickup, immediate, problems)
        if new or removed:
            rules.check_writes_allowed(self._tenant.policy, self._tenant.now())
        patron = caller.patron
        for _ in new:
            await self._lifecycle.limit_card(patron.card_number)
        fresh = await self._fresh(patron) if new or removed else patron
        if "email1" in removed and self._lifecycle.contact_stored_in() == "library_system":
            await self._lifecycle.write_contact(fresh, ContactChange(email=""))
        saved = await self._settings.update(ctx, pickup, **immediate) if immediate else wanted
        for name in removed:
            old = str(getattr(current, name))
            key = self._removal_key(ctx.owner, name, old)
            await self._lifecycle.mail_change_notice(key, old, fresh, "", language, done=True)
        pending = [
            await self._mail_link(fresh, name, new[name], current, language, name == follows)
            for name in new
        ]
        if self._notices is not None and "hold_contact_method" in immediate:
            await self._notices.contact_method_changed(fresh, current.hold_contact_method, saved)
        return SettingsUpdate(saved, tuple(pending), self.stored_in())

    def _problems(self, name: AddressField, address: str) -> list[str]:
        policy = self._tenant.policy.email
        if len(address) > 254:
            return [f"{name}: at most 254 characters"]
        found = [f"{name}: {p}" for p in policy.problems(address)]
        if name == "email2" and policy.max_addresses < 2:
            found.append("email2: this library keeps one address only")
        return found

    async def _checked(
        self,
        ctx: PatronContext,
        pickup: PickupLibraries | ILSBackend | None,
        immediate: dict[str, Any],
        problems: list[tuple[AddressField, str]],
    ) -> PatronSettings:
        """The settings to save at once, checked; every problem reported at once (400 naming
        the first address field at fault)."""
        found = [text for _, text in problems]
        try:
            wanted = await self._settings.check(ctx, pickup, **immediate)
        except BadRequest as other:
            if not problems:
                raise
            found.append(other.detail)
        if problems:
            raise InvalidField(problems[0][0], "; ".join(found))
        return wanted

    @staticmethod
    def _check_email2(
        current: PatronSettings, new: dict[AddressField, str], removed: list[AddressField]
    ) -> None:
        # A pending email1 does not count: email2 waits until email1 is confirmed.
        email1 = None if "email1" in removed else current.email1
        email2 = new.get("email2") or (None if "email2" in removed else current.email2)
        if email2 is not None and email1 is None:
            raise Email1Required(
                "email2: set email1 and confirm it first"
                if "email1" not in removed
                else "email1: remove email2 first"
            )

    async def _fresh(self, patron: Patron) -> Patron:
        fresh = await self._tenant.backend.patron_summary(patron)
        if fresh.id != patron.id:
            raise BackendProtocolError(
                operator_detail="settings: the library system answered for another patron"
            )
        return fresh

    async def _mail_link(
        self,
        patron: Patron,
        name: AddressField,
        address: str,
        current: PatronSettings,
        language: str | None,
        notices_here: bool,
    ) -> PendingAddress:
        payload: dict[str, Any] = {"card": patron.card_number, "patron_id": patron.id}
        payload.update(field=name, email=address, hold_notice_to=notices_here)
        pending, key = await self._lifecycle.mail_confirm_link(
            patron, _PURPOSES[name], payload, address, language
        )
        old = getattr(current, name) or (patron.email if name == "email1" else None)
        if old and old != address:
            await self._lifecycle.mail_change_notice(
                f"address_change_confirm:{key}:old", old, patron, address, language, done=False
            )
        stored_in = self.stored_in()[name]
        return PendingAddress(name, pending.confirm_sent_to, pending.expires_at, stored_in)

    def _removal_key(self, owner: PatronRef, name: str, old: str) -> str:
        # One notice per removal: the same address removed in the same second is one event.
        seed = f"{owner.tenant_id}:{owner.patron_key}:{name}:{old}:{self._tenant.now().isoformat()}"
        return f"address_change_confirm:removed:{hashlib.sha256(seed.encode()).hexdigest()[:24]}"

    # --- the link -------------------------------------------------------------------------------

    async def confirm(self, token: str, *, language: str | None = None) -> AddressConfirmed | None:
        """Follow a settings address link: write the address where it lives; None when the
        token is no settings link (the contact-change flow may know it); ``LinkInvalid`` for
        one used or expired is the caller's answer then."""
        self._lifecycle.check_token(token)
        taken = None
        field: AddressField = "email1"
        for field in ADDRESS_FIELDS:
            taken = await self._store.account.take_token(token, _PURPOSES[field])
            if taken is not None:
                break
        if taken is None:
            return None
        if taken.owner.tenant_id != self._tenant.id:
            raise LinkInvalid()
        rules.check_writes_allowed(self._tenant.policy, self._tenant.now())
        address = str(taken.payload["email"])
        try:
            patron = await self._lifecycle.find_patron(str(taken.payload["card"]))
            if patron.id != taken.payload.get("patron_id"):
                raise LinkInvalid(operator_detail="settings address: the card names another patron")
            notices_here = bool(taken.payload.get("hold_notice_to"))
            confirmed = await self._write(taken.owner, patron, field, address, notices_here)
        except (OutcomeUnknown, LinkInvalid):
            raise  # the link stays used
        except GatewayError:
            await self._store.account.release_token(token)  # certainly not done: usable again
            raise
        key = f"address_change_confirm:{token_digest(token)[:24]}:new"
        await self._lifecycle.mail_change_notice(key, address, patron, address, language, done=True)
        return confirmed

    async def _write(
        self,
        owner: PatronRef,
        patron: Patron,
        field: AddressField,
        address: str,
        notices_here: bool,
    ) -> AddressConfirmed:
        settings = await self._store.settings.get(owner)
        routing = HoldNoticeAddress(field) if notices_here else settings.hold_notice_to
        if field == "email2":
            if settings.email1 is None:
                raise Email1Required("email2: email1 was removed; set and confirm it first")
            await self._store.settings.save(
                owner, replace(settings, email2=address, hold_notice_to=routing)
            )
            return AddressConfirmed("email2", "gateway", address)
        done = await self._lifecycle.write_contact(patron, ContactChange(email=address))
        # The gateway keeps a copy where the library system has the address: its notices
        # read the settings first.
        settings = await self._store.settings.get(owner)
        await self._store.settings.save(
            owner, replace(settings, email1=done.email, hold_notice_to=routing)
        )
        return AddressConfirmed("email1", done.stored_in, done.email)
