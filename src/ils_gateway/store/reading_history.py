"""Reading history (読書履歴), encrypted so the database alone reveals nothing of it.

Design (see docs/store.md):

- Each patron has an X25519 keypair. The public key is stored plain; the private key is stored
  wrapped in a SecretBox whose key is derived from the patron's password with argon2id (random
  salt, parameters stored beside it).
- New entries are sealed to the public key (``SealedBox``), so the background job that sees
  loans can add them without the password. Reading needs the password, or the unwrapped key a
  session holds (``UnlockedHistoryKey``).
- A password change re-wraps the same private key. A reset by the library (no old password)
  makes a new keypair, ``generation`` + 1: entries sealed to older generations can no longer be
  opened, and ``list`` says how many (``unreadable_entries``) instead of hiding them.
- Duplicates (the job seeing one loan twice) are refused by a keyed hash of (patron, item, loan
  time) under a key derived from the server secret, which is not in the database.
- The sealed payload is padded to a multiple of ``PAD_TO`` bytes so its length does not hint at
  the title.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import nacl.utils
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.pwhash import argon2id
from nacl.secret import SecretBox
from sqlalchemy import delete, func, select, update

from ils_gateway.store._db import Database, owned_by, owner_values
from ils_gateway.store.errors import HistoryNotSetUp, InvalidValue, WrongHistoryPassword
from ils_gateway.store.patron_keys import derive_key
from ils_gateway.store.records import (
    HistoryRecordOutcome,
    PatronRef,
    ReadingHistoryEntry,
    ReadingHistoryPage,
    StoredHistoryEntry,
    UnlockedHistoryKey,
)
from ils_gateway.store.schema import (
    reading_history_entries,
    reading_history_keys,
    reading_history_preexisting,
)

#: Sealed payloads are padded to a multiple of this many bytes (titles rarely pass 256 bytes).
PAD_TO = 256


@dataclass(frozen=True, slots=True)
class KdfParams:
    """argon2id cost of turning a password into the key that wraps the history key."""

    opslimit: int
    memlimit: int

    @classmethod
    def interactive(cls) -> KdfParams:
        """libsodium's interactive level (64 MiB, about 0.1-0.3 s): the production default."""
        return cls(argon2id.OPSLIMIT_INTERACTIVE, argon2id.MEMLIMIT_INTERACTIVE)

    @classmethod
    def minimal(cls) -> KdfParams:
        """The cheapest argon2id allows: for tests only."""
        return cls(argon2id.OPSLIMIT_MIN, argon2id.MEMLIMIT_MIN)


def _wrapping_key(password: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return argon2id.kdf(SecretBox.KEY_SIZE, password.encode(), salt, opslimit, memlimit)


def _wrap(private_key: bytes, password: str, kdf: KdfParams) -> dict[str, Any]:
    salt = nacl.utils.random(argon2id.SALTBYTES)
    key = _wrapping_key(password, salt, kdf.opslimit, kdf.memlimit)
    return {
        "wrapped_private_key": bytes(SecretBox(key).encrypt(private_key)),
        "salt": salt,
        "opslimit": kdf.opslimit,
        "memlimit": kdf.memlimit,
    }


def _unwrap(row: Any, password: str) -> bytes:
    key = _wrapping_key(password, row.salt, row.opslimit, row.memlimit)
    try:
        private_key = SecretBox(key).decrypt(row.wrapped_private_key)
    except CryptoError:
        raise WrongHistoryPassword("the password does not open the reading-history key") from None
    if bytes(PrivateKey(private_key).public_key) != bytes(row.public_key):
        raise WrongHistoryPassword("the stored reading-history key does not match its public key")
    return private_key


def _encode(entry: ReadingHistoryEntry) -> bytes:
    payload = json.dumps(
        {
            "item_id": entry.item_id,
            "title": entry.title,
            "author": entry.author,
            "loaned_at": entry.loaned_at.astimezone(UTC).isoformat(),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return payload + b" " * (-len(payload) % PAD_TO)


def _decode(payload: bytes) -> ReadingHistoryEntry:
    data = json.loads(payload)
    return ReadingHistoryEntry(
        item_id=data["item_id"],
        title=data["title"],
        author=data["author"],
        loaned_at=datetime.fromisoformat(data["loaned_at"]),
    )


class ReadingHistoryRepository:
    """Sets up, opens and re-keys a patron's history key; adds, lists and deletes entries."""

    def __init__(self, db: Database, *, secret: bytes, kdf: KdfParams) -> None:
        self._db = db
        self._dedupe_key = derive_key(secret, "reading-history-dedupe/v1")
        self._kdf = kdf

    # --- the patron's key ----------------------------------------------------------------------

    async def has_key(self, owner: PatronRef) -> bool:
        """True once the patron has a history keypair."""
        return await self._key_row(owner) is not None

    async def set_up(self, owner: PatronRef, password: str) -> UnlockedHistoryKey:
        """Make the patron's keypair (first switch-on), or open the existing one."""
        row = await self._key_row(owner)
        if row is not None:
            return await self.unlock(owner, password)
        private_key = PrivateKey.generate()
        wrapped = await asyncio.to_thread(_wrap, bytes(private_key), password, self._kdf)
        statement = (
            self._db.insert(reading_history_keys)
            .values(
                **owner_values(owner),
                generation=1,
                public_key=bytes(private_key.public_key),
                **wrapped,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "patron_key"])
        )
        async with self._db.write() as conn:
            created = (await conn.execute(statement)).rowcount == 1
        if not created:  # set up at the same moment elsewhere: that one stands
            return await self.unlock(owner, password)
        return UnlockedHistoryKey(1, bytes(private_key))

    async def unlock(self, owner: PatronRef, password: str) -> UnlockedHistoryKey:
        """Open the patron's history key with the password."""
        row = await self._key_row(owner)
        if row is None:
            raise HistoryNotSetUp("reading history has never been switched on")
        private_key = await asyncio.to_thread(_unwrap, row, password)
        return UnlockedHistoryKey(row.generation, private_key)

    async def change_password(
        self, owner: PatronRef, old_password: str, new_password: str
    ) -> UnlockedHistoryKey:
        """Re-wrap the same key under the new password; every entry stays readable."""
        return await self.rewrap(owner, await self.unlock(owner, old_password), new_password)

    async def rewrap(
        self, owner: PatronRef, key: UnlockedHistoryKey, new_password: str
    ) -> UnlockedHistoryKey:
        """Re-wrap an already opened key (held by the session) under a new password."""
        wrapped = await asyncio.to_thread(_wrap, key.private_key, new_password, self._kdf)
        t = reading_history_keys
        async with self._db.write() as conn:
            result = await conn.execute(
                update(t)
                .where(
                    owned_by(t, owner),
                    t.c.generation == key.generation,
                    t.c.public_key == bytes(PrivateKey(key.private_key).public_key),
                )
                .values(**wrapped)
            )
        if result.rowcount == 0:
            raise WrongHistoryPassword("the key given is not the patron's current history key")
        return key

    async def reset(self, owner: PatronRef, new_password: str) -> UnlockedHistoryKey:
        """Start a new keypair after a password reset by the library (no old password).

        Entries sealed to the old key stay in place but can no longer be opened; ``list``
        counts them as ``unreadable_entries`` until the patron deletes them.
        """
        private_key = PrivateKey.generate()
        wrapped = await asyncio.to_thread(_wrap, bytes(private_key), new_password, self._kdf)
        public_key = bytes(private_key.public_key)
        t = reading_history_keys
        async with self._db.write() as conn:
            generation = await conn.scalar(select(t.c.generation).where(owned_by(t, owner)))
            if generation is None:
                generation = 1
                await conn.execute(
                    t.insert().values(
                        **owner_values(owner), generation=1, public_key=public_key, **wrapped
                    )
                )
            else:
                generation += 1
                await conn.execute(
                    update(t)
                    .where(owned_by(t, owner))
                    .values(generation=generation, public_key=public_key, **wrapped)
                )
        return UnlockedHistoryKey(generation, bytes(private_key))

    # --- entries -------------------------------------------------------------------------------

    async def record(self, owner: PatronRef, entry: ReadingHistoryEntry) -> HistoryRecordOutcome:
        """Seal a loan into the history (no password needed); a loan seen twice is kept once.

        Whether the patron has history switched on, and since when, is the caller's check.
        """
        if entry.loaned_at.tzinfo is None:
            raise InvalidValue("loaned_at", "must carry a timezone")
        row = await self._key_row(owner)
        if row is None:
            return HistoryRecordOutcome.NO_KEY
        sealed = SealedBox(PublicKey(row.public_key)).encrypt(_encode(entry))
        t = reading_history_entries
        statement = (
            self._db.insert(t)
            .values(
                entry_id=uuid.uuid4().hex,
                **owner_values(owner),
                generation=row.generation,
                dedupe_tag=self._dedupe_tag(owner, entry),
                sealed=bytes(sealed),
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "patron_key", "dedupe_tag"])
        )
        async with self._db.write() as conn:
            added = (await conn.execute(statement)).rowcount == 1
        return HistoryRecordOutcome.ADDED if added else HistoryRecordOutcome.DUPLICATE

    async def list(
        self,
        owner: PatronRef,
        key: UnlockedHistoryKey,
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> ReadingHistoryPage:
        """Entries the key opens, newest recorded first, plus the count of those it cannot.

        ``key`` must be the patron's current key; one from before a reset, or someone else's,
        raises ``WrongHistoryPassword`` (open the key again).
        """
        row = await self._key_row(owner)
        if row is None:
            raise HistoryNotSetUp("reading history has never been switched on")
        if bytes(row.public_key) != bytes(PrivateKey(key.private_key).public_key):
            raise WrongHistoryPassword("the key given is not the patron's current history key")
        t = reading_history_entries
        readable = owned_by(t, owner) & (t.c.generation == key.generation)
        query = select(t.c.entry_id, t.c.sealed).where(readable).order_by(t.c.id.desc())
        if limit is not None:
            query = query.limit(limit).offset(offset)
        elif offset:
            query = query.offset(offset)
        async with self._db.read() as conn:
            total = await conn.scalar(select(func.count()).select_from(t).where(owned_by(t, owner)))
            readable_total = await conn.scalar(select(func.count()).select_from(t).where(readable))
            rows = (await conn.execute(query)).all()
        box = SealedBox(PrivateKey(key.private_key))
        entries: list[StoredHistoryEntry] = []
        damaged = 0
        for row in rows:
            try:
                entries.append(StoredHistoryEntry(row.entry_id, _decode(box.decrypt(row.sealed))))
            except (CryptoError, ValueError, KeyError):
                damaged += 1
        assert total is not None and readable_total is not None
        return ReadingHistoryPage(
            entries=tuple(entries),
            unreadable_entries=total - readable_total + damaged,
            total_entries=total,
        )

    async def delete(self, owner: PatronRef, entry_id: str) -> bool:
        """Delete one entry; False when the patron has no entry with that id."""
        t = reading_history_entries
        return await self._db.delete_owned(t, owner, t.c.entry_id == entry_id) == 1

    async def delete_all(self, owner: PatronRef) -> int:
        """Delete every entry (readable or not); the key stays for future entries."""
        return await self._db.delete_owned(reading_history_entries, owner)

    async def forget(self, owner: PatronRef) -> None:
        """Delete every entry and the keypair (the patron leaves or the account is closed)."""
        async with self._db.write() as conn:
            for t in (reading_history_entries, reading_history_keys, reading_history_preexisting):
                await conn.execute(delete(t).where(owned_by(t, owner)))

    # --- loans out at the switch -----------------------------------------------------------------

    def loan_tag(self, owner: PatronRef, loan_id: str, item_id: str) -> str:
        """A keyed hash of (patron, loan, item): what ``preexisting`` keeps instead of ids.

        Where the backend has loan ids (Koha, FOLIO) a new loan of the same item differs; where
        the loan id is the item id (SIP2) it differs only once the old loan was seen returned.
        """
        parts = ("preexisting", owner.tenant_id, owner.patron_key, loan_id, item_id)
        return hmac.new(self._dedupe_key, "\x00".join(parts).encode(), hashlib.sha256).hexdigest()

    async def set_preexisting(self, owner: PatronRef, tags: Iterable[str]) -> None:
        """Replace the set of loans (``loan_tag``) the patron had out when switching on."""
        t = reading_history_preexisting
        tags = sorted(set(tags))
        async with self._db.write() as conn:
            await conn.execute(delete(t).where(owned_by(t, owner)))
            if tags:
                await conn.execute(t.insert(), [{**owner_values(owner), "tag": g} for g in tags])

    async def preexisting(self, owner: PatronRef) -> frozenset[str]:
        """Tags of the loans out at the switch that are still out (as last seen)."""
        t = reading_history_preexisting
        async with self._db.read() as conn:
            rows = (await conn.execute(select(t.c.tag).where(owned_by(t, owner)))).all()
        return frozenset(r.tag for r in rows)

    async def release_preexisting(self, owner: PatronRef, tags: Iterable[str]) -> None:
        """Forget loans out at the switch that have been returned (a later loan is new)."""
        tags = list(tags)
        if tags:
            t = reading_history_preexisting
            await self._db.delete_owned(t, owner, t.c.tag.in_(tags))

    # --- helpers -------------------------------------------------------------------------------

    async def _key_row(self, owner: PatronRef) -> Any:
        t = reading_history_keys
        async with self._db.read() as conn:
            return (await conn.execute(select(t).where(owned_by(t, owner)))).first()

    def _dedupe_tag(self, owner: PatronRef, entry: ReadingHistoryEntry) -> str:
        loaned_at = entry.loaned_at.astimezone(UTC).isoformat()
        message = "\x00".join((owner.tenant_id, owner.patron_key, entry.item_id, loaned_at))
        return hmac.new(self._dedupe_key, message.encode(), hashlib.sha256).hexdigest()
