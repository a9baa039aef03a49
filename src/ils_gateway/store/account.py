"""Account lifecycle rows (issue 18): single-use link tokens, and the account data the gateway
keeps where the library system cannot (a SIP2 library's passwords and phone numbers).

A token is never stored: its row is named by the token's SHA-256, and what the link will do
(``payload``: the card, a new address…) is sealed under a key derived from the token itself
(``ils_gateway.sealing``), so a dump of the store opens no link and reads no payload. ``take``
marks a token used in the same UPDATE that finds it unused and unexpired: two clicks on one
link, in two processes, cannot both win.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from ils_gateway.domain.clock import Clock
from ils_gateway.sealing import SealBroken, SealedState
from ils_gateway.store._db import Database, owned_by, owner_values
from ils_gateway.store.records import PatronRef
from ils_gateway.store.schema import account_profiles, account_tokens

__all__ = ["AccountProfile", "AccountRepository", "TakenToken", "token_digest"]

# email1_confirm / email2_confirm: an address set in the patron settings (services.settings_change),
# one pending link per address.
_PURPOSES = frozenset(
    {"reset", "email_confirm", "contact_change", "registration", "email1_confirm", "email2_confirm"}
)


def token_digest(token: str) -> str:
    """The name a token's row is kept under (SHA-256 hex of the token)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _seal(token: str) -> SealedState:
    return SealedState(hashlib.sha256(b"account-token/v1\x00" + token.encode()).digest())


@dataclass(frozen=True)
class TakenToken:
    """A token just used: whose, for what, and its opened payload."""

    owner: PatronRef
    purpose: str
    payload: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class AccountProfile:
    """What the gateway keeps of one account (defaults when it keeps nothing)."""

    password_hash: str | None = None
    phone: str | None = None


class AccountRepository:
    """Link tokens and gateway-kept account data."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    # --- tokens ---------------------------------------------------------------------------

    async def add_token(
        self,
        owner: PatronRef,
        token: str,
        purpose: str,
        payload: dict[str, Any],
        expires_at: datetime,
        *,
        replace_earlier: bool = True,
    ) -> None:
        """Keep a new link token (its digest; ``payload`` sealed under the token). With
        ``replace_earlier`` the patron's unused tokens of the same purpose are voided first:
        only the newest link works."""
        if purpose not in _PURPOSES:
            raise ValueError(f"unknown token purpose {purpose!r}")
        now = self._clock()
        digest = token_digest(token)
        sealed = _seal(token).seal_json(payload, context=digest)
        t = account_tokens
        async with self._db.write() as conn:
            if replace_earlier:
                await conn.execute(
                    update(t)
                    .where(owned_by(t, owner), t.c.purpose == purpose, t.c.used_at.is_(None))
                    .values(used_at=now)
                )
            await conn.execute(
                t.insert().values(
                    token_hash=digest,
                    **owner_values(owner),
                    purpose=purpose,
                    payload=sealed,
                    created_at=now,
                    expires_at=expires_at,
                    used_at=None,
                )
            )

    async def take_token(self, token: str, purpose: str) -> TakenToken | None:
        """Use a token once: its record when it exists for ``purpose``, is unused and has not
        expired (it is marked used in the same statement); None otherwise, whatever the
        reason (unknown, used, expired, another purpose): a link says nothing more."""
        now = self._clock()
        digest = token_digest(token)
        t = account_tokens
        async with self._db.write() as conn:
            row = (
                await conn.execute(
                    select(t.c.tenant_id, t.c.patron_key, t.c.payload, t.c.created_at).where(
                        t.c.token_hash == digest,
                        t.c.purpose == purpose,
                        t.c.used_at.is_(None),
                        t.c.expires_at > now,
                    )
                )
            ).first()
            if row is None:
                return None
            claimed = await conn.execute(
                update(t).where(t.c.token_hash == digest, t.c.used_at.is_(None)).values(used_at=now)
            )
            if claimed.rowcount != 1:
                return None
        try:
            payload = _seal(token).open_json(row.payload, context=digest)
        except SealBroken:
            return None
        return TakenToken(
            owner=PatronRef(row.tenant_id, row.patron_key),
            purpose=purpose,
            payload=payload,
            created_at=row.created_at,
        )

    async def release_token(self, token: str) -> None:
        """Make a taken token usable again (what it was to do certainly did not happen)."""
        t = account_tokens
        async with self._db.write() as conn:
            await conn.execute(
                update(t).where(t.c.token_hash == token_digest(token)).values(used_at=None)
            )

    async def purge_tokens(self, before: datetime) -> int:
        """Delete tokens that expired, or were used (or voided by a newer link), before
        ``before``; how many. Unused tokens that have not expired are never touched."""
        t = account_tokens
        async with self._db.write() as conn:
            result = await conn.execute(
                t.delete().where(or_(t.c.expires_at < before, t.c.used_at < before))
            )
            return int(result.rowcount)

    # --- gateway-kept account data ---------------------------------------------------------

    async def profile(self, owner: PatronRef) -> AccountProfile:
        """What the gateway keeps of the account (nothing: the defaults)."""
        t = account_profiles
        async with self._db.read() as conn:
            row = (
                await conn.execute(select(t.c.password_hash, t.c.phone).where(owned_by(t, owner)))
            ).first()
        if row is None:
            return AccountProfile()
        return AccountProfile(row.password_hash, row.phone)

    async def set_password_hash(self, owner: PatronRef, password_hash: str) -> None:
        """Keep the account's password (its hash) in the gateway."""
        await self._upsert(owner, password_hash=password_hash)

    async def set_phone(self, owner: PatronRef, phone: str | None) -> None:
        """Keep the account's confirmed phone number in the gateway."""
        await self._upsert(owner, phone=phone)

    async def _upsert(self, owner: PatronRef, **values: Any) -> None:
        values["updated_at"] = self._clock()
        t = account_profiles
        insert = self._db.insert(t).values(**owner_values(owner), **values)
        upsert = insert.on_conflict_do_update(
            index_elements=["tenant_id", "patron_key"], set_=values
        )
        async with self._db.write() as conn:
            await conn.execute(upsert)
