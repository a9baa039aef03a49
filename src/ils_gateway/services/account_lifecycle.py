"""The account lifecycle (issue 18): first password, reset by mailed link, contact changes.

- **Registration** (``register``): the patron proves who they are with the tenant's
  ``policy.account.registration_proofs`` besides the card (birth date, phone, name — compared
  with the library system's record: SIP2 64, the Koha patron, the FOLIO user — or the
  counter's ``issued_code``, which the library system checks as a password), then sets a
  password that follows ``policy.password``. Where the library system can set one (Koha
  ``POST /patrons/{id}/password``, FOLIO ``POST /patron-pin``) it is written there
  (``stored_in = "library_system"``); a SIP2 library's is kept by the gateway
  (``services.credentials``, ``"gateway"``).
- **Reset** (``request_reset`` / ``confirm_reset``): a request is answered the same whatever
  the card (no account enumeration); for a known card with an e-mail address a single-use
  link (``policy.account.reset_link_minutes``) is mailed (template ``password_reset``).
  Requests are limited per card (``reset_requests_per_card`` an hour: beyond, silently no
  mail) and per client address (``reset_requests_per_address``: beyond, 429). Confirming sets
  the new password as registration does and ends every session of the patron.
- **Contact change** (``request_contact_change`` / ``confirm_contact_change``): a new e-mail
  address or phone is pending until the link mailed to the new address (or, for a phone
  alone, to the current one) is followed; the old address gets a notice. On confirmation it is
  written to the library system where it takes it (Koha ``PUT /patrons/{id}``, FOLIO ``PUT
  /users/{id}``: whole records, read, changed and written back by the adapters, then read
  back), else kept by the gateway (SIP2: the e-mail as the patron's ``email1`` setting, the
  phone in ``account_profiles``). Before any write the record is read: a change already there
  (an earlier click whose answer was lost) is not sent again.

Link tokens are kept by their hash only, their payload sealed under the token
(``store.account``). Nothing here logs a password, a token or a card number.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal, cast

import structlog

from ils_gateway.adapters.base import AccountPort, ContactChange, account_writes
from ils_gateway.domain.clock import epoch_seconds
from ils_gateway.domain.errors import (
    AuthenticationFailed,
    FeatureDisabled,
    GatewayError,
    InvalidField,
    LinkInvalid,
    NotFound,
    OutcomeUnknown,
    PasswordRejected,
)
from ils_gateway.domain.models import Patron, mask_card
from ils_gateway.mail.outbox import TenantOutbox
from ils_gateway.services import rules
from ils_gateway.services.context import Caller, TenantContext
from ils_gateway.services.credentials import GatewayCredentials
from ils_gateway.services.sessions import PatronSessions
from ils_gateway.state.ratelimit import MemoryRateLimiter, RateLimit, RateLimiter
from ils_gateway.store.account import token_digest
from ils_gateway.store.store import Store

__all__ = [
    "AccountLifecycle",
    "ContactChangeDone",
    "ContactChangePending",
    "IdentityNotProven",
    "RequestsLimited",
    "StoredIn",
]

_log = structlog.get_logger(__name__)

StoredIn = Literal["library_system", "gateway"]
PROOFS = ("birth_date", "phone", "name", "issued_code")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,128}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,30}$")
_HOUR = 3600.0


class IdentityNotProven(AuthenticationFailed):
    """The card and the proofs do not match one patron: never says which field was wrong."""

    type_slug = "identity-not-proven"
    title = "These details do not match the library's records"


class RequestsLimited(GatewayError):
    """Too many account requests from this client address; ``retry_after`` seconds."""

    type_slug = "account-requests-limited"
    status = 429
    title = "Too many requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many requests; try again later",
            operator_detail=f"account requests limited, retry after {retry_after}s",
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class ContactChangePending:
    """A contact change waiting for its link: where the link went (masked) and until when."""

    confirm_sent_to: str
    expires_at: datetime


@dataclass(frozen=True)
class ContactChangeDone:
    """A confirmed contact change: where it now lives and the values as read back."""

    stored_in: StoredIn
    email: str | None
    phone: str | None


def mask_email(address: str) -> str:
    """``h***@example.jp``: enough for the patron to recognise, too little to harvest."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def _digits(value: str | None) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", value or "") if ch.isdigit())


def _folded_name(value: str | None) -> str:
    text = unicodedata.normalize("NFKC", value or "")
    return "".join(ch for ch in text if not ch.isspace() and ch not in ",.・").casefold()


def _proof_matches(name: str, value: str, patron: Patron, phone: str | None) -> bool:
    """Whether one identity proof matches the library's record (empty records match nothing)."""
    if name == "birth_date":
        return patron.birth_date is not None and patron.birth_date == date.fromisoformat(value)
    if name == "phone":
        return bool(_digits(phone)) and _digits(phone) == _digits(value)
    if name == "name":
        return bool(patron.name) and _folded_name(patron.name) == _folded_name(value)
    return False


class AccountLifecycle:
    """One tenant's registration, reset and contact-change flows."""

    def __init__(
        self,
        tenant: TenantContext,
        store: Store,
        *,
        sessions: PatronSessions | None = None,
        outbox: TenantOutbox | None = None,
        credentials: GatewayCredentials | None = None,
        per_card: RateLimiter | None = None,
        per_address: RateLimiter | None = None,
    ) -> None:
        """``per_card``/``per_address``: the limiters (default: in this process, windows of
        an hour with the tenant's ``reset_requests_per_card``/``_per_address``)."""
        self._tenant = tenant
        self._store = store
        self._sessions = sessions
        self._outbox = outbox
        self._credentials = credentials or GatewayCredentials(store)
        account = tenant.policy.account
        clock = epoch_seconds(tenant.clock)
        self._per_card = per_card or MemoryRateLimiter(
            "account-card", RateLimit(account.reset_requests_per_card, _HOUR), clock=clock
        )
        self._per_address = per_address or MemoryRateLimiter(
            "account-address", RateLimit(account.reset_requests_per_address, _HOUR), clock=clock
        )

    # --- where things are kept ----------------------------------------------------------------

    @property
    def _port(self) -> AccountPort:
        return cast(AccountPort, self._tenant.backend)

    def password_stored_in(self) -> StoredIn:
        """Where a password set online lives for this tenant."""
        writes = account_writes(self._tenant.backend)
        return "library_system" if "password" in writes else "gateway"

    def contact_stored_in(self) -> StoredIn:
        """Where a confirmed e-mail address or phone lives for this tenant."""
        writes = account_writes(self._tenant.backend)
        return "library_system" if "contact" in writes else "gateway"

    # --- checks before any I/O ---------------------------------------------------------------

    def _card(self, card_number: str) -> str:
        card = self._tenant.policy.card.normalise(card_number)
        if card is None:
            raise InvalidField("card_number", "card_number: not a card number of this library")
        return card

    def _check_new_password(self, password: str) -> None:
        problems = self._tenant.policy.password.problems(password)
        if problems:
            raise PasswordRejected(problems=problems, field="new_password")

    def _check_token(self, token: str) -> None:
        if not _TOKEN.fullmatch(token):
            raise InvalidField("token", "token: not a link token")

    def _proofs(self, proofs: Mapping[str, str]) -> dict[str, str]:
        wanted = self._tenant.policy.account.registration_proofs
        if not wanted:
            raise FeatureDisabled(
                "registration",
                detail="This library does not register passwords online",
                operator_detail="policy.account.registration_proofs is empty",
            )
        for name in proofs:
            if name not in wanted:
                raise InvalidField(
                    f"proofs.{name}", f"proofs.{name}: this library does not ask for it"
                )
        checked: dict[str, str] = {}
        for name in wanted:
            value = (proofs.get(name) or "").strip()
            if not value:
                raise InvalidField(f"proofs.{name}", f"proofs.{name}: required by this library")
            if name == "birth_date":
                try:
                    date.fromisoformat(value)
                except ValueError:
                    raise InvalidField(
                        "proofs.birth_date", "proofs.birth_date: a date as YYYY-MM-DD"
                    ) from None
            if name == "phone" and not _PHONE.fullmatch(unicodedata.normalize("NFKC", value)):
                raise InvalidField("proofs.phone", "proofs.phone: a phone number")
            checked[name] = value
        return checked

    def _check_email(self, address: str) -> str:
        address = unicodedata.normalize("NFKC", address).strip()
        if len(address) > 254:
            raise InvalidField("email", "email: at most 254 characters")
        problems = self._tenant.policy.email.problems(address)
        if problems:
            raise InvalidField("email", "email: " + "; ".join(problems))
        return address

    def _check_phone(self, phone: str) -> str:
        phone = unicodedata.normalize("NFKC", phone).strip()
        if phone and not _PHONE.fullmatch(phone):
            raise InvalidField("phone", "phone: a phone number (digits, spaces, hyphens)")
        return phone

    async def _limit_address(self, client: str | None) -> None:
        if client is None:
            return
        decision = await self._per_address.hit(f"{self._tenant.id}:{client}")
        if not decision.allowed:
            raise RequestsLimited(decision.retry_after)

    async def _card_allowed(self, card: str) -> bool:
        return (await self._per_card.hit(f"{self._tenant.id}:{card}")).allowed

    # --- registration -------------------------------------------------------------------------

    async def register(
        self,
        card_number: str,
        proofs: Mapping[str, str],
        new_password: str,
        *,
        client: str | None = None,
        language: str | None = None,
    ) -> StoredIn:
        """Prove the identity with the tenant's proofs and set the first password; where it
        now lives. ``IdentityNotProven`` for any mismatch (or an unknown card)."""
        checked = self._proofs(proofs)
        card = self._card(card_number)
        self._check_new_password(new_password)
        rules.check_writes_allowed(self._tenant.policy, self._tenant.now())
        await self._limit_address(client)
        if not await self._card_allowed(card):
            raise RequestsLimited(int(_HOUR))
        patron = await self._proven_patron(card, checked)
        stored_in = await self._set_password(patron, new_password)
        address = await self._current_email(patron)
        if address:
            await self._mail(
                f"registration_confirm:{secrets.token_hex(8)}",
                address,
                "registration_confirm",
                language,
                {"patron_name": patron.name},
            )
        _log.info("account_registered", tenant=self._tenant.id, stored_in=stored_in)
        return stored_in

    async def _proven_patron(self, card: str, proofs: Mapping[str, str]) -> Patron:
        try:
            if "issued_code" in proofs:
                patron = await self._tenant.backend.authenticate(card, proofs["issued_code"])
            else:
                patron = await self._port.find_patron(card)
        except (NotFound, AuthenticationFailed):
            raise IdentityNotProven(operator_detail="registration: card or code refused") from None
        if patron.card_number != card:
            raise IdentityNotProven(operator_detail="registration: another patron answered")
        phone = patron.phone
        if "phone" in proofs and not phone and self.contact_stored_in() == "gateway":
            phone = (await self._store.account.profile(self._owner(card))).phone
        wrong = [
            name
            for name, value in proofs.items()
            if name != "issued_code" and not _proof_matches(name, value, patron, phone)
        ]
        if wrong:
            # Which proof failed goes to the operator's log only, never to the patron.
            raise IdentityNotProven(operator_detail=f"registration: {', '.join(wrong)} differ")
        return patron

    async def _set_password(self, patron: Patron, new_password: str) -> StoredIn:
        if self.password_stored_in() == "library_system":
            await self._port.set_password(patron, new_password)
            return "library_system"
        await self._credentials.set(self._tenant.id, patron.card_number, new_password)
        return "gateway"

    # --- reset ---------------------------------------------------------------------------------

    def _require_reset(self) -> None:
        if not self._tenant.policy.account.reset_by_email:
            raise FeatureDisabled(
                "password_reset",
                detail="This library does not reset passwords by e-mail",
                operator_detail="policy.account.reset_by_email is off",
            )

    async def request_reset(
        self,
        card_number: str,
        *,
        email: str | None = None,
        client: str | None = None,
        language: str | None = None,
    ) -> None:
        """Mail a reset link when the card is known and has an address (the one given, where
        ``reset_asks_email``); the same answer (none) otherwise, so that nobody learns whether
        a card exists or which address it has."""
        self._require_reset()
        card = self._card(card_number)
        given = None
        if self._tenant.policy.account.reset_asks_email:
            if not email:
                raise InvalidField("email", "email: the address registered with the library")
            given = self._check_email(email)
        await self._limit_address(client)
        if not await self._card_allowed(card):
            _log.info("password_reset_limited", tenant=self._tenant.id)
            return
        try:
            patron = await self._port.find_patron(card)
        except NotFound:
            _log.info("password_reset_unknown_card", tenant=self._tenant.id)
            return
        address = await self._current_email(patron)
        if not address or patron.card_number != card:
            _log.info("password_reset_no_address", tenant=self._tenant.id)
            return
        if given is not None and given.casefold() != address.casefold():
            _log.info("password_reset_address_differs", tenant=self._tenant.id)
            return
        minutes = self._tenant.policy.account.reset_link_minutes
        token, expires = await self._new_token(card, "reset", {"card": card}, minutes)
        await self._mail(
            f"password_reset:{token_digest(token)[:24]}",
            address,
            "password_reset",
            language,
            self._link_context(patron, token, "reset", expires),
        )
        _log.info("password_reset_mailed", tenant=self._tenant.id)

    async def confirm_reset(
        self, token: str, new_password: str, *, client: str | None = None
    ) -> StoredIn:
        """Use a reset link: set the new password (as registration does), end every session
        of the patron; ``LinkInvalid`` when the link is unknown, used or expired."""
        self._require_reset()
        self._check_token(token)
        self._check_new_password(new_password)
        rules.check_writes_allowed(self._tenant.policy, self._tenant.now())
        taken = await self._store.account.take_token(token, "reset")
        if taken is None or taken.owner.tenant_id != self._tenant.id:
            raise LinkInvalid()
        card = str(taken.payload["card"])
        try:
            patron = await self._port.find_patron(card)
            stored_in = await self._set_password(patron, new_password)
        except OutcomeUnknown:
            raise  # the link stays used: a read-back decided nothing; ask for a new link
        except GatewayError:
            await self._store.account.release_token(token)  # certainly not done: usable again
            raise
        if self._sessions is not None:
            ended = await self._sessions.end_patron(self._tenant.id, patron.id)
            _log.info("password_reset_sessions_ended", tenant=self._tenant.id, sessions=ended)
        return stored_in

    # --- contact change -----------------------------------------------------------------------

    async def request_contact_change(
        self,
        caller: Caller,
        *,
        email: str | None = None,
        phone: str | None = None,
        language: str | None = None,
    ) -> ContactChangePending:
        """Keep a new e-mail address and/or phone pending and mail the confirmation link (to
        the new address; for a phone alone, to the current one), and a notice to the old
        address."""
        if email is None and phone is None:
            raise InvalidField("email", "email or phone: give at least one")
        new_email = self._check_email(email) if email is not None else None
        new_phone = self._check_phone(phone) if phone is not None else None
        rules.check_writes_allowed(self._tenant.policy, self._tenant.now())
        patron = caller.patron
        card = patron.card_number
        if not await self._card_allowed(card):
            raise RequestsLimited(int(_HOUR))
        fresh = await self._tenant.backend.patron_summary(patron)
        current = await self._current_email(fresh)
        send_to = new_email or current
        if not send_to:
            raise InvalidField("email", "email: no address to send the confirmation to")
        purpose = "email_confirm" if new_email else "contact_change"
        payload: dict[str, Any] = {"card": card, "patron_id": patron.id}
        if new_email is not None:
            payload["email"] = new_email
        if new_phone is not None:
            payload["phone"] = new_phone
        minutes = self._tenant.policy.account.confirm_link_minutes
        token, expires = await self._new_token(card, purpose, payload, minutes)
        key = token_digest(token)[:24]
        context = self._link_context(fresh, token, "confirm", expires)
        await self._mail(f"email_confirm:{key}", send_to, "email_confirm", language, context)
        if current and new_email and current != new_email:
            notice = {
                "patron_name": fresh.name,
                "changes": self._changes(ContactChange(new_email, new_phone), language, done=False),
                "changed_at": self._tenant.now().isoformat(),
            }
            await self._mail(
                f"address_change_confirm:{key}:old",
                current,
                "address_change_confirm",
                language,
                notice,
            )
        return ContactChangePending(confirm_sent_to=mask_email(send_to), expires_at=expires)

    async def confirm_contact_change(
        self, token: str, *, client: str | None = None, language: str | None = None
    ) -> ContactChangeDone:
        """Follow a confirmation link: write the change where it lives (the library system, or
        the gateway) and answer it as read back; ``LinkInvalid`` for an unknown, used or
        expired link."""
        self._check_token(token)
        rules.check_writes_allowed(self._tenant.policy, self._tenant.now())
        taken = await self._store.account.take_token(token, "email_confirm")
        if taken is None:
            taken = await self._store.account.take_token(token, "contact_change")
        if taken is None or taken.owner.tenant_id != self._tenant.id:
            raise LinkInvalid()
        payload = taken.payload
        change = ContactChange(email=payload.get("email"), phone=payload.get("phone"))
        card = str(payload["card"])
        try:
            patron = await self._port.find_patron(card)
            if patron.id != payload.get("patron_id"):
                raise LinkInvalid(operator_detail="contact change: the card names another patron")
            done = await self.write_contact(patron, change)
        except OutcomeUnknown:
            raise
        except LinkInvalid:
            raise
        except GatewayError:
            await self._store.account.release_token(token)
            raise
        if change.email:
            notice = {
                "patron_name": patron.name,
                "changes": self._changes(change, language, done=True),
                "changed_at": self._tenant.now().isoformat(),
            }
            await self._mail(
                f"address_change_confirm:{token_digest(token)[:24]}:new",
                change.email,
                "address_change_confirm",
                language,
                notice,
            )
        return done

    async def write_contact(self, patron: Patron, change: ContactChange) -> ContactChangeDone:
        """Write a confirmed change where it lives (the library system where it takes it, else
        the gateway) and answer it as read back."""
        if self.contact_stored_in() == "library_system":
            # Read first: a change already there (an earlier try whose answer was lost) is not
            # sent again.
            updated = patron if change.applied_to(patron) else None
            if updated is None:
                updated = await self._port.update_contact(patron, change)
            if change.email and updated.email:
                await self._follow_in_settings(patron.card_number, updated.email)
            return ContactChangeDone("library_system", updated.email, updated.phone)
        owner = self._owner(patron.card_number)
        if change.email is not None:
            settings = await self._store.settings.get(owner)
            await self._store.settings.save(owner, replace(settings, email1=change.email or None))
        if change.phone is not None:
            await self._store.account.set_phone(owner, change.phone or None)
        settings = await self._store.settings.get(owner)
        profile = await self._store.account.profile(owner)
        return ContactChangeDone("gateway", settings.email1, profile.phone)

    async def _follow_in_settings(self, card: str, email: str) -> None:
        """A saved ``email1`` setting follows the library system's new address: notices read
        the settings first, and must not keep mailing the address just replaced."""
        owner = self._owner(card)
        settings = await self._store.settings.get(owner)
        if settings.email1 is not None and settings.email1 != email:
            await self._store.settings.save(owner, replace(settings, email1=email))

    # --- for the address settings (``services.settings_change``) ------------------------------

    def check_token(self, token: str) -> None:
        """``InvalidField("token")`` for anything that cannot be a link token."""
        self._check_token(token)

    async def limit_card(self, card: str) -> None:
        """Count one confirmation mail for the card; ``RequestsLimited`` beyond the tenant's
        ``reset_requests_per_card`` an hour."""
        if not await self._card_allowed(card):
            raise RequestsLimited(int(_HOUR))

    async def find_patron(self, card: str) -> Patron:
        """The patron with this card, read from the library system."""
        return await self._port.find_patron(card)

    async def mail_confirm_link(
        self,
        patron: Patron,
        purpose: str,
        payload: dict[str, Any],
        to: str,
        language: str | None,
    ) -> tuple[ContactChangePending, str]:
        """Keep a single-use link (``confirm_link_minutes``) and mail it (``email_confirm``)
        to ``to``; where it went (masked), until when, and the mail's key (the token's hash
        prefix, for the notices that belong to the same change)."""
        minutes = self._tenant.policy.account.confirm_link_minutes
        token, expires = await self._new_token(patron.card_number, purpose, payload, minutes)
        key = token_digest(token)[:24]
        context = self._link_context(patron, token, "confirm", expires)
        await self._mail(f"email_confirm:{key}", to, "email_confirm", language, context)
        return ContactChangePending(confirm_sent_to=mask_email(to), expires_at=expires), key

    async def mail_change_notice(
        self,
        key: str,
        to: str,
        patron: Patron,
        email: str,
        language: str | None,
        *,
        done: bool,
    ) -> None:
        """Tell ``to`` of an address change (``address_change_confirm``): ``email`` is the new
        address (``""`` for one removed), to be confirmed unless ``done``."""
        notice = {
            "patron_name": patron.name,
            "changes": self._changes(ContactChange(email=email), language, done=done),
            "changed_at": self._tenant.now().isoformat(),
        }
        await self._mail(key, to, "address_change_confirm", language, notice)

    # --- helpers --------------------------------------------------------------------------------

    def _owner(self, card: str) -> Any:
        return self._store.patron(self._tenant.id, card)

    async def _current_email(self, patron: Patron) -> str | None:
        """The patron's address: the library system's where it keeps it, else the one the
        gateway keeps (a confirmed change at a SIP2 library), else the ACS's."""
        if self.contact_stored_in() == "library_system":
            return patron.email
        settings = await self._store.settings.get(self._owner(patron.card_number))
        return settings.email1 or patron.email

    async def _new_token(
        self, card: str, purpose: str, payload: dict[str, Any], minutes: int
    ) -> tuple[str, datetime]:
        token = secrets.token_urlsafe(32)
        expires = self._tenant.now() + timedelta(minutes=minutes)
        await self._store.account.add_token(self._owner(card), token, purpose, payload, expires)
        return token, expires

    def _link_context(
        self, patron: Patron, token: str, kind: str, expires: datetime
    ) -> dict[str, Any]:
        """The template variables of a link mail (``reset_url`` for ``password_reset``,
        ``confirm_url`` for ``email_confirm``): the portal's page with the token, or the token
        alone when the tenant names no page (``[tenants.account_links]``)."""
        links = self._tenant.config.account_links
        base = links.reset if kind == "reset" else links.confirm
        link = token if base is None else f"{base}{'&' if '?' in base else '?'}token={token}"
        return {
            "patron_name": patron.name,
            "masked_card": mask_card(patron.card_number),
            f"{kind}_url": link,
            "token": token,
            "expires_at": expires.isoformat(),
        }

    def _changes(self, change: ContactChange, language: str | None, *, done: bool) -> list[str]:
        """The lines of an ``address_change_confirm`` notice, in the mail's language."""
        english = (language or self._tenant.config.language.default) == "en"
        lines: list[str] = []
        if change.email is not None:
            shown = mask_email(change.email) if change.email else "-"
            if english:
                lines.append(f"E-mail address: {shown}" + ("" if done else " (to be confirmed)"))
            else:
                lines.append(f"メールアドレス：{shown}" + ("" if done else "（確認待ち）"))
        if change.phone is not None:
            if english:
                lines.append("Phone number" + ("" if done else " (to be confirmed)"))
            else:
                lines.append("電話番号" + ("" if done else "（確認待ち）"))
        return lines

    async def _mail(
        self,
        key: str,
        to: str,
        template: str,
        language: str | None,
        context: Mapping[str, Any],
    ) -> None:
        if self._outbox is None:
            _log.warning("account_mail_not_queued", tenant=self._tenant.id, template=template)
            return
        await self._outbox.enqueue(key, to, template, language, context)
