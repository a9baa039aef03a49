"""Log in, the patron summary, and the password change a temporary password forces.

Login normalises the card by the tenant's rule and turns every "no" into the one
``AuthenticationFailed`` (never saying whether card or password was wrong). A card-level block
(expired, unused for years, lost) refuses the login with ``PatronBlocked``; blocks for overdue
items or fines let the patron in to see what is wrong. A temporary password (flagged by the
ILS, or matching the tenant's first-login pattern) yields a login that may do nothing but
change the password, where the tenant gates it (Kanagawa, Ibaraki).

With the shared session store, the account service also runs a patron session's steps:
``start_session`` logs in and, only once the library accepted the password, lets the lists open
the reading-history key into the session (and enrol the patron for the periodic jobs);
``change_password_in_session`` re-wraps that key under the new password; enabling, unlocking
and deleting the reading history keep the session's copy of the key (and its "your password was
reset" flag) in step; ``end_session`` logs out and drops the patron's cached data.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from pydantic import JsonValue

from ils_gateway.adapters.base import AccountPort, Capability, account_writes
from ils_gateway.domain.errors import (
    AuthenticationFailed,
    GatewayError,
    NotFound,
    PasswordChangeElsewhere,
    PasswordRejected,
    PatronBlocked,
)
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import BlockReason, Channel, Feature
from ils_gateway.observability import metrics
from ils_gateway.services import rules
from ils_gateway.services.context import Caller, TenantContext
from ils_gateway.services.credentials import GatewayCredentials
from ils_gateway.services.keyed_locks import KeyedLocks
from ils_gateway.services.mylists.runtime import RESET_FLAG
from ils_gateway.state.loginguard import LoginGuard, LoginLimit

if TYPE_CHECKING:
    from ils_gateway.services.mylists.context import PatronContext
    from ils_gateway.services.mylists.reading_history import HistoryKeyOpened
    from ils_gateway.services.mylists.runtime import MyLists
    from ils_gateway.services.sessions import PatronSessions

# The longest a card's check may stay claimed if its release is lost (a crashed process).
_CLAIM_SECONDS = 60.0
# Hyphens and dashes a patron may type between the digits of a card (after NFKC).
_SEPARATORS = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc"


class LoginLocked(GatewayError):
    """Too many failed logins for this card (or from this address); nothing reaches the
    library system until ``retry_after`` seconds have passed. The same for every card, known
    or not."""

    type_slug = "login-locked"
    status = 429
    title = "Too many failed logins"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many failed logins; try again later",
            operator_detail=f"login locked, retry after {retry_after}s",
        )
        self.retry_after = retry_after


class LoginThrottled(LoginLocked):
    """A failed login for this card (or from this address) was recent: the next attempt must
    wait ``retry_after`` seconds, a delay that grows with each failure until the lock. Nothing
    reaches the library system meanwhile; the same for every card, known or not."""

    type_slug = "login-throttled"
    status = 429
    title = "Too many failed logins"

    def __init__(self, retry_after: int) -> None:
        GatewayError.__init__(
            self,
            "Too many failed logins; try again later",
            operator_detail=f"login delayed, retry after {retry_after}s",
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class Login:
    """A successful login: the patron, and whether only a password change is allowed now."""

    patron: Patron
    password_change_required: bool


@dataclass(frozen=True)
class StartedSession:
    """A new patron session: its token (seen in clear only here), the login, the idle timeout."""

    token: str
    login: Login
    idle_timeout_minutes: int | None


class AccountService:
    """Account use cases of one tenant (and, with a session store, its sessions' steps)."""

    def __init__(
        self,
        tenant: TenantContext,
        *,
        mylists: MyLists | None = None,
        sessions: PatronSessions | None = None,
        guard: LoginGuard | None = None,
        patron_caches: Sequence[Callable[[Patron], Awaitable[None]]] = (),
        credentials: GatewayCredentials | None = None,
    ) -> None:
        """``patron_caches``: besides the backend's, what forgets a patron's cached data at
        logout (the e-book service's). ``credentials``: the passwords the gateway keeps where
        the library system cannot set one (SIP2; issue 18)."""
        self._credentials = credentials
        self._tenant = tenant
        self._mylists = mylists
        self._sessions = sessions
        self._guard = guard
        self._patron_caches = tuple(patron_caches)
        self._card_checks = KeyedLocks()

    async def login(self, card_number: str, password: str, *, client: str | None = None) -> Login:
        """Check the card and password; raises ``AuthenticationFailed``, ``PatronBlocked`` or
        ``LoginLocked``."""
        patron = await self.identify(card_number, password, client=client)
        card_blocks = self.card_blocks(patron)
        if card_blocks:
            raise PatronBlocked(card_blocks, operator_detail="; ".join(patron.block_messages))
        return Login(patron=patron, password_change_required=self.temporary(patron, password))

    async def identify(
        self, card_number: str, password: str, *, client: str | None = None
    ) -> Patron:
        """The patron behind card and password, blocked or not (a self-check shows the blocks);
        raises ``AuthenticationFailed``, or ``LoginLocked`` (before asking the library) while
        the card or the client address ``client`` is locked by failed logins."""
        if self._guard is None:
            card = rules.normalise_card(self._tenant.policy.card, card_number)
            return await self._authenticate(card, password)
        guard = self._guard
        card_key = f"{self._tenant.id}:card:{self.card_key(card_number)}"
        address_key = f"{self._tenant.id}:address:{client}" if client else None
        keys = [card_key] if address_key is None else [card_key, address_key]
        # One check of a card at a time: in this process a second check of the same card (two
        # self-check machines, a portal's double submit) waits for the first, then is held to
        # whatever the first's outcome left (a failure's delay); only a check under way in
        # another process (the shared claim) is refused for a second.
        async with self._card_checks.one_at_a_time(card_key):
            return await self._identify_claimed(guard, card_number, password, keys)

    async def _identify_claimed(
        self, guard: LoginGuard, card_number: str, password: str, keys: list[str]
    ) -> Patron:
        card_key, address_key = keys[0], (keys[1] if len(keys) > 1 else None)
        await self._refuse_while_held(keys)
        if not await guard.claim(card_key, _CLAIM_SECONDS):
            raise LoginThrottled(1)
        try:
            try:
                card = rules.normalise_card(self._tenant.policy.card, card_number)
                patron = await self._authenticate(card, password)
            except AuthenticationFailed:
                await self._count_failure(card_key, address_key)
                raise
            await guard.succeeded(card_key)
        finally:
            await guard.release(card_key)
        return patron

    def gateway_keeps_passwords(self) -> bool:
        """Whether passwords set online are kept by the gateway (the library system cannot
        set one: SIP2) rather than written to the library system."""
        return self._credentials is not None and "password" not in account_writes(
            self._tenant.backend
        )

    async def _authenticate(self, card: str, password: str) -> Patron:
        """The library system checks the password, unless the gateway keeps this card's
        password (registered or reset online at a SIP2 library): then the gateway checks it
        and reads the patron without one."""
        if self._credentials is not None and self.gateway_keeps_passwords():
            held = await self._credentials.check(self._tenant.id, card, password)
            if held is False:
                raise AuthenticationFailed(operator_detail="gateway-kept password not matched")
            if held:
                port = cast(AccountPort, self._tenant.backend)
                try:
                    patron = await port.find_patron(card)
                except NotFound:
                    raise AuthenticationFailed(operator_detail="card no longer known") from None
                # A "temporary password" the ACS flags is its own PIN's, not the gateway's.
                return patron.model_copy(update={"temporary_password": False})
        return await self._tenant.backend.authenticate(card, password)

    async def terminal_login(self, user: str, address: str, accepted: Callable[[], bool]) -> bool:
        """A self-check machine's login (SIP2 93) as ``user`` from ``address``: refused without
        a check while the user or the address is locked by failed logins; else ``accepted()``,
        a failure counted for both."""
        if self._guard is None:
            return accepted()
        user_key = f"{self._tenant.id}:terminal:{user}"
        address_key = f"{self._tenant.id}:terminal-address:{address}"
        try:
            await self._refuse_while_held([user_key, address_key])
        except LoginLocked:
            return False
        if not await self._guard.claim(user_key, _CLAIM_SECONDS):
            return False
        try:
            if accepted():
                await self._guard.succeeded(user_key)
                return True
            await self._count_failure(user_key, address_key)
            return False
        finally:
            await self._guard.release(user_key)

    async def _refuse_while_held(self, keys: list[str]) -> None:
        """``LoginLocked`` while a key is locked, ``LoginThrottled`` while a key's growing delay
        lasts (a lock says when it ends; a delay is shorter)."""
        if self._guard is None:
            return
        wait = await self._guard.locked(keys)
        if wait:
            metrics.login_refused(self._tenant.id, "locked")
            raise LoginLocked(wait)
        wait = await self._guard.delayed(keys)
        if wait:
            metrics.login_refused(self._tenant.id, "throttled")
            raise LoginThrottled(wait)

    async def _count_failure(self, card_key: str, address_key: str | None) -> None:
        if self._guard is None:
            return
        rule = self._tenant.policy.login
        window, lock = rule.window_minutes * 60, rule.lock_minutes * 60
        delay, cap = rule.first_delay_seconds, rule.max_delay_seconds
        limit = LoginLimit(rule.max_failures, window, lock, rule.delay_after_failures, delay, cap)
        # Counted by key kind (card, address) and tenant: never the card or the address.
        tenant = self._tenant.id
        locked = await self._guard.failed(card_key, limit)
        metrics.login_failed(tenant, "card", locked > 0)
        if address_key is not None:
            free = rule.delay_after_failures_per_address
            limit = LoginLimit(rule.max_failures_per_address, window, lock, free, delay, cap)
            locked = await self._guard.failed(address_key, limit)
            metrics.login_failed(tenant, "address", locked > 0)

    def card_key(self, card_number: str) -> str:
        """The card that attempts are counted under: the tenant's canonical card, so hyphens,
        spaces or full-width digits never make a fresh count; a card that cannot be valid is
        folded the same way (NFKC, no separators or whitespace, upper case)."""
        card = self._tenant.policy.card.normalise(card_number)
        if card is not None:
            return card
        text = unicodedata.normalize("NFKC", card_number)
        return "".join(ch for ch in text if not ch.isspace() and ch not in _SEPARATORS).upper()

    def card_blocks(self, patron: Patron) -> list[BlockReason]:
        """The blocks that refuse a login today, as the tenant's page says: the card-level ones
        (expired counts when nothing else does), except an expired card where
        ``account.login_when_expired`` lets it in; overdue items too where
        ``account.login_when_overdue`` is off (Kanagawa)."""
        account = self._tenant.policy.account
        blocks = [b for b in patron.blocks if b in rules.CARD_BLOCKS]
        if patron.card_expired_on(self._tenant.today()) and not blocks:
            blocks.append(BlockReason.CARD_EXPIRED)
        if account.login_when_expired:
            blocks = [b for b in blocks if b is not BlockReason.CARD_EXPIRED]
        overdue = BlockReason.OVERDUE_ITEMS in patron.blocks or patron.overdue_count > 0
        if not account.login_when_overdue and overdue:
            blocks.append(BlockReason.OVERDUE_ITEMS)
        return blocks

    async def summary(self, caller: Caller) -> Patron:
        """The patron's fresh record: counts, blocks, contact data."""
        return await self._tenant.backend.patron_summary(caller.patron)

    async def change_password(self, caller: Caller, old_password: str, new_password: str) -> None:
        """Change the password through the library system after checking the tenant's
        password rules; where the system cannot change it (SIP2) and the tenant names its own
        password page, ``PasswordChangeElsewhere`` with that link."""
        self._tenant.require_feature(Feature.PASSWORD_CHANGE, caller.channel)
        if await self._gateway_keeps(caller.patron):
            await self._change_kept_password(caller.patron, old_password, new_password)
            return
        elsewhere = self.password_change_url()
        if elsewhere is not None:
            raise PasswordChangeElsewhere(elsewhere)
        problems = self._tenant.policy.password.problems(new_password)
        if problems:
            raise PasswordRejected(problems=problems, field="new_password")
        if new_password == old_password:
            raise PasswordRejected(
                problems=["must differ from the current password"], field="new_password"
            )
        rules.check_writes_allowed(self._tenant.policy, self._tenant.now())
        await self._tenant.backend.change_password(caller.patron, old_password, new_password)

    async def _gateway_keeps(self, patron: Patron) -> bool:
        if self._credentials is None or not self.gateway_keeps_passwords():
            return False
        return await self._credentials.holds(self._tenant.id, patron.card_number)

    async def _change_kept_password(
        self, patron: Patron, old_password: str, new_password: str
    ) -> None:
        """Change a password the gateway keeps: the tenant's rules, then the current one."""
        assert self._credentials is not None
        problems = self._tenant.policy.password.problems(new_password)
        if problems:
            raise PasswordRejected(problems=problems, field="new_password")
        if new_password == old_password:
            raise PasswordRejected(
                problems=["must differ from the current password"], field="new_password"
            )
        rules.check_writes_allowed(self._tenant.policy, self._tenant.now())
        tenant, card = self._tenant.id, patron.card_number
        if not await self._credentials.check(tenant, card, old_password):
            raise PasswordRejected(
                "The current password is not correct",
                problems=["current password is not correct"],
                field="old_password",
            )
        await self._credentials.set(tenant, card, new_password)

    def password_change_url(self) -> str | None:
        """The library's own password page when the library system cannot change passwords
        through the gateway (None when it can, or when the tenant names no page)."""
        if self._tenant.backend.capabilities.supports(Capability.CHANGE_PASSWORD):
            return None
        return self._tenant.config.password_change.link

    def temporary(self, patron: Patron, password: str) -> bool:
        """Whether ``password`` is a temporary one the tenant makes the patron change first
        (flagged by the library system, or matching the first-login pattern)."""
        account = self._tenant.policy.account
        if not account.temporary_password_gate:
            return False
        if patron.temporary_password:
            return True
        pattern = account.temporary_password_pattern
        return pattern is not None and re.fullmatch(pattern, password) is not None

    # --- session steps ------------------------------------------------------------------------

    async def start_session(
        self, card_number: str, password: str, channel: Channel, *, client: str | None = None
    ) -> StartedSession:
        """Log in (from the address ``client``) and open a session on ``channel``; its
        ``extra`` holds what the lists keep (the reading-history key, opened only now that the
        library accepted the password)."""
        login = await self.login(card_number, password, client=client)
        extra = await self._lists_at_login(login.patron, channel, password)
        idle = self._tenant.policy.idle_timeout_minutes
        token = await self._session_store().create(
            self._tenant.id,
            login.patron,
            channel,
            password_change_required=login.password_change_required,
            idle_timeout_minutes=idle,
            extra=extra,
        )
        return StartedSession(token=token, login=login, idle_timeout_minutes=idle)

    async def change_password_in_session(
        self,
        caller: Caller,
        token: str,
        extra: Mapping[str, JsonValue],
        *,
        old_password: str,
        new_password: str,
    ) -> None:
        """Change the password; then re-wrap the reading-history key under the new one (kept
        in the session) and lift the session's "change your password first"."""
        await self.change_password(caller, old_password, new_password)
        sessions = self._session_store()
        if self._mylists is not None:
            lists = self._mylists
            ctx = lists.context(self._tenant.config, caller.patron, caller.channel)
            values = await lists.after_password_change(
                ctx, extra, old_password=old_password, new_password=new_password
            )
            if values:
                await sessions.update_extra(token, dict(values))
        await sessions.password_changed(token)

    async def end_session(self, token: str, patron: Patron | None = None) -> None:
        """Log out (ending an unknown token is a no-op); then drop ``patron``'s cached data
        (loans, holds, summary, e-book lists) wherever it is cached: in memory or in Redis."""
        await self._session_store().end(token)
        if patron is None:
            return
        forget = getattr(self._tenant.backend, "forget_patron", None)
        if forget is not None:
            await forget(patron)
        for forget_elsewhere in self._patron_caches:
            await forget_elsewhere(patron)

    async def enable_history_in_session(self, caller: Caller, token: str, password: str) -> bool:
        """Switch the reading history on (the library checks the password), keep the opened
        key in the session and enrol for the periodic capture; returns whether a key is open."""
        lists, ctx = self._lists_context(caller)
        opened = await lists.history.enable(ctx, self._tenant.backend, password)
        await self._keep_history_key(lists, token, opened)
        await lists.sync_enrolment(ctx)
        return opened.key is not None

    async def unlock_history_in_session(self, caller: Caller, token: str, password: str) -> bool:
        """Open the reading history in a session that lacks its key (the library checks the
        password) and keep the key there; returns whether a key is open."""
        lists, ctx = self._lists_context(caller)
        opened = await lists.history.unlock(ctx, self._tenant.backend, password)
        await self._keep_history_key(lists, token, opened)
        return opened.key is not None

    async def delete_history_in_session(self, caller: Caller, token: str) -> int:
        """Delete every reading-history entry, readable or not, and drop the session's "older
        entries are unreadable" flag; returns how many entries went."""
        lists, ctx = self._lists_context(caller)
        deleted = await lists.history.delete_all(ctx)
        await self._session_store().update_extra(token, {RESET_FLAG: None})
        return deleted

    async def _keep_history_key(self, lists: MyLists, token: str, opened: HistoryKeyOpened) -> None:
        values: dict[str, JsonValue] = dict(lists.keys.extra_for(opened.key))
        if opened.reset:
            values[RESET_FLAG] = True
        await self._session_store().update_extra(token, values)

    def _lists_context(self, caller: Caller) -> tuple[MyLists, PatronContext]:
        if self._mylists is None:
            raise RuntimeError("this AccountService was built without the list services")
        lists = self._mylists
        return lists, lists.context(self._tenant.config, caller.patron, caller.channel)

    async def _lists_at_login(
        self, patron: Patron, channel: Channel, password: str
    ) -> dict[str, JsonValue]:
        if self._mylists is None:
            return {}
        lists = self._mylists
        outcome = await lists.at_login(
            lists.context(self._tenant.config, patron, channel), password
        )
        extra: dict[str, JsonValue] = {k: v for k, v in outcome.extra.items() if v is not None}
        if outcome.history_reset:
            extra[RESET_FLAG] = True
        return extra

    def _session_store(self) -> PatronSessions:
        if self._sessions is None:
            raise RuntimeError("this AccountService was built without a session store")
        return self._sessions
